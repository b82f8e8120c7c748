package fhirjson

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits bound what Decode accepts. The zero value means DefaultLimits.
type Limits struct {
	// MaxDepth is the deepest nesting of objects and arrays accepted; the
	// resource object itself is depth 1. 0 means 64. The deepest official
	// R4 example nests 13 levels.
	MaxDepth int
	// MaxBytes rejects larger documents before parsing; 0 means no limit
	// (the HTTP layer usually bounds the body already).
	MaxBytes int
}

// DefaultLimits are the limits used for a zero Limits value.
var DefaultLimits = Limits{MaxDepth: 64}

// SyntaxError describes why a document is not an acceptable FHIR JSON
// resource, and where.
type SyntaxError struct {
	Offset int    // byte offset of the offending byte (0-based)
	Line   int    // 1-based line of Offset
	Column int    // 1-based column of Offset, in bytes
	Path   string // JSON path of the value being read ("Patient.name[0].given"); "" at the top level
	Msg    string
}

func (e *SyntaxError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fhirjson: line %d, column %d (byte %d)", e.Line, e.Column, e.Offset)
	if e.Path != "" {
		b.WriteString(", at ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Decode parses one FHIR resource. Numbers are json.Number, kept as
// written. It returns a *SyntaxError for anything that is not exactly one
// JSON object with a string resourceType, free of duplicate keys, invalid
// UTF-8 and deeper nesting than limits.MaxDepth. It does not check the
// resource against the FHIR definitions (see fhir/validate).
//
// data is not retained: the tree owns copies of what it keeps. Those
// copies are carved from a few blocks per document (see slabs), which
// spares an allocation per value: holding any string, number or array of
// the tree keeps its block alive, so a long-lived cache should keep whole
// trees rather than a few values cut from large documents.
func Decode(data []byte, limits Limits) (map[string]any, error) {
	if limits.MaxDepth <= 0 {
		limits.MaxDepth = DefaultLimits.MaxDepth
	}
	d := decoderPool.Get().(*decoder)
	defer d.release()
	*d = decoder{data: data, maxDepth: limits.MaxDepth, intern: internedKeys(),
		scratch: d.scratch[:0], members: d.members[:0], items: d.items[:0]}
	d.slabs.size(len(data))
	if limits.MaxBytes > 0 && len(data) > limits.MaxBytes {
		return nil, d.errorAt(limits.MaxBytes, fmt.Sprintf("document is %d bytes, larger than the limit of %d", len(data), limits.MaxBytes))
	}
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, d.errorAt(d.pos, "empty document: expected a JSON object holding a FHIR resource")
	}
	if bytes.HasPrefix(d.data, []byte("\xef\xbb\xbf")) {
		return nil, d.errorAt(0, "the document starts with a UTF-8 byte order mark, which FHIR JSON must not have")
	}
	if c := d.data[d.pos]; c != '{' {
		what := "a value"
		switch {
		case c == '[':
			what = "an array"
		case c == '"':
			what = "a string"
		case c == 't' || c == 'f':
			what = "a boolean"
		case c == 'n':
			what = "null"
		case c == '-' || c >= '0' && c <= '9':
			what = "a number"
		default:
			return nil, d.errorAt(d.pos, fmt.Sprintf("invalid character %s: expected a JSON object holding a FHIR resource", quoteByte(c)))
		}
		return nil, d.errorAt(d.pos, "a FHIR resource must be a JSON object, found "+what)
	}
	v, err := d.object()
	if err != nil {
		return nil, d.finish(err, v)
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return nil, d.errorAt(d.pos, "unexpected data after the resource object ("+quoteByte(d.data[d.pos])+"): a document holds exactly one resource")
	}
	rt, present := v["resourceType"]
	if !present {
		return nil, d.errorAt(0, "missing resourceType: a FHIR resource must name its type, as in {\"resourceType\": \"Patient\", ...}")
	}
	if s, ok := rt.(string); !ok || s == "" {
		return nil, d.errorAt(d.resourceTypeAt, "resourceType must be a non-empty string naming the resource type")
	}
	return v, nil
}

var decoderPool = sync.Pool{New: func() any { return new(decoder) }}

// release returns d to the pool, keeping its stacks but no references into
// the document or the trees it built (the slabs belong to the tree).
func (d *decoder) release() {
	clear(d.members[:cap(d.members)])
	clear(d.items[:cap(d.items)])
	*d = decoder{scratch: d.scratch[:0], members: d.members[:0], items: d.items[:0]}
	decoderPool.Put(d)
}

// decoder is a recursive-descent parser over the whole document. Paths are
// not tracked while parsing; an error collects its path segments as it
// unwinds, so the happy path pays nothing for them.
type decoder struct {
	data           []byte
	pos            int
	depth          int
	maxDepth       int
	resourceTypeAt int // offset of the top-level resourceType value
	intern         *internTable

	errOffset int
	errMsg    string
	errPath   []pathSeg // innermost first
	scratch   []byte    // for strings with escapes
	members   []member  // members of the objects being read, innermost last
	items     []any     // items of the arrays being read, innermost last
	slabs     slabs     // the tree's strings, numbers and arrays
}

type pathSeg struct {
	key   string
	index int // -1 for a key
}

// errSyntax is returned up the stack; the details live in the decoder.
type errSyntax struct{}

func (errSyntax) Error() string { return "syntax error" }

func (d *decoder) fail(off int, msg string) error {
	d.errOffset, d.errMsg = off, msg
	return errSyntax{}
}

func (d *decoder) errorAt(off int, msg string) error {
	d.errOffset, d.errMsg = off, msg
	return d.finish(errSyntax{}, nil)
}

// finish turns the recorded failure into a *SyntaxError.
func (d *decoder) finish(_ error, root map[string]any) error {
	off := d.errOffset
	if off > len(d.data) {
		off = len(d.data)
	}
	line := 1 + bytes.Count(d.data[:off], []byte{'\n'})
	col := off + 1
	if i := bytes.LastIndexByte(d.data[:off], '\n'); i >= 0 {
		col = off - i
	}
	var b strings.Builder
	if rt, ok := root["resourceType"].(string); ok && len(d.errPath) > 0 {
		b.WriteString(rt)
	}
	for i := len(d.errPath) - 1; i >= 0; i-- {
		s := d.errPath[i]
		if s.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return &SyntaxError{Offset: off, Line: line, Column: col, Path: b.String(), Msg: d.errMsg}
}

func (d *decoder) skipSpace() {
	if d.pos < len(d.data) && d.data[d.pos] > ' ' {
		return
	}
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == ' ' && d.pos+8 <= len(d.data) {
			// Indented documents (Synthea's, most clients' in tests) put a
			// run of spaces before each line's first token: skip up to
			// eight at once.
			if x := binary.LittleEndian.Uint64(d.data[d.pos:]) ^ ones*' '; x != 0 {
				d.pos += bits.TrailingZeros64(x) / 8
			} else {
				d.pos += 8
			}
			continue
		}
		switch c {
		case ' ', '\n', '\t', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) value() (any, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, d.fail(d.pos, "unexpected end of document: expected a value")
	}
	switch c := d.data[d.pos]; c {
	case '{':
		m, err := d.object()
		return m, err
	case '[':
		a, err := d.array()
		if err != nil {
			return nil, err
		}
		return d.slabs.boxArray(a), nil
	case '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return d.slabs.box(stringType, s), nil
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			n, err := d.number()
			if err != nil {
				return nil, err
			}
			return d.slabs.box(numberType, n), nil
		}
		return nil, d.fail(d.pos, "invalid character "+quoteByte(c)+" at the start of a value")
	}
}

func (d *decoder) literal(lit string) error {
	if len(d.data)-d.pos >= len(lit) && string(d.data[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return nil
	}
	return d.fail(d.pos, "invalid literal: expected "+lit)
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > d.maxDepth {
		return d.fail(d.pos, fmt.Sprintf("nesting deeper than %d levels of objects and arrays", d.maxDepth))
	}
	return nil
}

// object reads an object. Its members are gathered on a stack shared by
// all levels and the map is made at its final size, which saves the
// rehashing of growing maps; duplicates show up as a map shorter than the
// member count, so the common case pays no extra lookup.
func (d *decoder) object() (map[string]any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	start := d.pos
	d.pos++ // {
	base := len(d.members)
	defer func() { d.members = d.members[:base] }()
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		d.depth--
		return map[string]any{}, nil
	}
	for {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return d.partial(base), d.fail(d.pos, fmt.Sprintf("unexpected end of document inside the object opened at byte %d", start))
		}
		if d.data[d.pos] != '"' {
			return d.partial(base), d.fail(d.pos, "invalid character "+quoteByte(d.data[d.pos])+": expected a quoted property name")
		}
		keyAt := d.pos
		key, err := d.key()
		if err != nil {
			return d.partial(base), err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			if d.pos >= len(d.data) {
				return d.partial(base), d.fail(d.pos, "unexpected end of document: expected ':' after property name")
			}
			return d.partial(base), d.fail(d.pos, "invalid character "+quoteByte(d.data[d.pos])+": expected ':' after property name")
		}
		d.pos++
		if d.depth == 1 && key == "resourceType" {
			d.skipSpace()
			d.resourceTypeAt = d.pos
		}
		v, err := d.value()
		if err != nil {
			if d.depth == 1 && key == "resourceType" {
				// Name the resource in the path even though its type did not parse.
				d.members = append(d.members, member{key: key, at: keyAt})
			}
			d.errPath = append(d.errPath, pathSeg{key: key, index: -1})
			return d.partial(base), err
		}
		d.members = append(d.members, member{key: key, value: v, at: keyAt})
		d.skipSpace()
		if d.pos >= len(d.data) {
			return d.partial(base), d.fail(d.pos, fmt.Sprintf("unexpected end of document inside the object opened at byte %d", start))
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			d.depth--
			ms := d.members[base:]
			m := make(map[string]any, len(ms))
			for _, e := range ms {
				m[e.key] = e.value
			}
			if len(m) != len(ms) {
				return m, d.duplicate(ms)
			}
			return m, nil
		default:
			return d.partial(base), d.fail(d.pos, "invalid character "+quoteByte(d.data[d.pos])+": expected ',' or '}' after a property value")
		}
	}
}

type member struct {
	key   string
	value any
	at    int // offset of the key
}

// partial is the object read so far, for naming the resource in errors.
func (d *decoder) partial(base int) map[string]any {
	m := make(map[string]any, len(d.members)-base)
	for _, e := range d.members[base:] {
		m[e.key] = e.value
	}
	return m
}

// duplicate reports the second occurrence of the first repeated key.
func (d *decoder) duplicate(ms []member) error {
	seen := make(map[string]bool, len(ms))
	for _, e := range ms {
		if seen[e.key] {
			d.errPath = append(d.errPath, pathSeg{key: e.key, index: -1})
			return d.fail(e.at, fmt.Sprintf("duplicate property %q: FHIR forbids repeating a property in one object", e.key))
		}
		seen[e.key] = true
	}
	return nil
}

// array reads an array, gathering items on a shared stack so the slice is
// allocated once at its final length.
func (d *decoder) array() ([]any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	start := d.pos
	d.pos++ // [
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		d.depth--
		return []any{}, nil
	}
	base := len(d.items)
	defer func() { d.items = d.items[:base] }()
	for {
		v, err := d.value()
		if err != nil {
			d.errPath = append(d.errPath, pathSeg{index: len(d.items) - base})
			return nil, err
		}
		d.items = append(d.items, v)
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.fail(d.pos, fmt.Sprintf("unexpected end of document inside the array opened at byte %d", start))
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			d.depth--
			a := d.slabs.array(len(d.items) - base)
			copy(a, d.items[base:])
			return a, nil
		default:
			return nil, d.fail(d.pos, "invalid character "+quoteByte(d.data[d.pos])+": expected ',' or ']' after an array item")
		}
	}
}

// key reads a property name, reusing the interned copy of the names the
// R4 definitions know so that most keys cost no allocation.
func (d *decoder) key() (string, error) {
	start := d.pos + 1
	for i := start; i < len(d.data); i++ {
		if i+8 <= len(d.data) {
			m := special(binary.LittleEndian.Uint64(d.data[i:]))
			if m == 0 {
				i += 7
				continue
			}
			i += bits.TrailingZeros64(m) / 8
		}
		c := d.data[i]
		if c == '"' {
			d.pos = i + 1
			b := d.data[start:i]
			if s, ok := d.intern.lookup(b); ok {
				return s, nil
			}
			return d.slabs.text(b), nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
	}
	return d.str()
}

// str reads a string value at d.pos (the opening quote), as a copy the
// tree owns.
func (d *decoder) str() (string, error) {
	start := d.pos + 1
	i := start
	for i < len(d.data) {
		// Eight plain ASCII bytes at a time; the byte loop below handles
		// the first that is not (quote, backslash, control, non-ASCII).
		for i+8 <= len(d.data) {
			m := special(binary.LittleEndian.Uint64(d.data[i:]))
			if m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(d.data) {
			break
		}
		c := d.data[i]
		if c == '"' {
			d.pos = i + 1
			return d.slabs.text(d.data[start:i]), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", d.fail(i, "control character "+quoteByte(c)+" in a string: it must be escaped")
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(d.data[i:])
		if r == utf8.RuneError && size == 1 {
			return "", d.fail(i, "invalid UTF-8 in a string: FHIR JSON must be UTF-8")
		}
		i += size
	}
	if i >= len(d.data) {
		return "", d.fail(d.pos, "unterminated string")
	}
	// Slow path: unescape.
	buf := append(d.scratch[:0], d.data[start:i]...)
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.scratch = buf
			return d.slabs.text(buf), nil
		case c == '\\':
			if i+1 >= len(d.data) {
				return "", d.fail(i, "unterminated string")
			}
			e := d.data[i+1]
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
				i += 2
			case 'b':
				buf = append(buf, '\b')
				i += 2
			case 'f':
				buf = append(buf, '\f')
				i += 2
			case 'n':
				buf = append(buf, '\n')
				i += 2
			case 'r':
				buf = append(buf, '\r')
				i += 2
			case 't':
				buf = append(buf, '\t')
				i += 2
			case 'u':
				r, ok := hex4(d.data, i+2)
				if !ok {
					return "", d.fail(i, `invalid \u escape: expected four hexadecimal digits`)
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok2 := rune(-1), false
					if i+1 < len(d.data) && d.data[i] == '\\' && d.data[i+1] == 'u' {
						r2, ok2 = hex4(d.data, i+2)
					}
					dec := utf16.DecodeRune(r, r2)
					if !ok2 || dec == utf8.RuneError {
						return "", d.fail(i-6, `invalid \u escape: a lone UTF-16 surrogate is not a Unicode character`)
					}
					r = dec
					i += 6
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", d.fail(i, "invalid escape "+strconv.Quote(string([]byte{'\\', e}))+" in a string")
			}
		case c < 0x20:
			return "", d.fail(i, "control character "+quoteByte(c)+" in a string: it must be escaped")
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.data[i:])
			if r == utf8.RuneError && size == 1 {
				return "", d.fail(i, "invalid UTF-8 in a string: FHIR JSON must be UTF-8")
			}
			buf = append(buf, d.data[i:i+size]...)
			i += size
		}
	}
	return "", d.fail(d.pos, "unterminated string")
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a JSON number (RFC 8259 grammar), as written.
func (d *decoder) number() (string, error) {
	start := d.pos
	i := d.pos
	if d.data[i] == '-' {
		i++
	}
	switch {
	case i < len(d.data) && d.data[i] == '0':
		i++
	case i < len(d.data) && d.data[i] >= '1' && d.data[i] <= '9':
		for i < len(d.data) && d.data[i] >= '0' && d.data[i] <= '9' {
			i++
		}
	default:
		return "", d.fail(i, "invalid number: expected a digit")
	}
	if i < len(d.data) && d.data[i] == '.' {
		i++
		if i >= len(d.data) || d.data[i] < '0' || d.data[i] > '9' {
			return "", d.fail(i, "invalid number: expected a digit after the decimal point")
		}
		for i < len(d.data) && d.data[i] >= '0' && d.data[i] <= '9' {
			i++
		}
	}
	if i < len(d.data) && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		if i < len(d.data) && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if i >= len(d.data) || d.data[i] < '0' || d.data[i] > '9' {
			return "", d.fail(i, "invalid number: expected a digit in the exponent")
		}
		for i < len(d.data) && d.data[i] >= '0' && d.data[i] <= '9' {
			i++
		}
	}
	d.pos = i
	return d.slabs.text(d.data[start:i]), nil
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special marks (with its high bit) the first byte of x, in memory order,
// that a string cannot take as it is: '"', '\\', a control character or a
// non-ASCII byte. Bytes after the first marked one may be marked wrongly
// (the borrow of the subtraction), so only the lowest mark counts.
func special(x uint64) uint64 {
	quote := x ^ (ones * '"')
	backslash := x ^ (ones * '\\')
	return ((quote-ones) & ^quote | (backslash-ones) & ^backslash | (x-ones*0x20) & ^x | x) & highs
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("0x%02x", c)
}
