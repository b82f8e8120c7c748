package fhirjson

// The decoder as it was before the allocation slabs (main at 5c820ed),
// kept as the reference of the differential tests: the new decoder must
// give the same tree and the same errors for every input.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// refDecode is Decode as it was.
func refDecode(data []byte, limits Limits) (map[string]any, error) {
	if limits.MaxDepth <= 0 {
		limits.MaxDepth = DefaultLimits.MaxDepth
	}
	d := refDecoderPool.Get().(*refDecoder)
	defer d.release()
	// One copy of the document: strings without escapes and numbers are
	// substrings of it, so they cost no allocation of their own.
	*d = refDecoder{data: data, src: string(data), maxDepth: limits.MaxDepth, intern: refInterned(),
		scratch: d.scratch[:0], members: d.members[:0], items: d.items[:0]}
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
			return nil, d.errorAt(d.pos, fmt.Sprintf("invalid character %s: expected a JSON object holding a FHIR resource", refQuoteByte(c)))
		}
		return nil, d.errorAt(d.pos, "a FHIR resource must be a JSON object, found "+what)
	}
	v, err := d.object()
	if err != nil {
		return nil, d.finish(err, v)
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return nil, d.errorAt(d.pos, "unexpected data after the resource object ("+refQuoteByte(d.data[d.pos])+"): a document holds exactly one resource")
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

var refDecoderPool = sync.Pool{New: func() any { return new(refDecoder) }}

// release returns d to the pool, keeping its stacks but no references into
// the document or the trees it built.
func (d *refDecoder) release() {
	clear(d.members[:cap(d.members)])
	clear(d.items[:cap(d.items)])
	*d = refDecoder{scratch: d.scratch[:0], members: d.members[:0], items: d.items[:0]}
	refDecoderPool.Put(d)
}

// refDecoder is a recursive-descent parser over the whole document. Paths are
// not tracked while parsing; an error collects its path segments as it
// unwinds, so the happy path pays nothing for them.
type refDecoder struct {
	data           []byte
	src            string // data as a string
	pos            int
	depth          int
	maxDepth       int
	resourceTypeAt int // offset of the top-level resourceType value
	intern         map[string]string

	errOffset int
	errMsg    string
	errPath   []pathSeg   // innermost first
	scratch   []byte      // for strings with escapes
	members   []refMember // members of the objects being read, innermost last
	items     []any       // items of the arrays being read, innermost last
}

// refErrSyntax is returned up the stack; the details live in the refDecoder.
type refErrSyntax struct{}

func (refErrSyntax) Error() string { return "syntax error" }

func (d *refDecoder) fail(off int, msg string) error {
	d.errOffset, d.errMsg = off, msg
	return refErrSyntax{}
}

func (d *refDecoder) errorAt(off int, msg string) error {
	d.errOffset, d.errMsg = off, msg
	return d.finish(refErrSyntax{}, nil)
}

// finish turns the recorded failure into a *SyntaxError.
func (d *refDecoder) finish(_ error, root map[string]any) error {
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

func (d *refDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\n', '\t', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *refDecoder) value() (any, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, d.fail(d.pos, "unexpected end of document: expected a value")
	}
	switch c := d.data[d.pos]; c {
	case '{':
		m, err := d.object()
		return m, err
	case '[':
		return d.array()
	case '"':
		return d.str()
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return d.number()
		}
		return nil, d.fail(d.pos, "invalid character "+refQuoteByte(c)+" at the start of a value")
	}
}

func (d *refDecoder) literal(lit string) error {
	if len(d.data)-d.pos >= len(lit) && string(d.data[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return nil
	}
	return d.fail(d.pos, "invalid literal: expected "+lit)
}

func (d *refDecoder) enter() error {
	d.depth++
	if d.depth > d.maxDepth {
		return d.fail(d.pos, fmt.Sprintf("nesting deeper than %d levels of objects and arrays", d.maxDepth))
	}
	return nil
}

// object reads an object. Its members are gathered on a stack shared by
// all levels and the map is made at its final size, which saves the
// rehashing of growing maps; duplicates show up as a map shorter than the
// refMember count, so the common case pays no extra lookup.
func (d *refDecoder) object() (map[string]any, error) {
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
			return d.partial(base), d.fail(d.pos, "invalid character "+refQuoteByte(d.data[d.pos])+": expected a quoted property name")
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
			return d.partial(base), d.fail(d.pos, "invalid character "+refQuoteByte(d.data[d.pos])+": expected ':' after property name")
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
				d.members = append(d.members, refMember{key: key, at: keyAt})
			}
			d.errPath = append(d.errPath, pathSeg{key: key, index: -1})
			return d.partial(base), err
		}
		d.members = append(d.members, refMember{key: key, value: v, at: keyAt})
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
			return d.partial(base), d.fail(d.pos, "invalid character "+refQuoteByte(d.data[d.pos])+": expected ',' or '}' after a property value")
		}
	}
}

type refMember struct {
	key   string
	value any
	at    int // offset of the key
}

// partial is the object read so far, for naming the resource in errors.
func (d *refDecoder) partial(base int) map[string]any {
	m := make(map[string]any, len(d.members)-base)
	for _, e := range d.members[base:] {
		m[e.key] = e.value
	}
	return m
}

// duplicate reports the second occurrence of the first repeated key.
func (d *refDecoder) duplicate(ms []refMember) error {
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
func (d *refDecoder) array() ([]any, error) {
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
			a := make([]any, len(d.items)-base)
			copy(a, d.items[base:])
			return a, nil
		default:
			return nil, d.fail(d.pos, "invalid character "+refQuoteByte(d.data[d.pos])+": expected ',' or ']' after an array item")
		}
	}
}

// key reads a property name, reusing the interned copy of the names the
// R4 definitions know so that most keys cost no allocation.
func (d *refDecoder) key() (string, error) {
	start := d.pos + 1
	for i := start; i < len(d.data); i++ {
		c := d.data[i]
		if c == '"' {
			d.pos = i + 1
			b := d.data[start:i]
			if s, ok := d.intern[string(b)]; ok {
				return s, nil
			}
			return d.src[start:i], nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
	}
	return d.str()
}

// str reads a string value at d.pos (the opening quote).
func (d *refDecoder) str() (string, error) {
	start := d.pos + 1
	i := start
	for i < len(d.data) {
		c := d.data[i]
		if c == '"' {
			d.pos = i + 1
			return d.src[start:i], nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", d.fail(i, "control character "+refQuoteByte(c)+" in a string: it must be escaped")
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
			return string(buf), nil
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
				r, ok := refHex4(d.data, i+2)
				if !ok {
					return "", d.fail(i, `invalid \u escape: expected four hexadecimal digits`)
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok2 := rune(-1), false
					if i+1 < len(d.data) && d.data[i] == '\\' && d.data[i+1] == 'u' {
						r2, ok2 = refHex4(d.data, i+2)
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
			return "", d.fail(i, "control character "+refQuoteByte(c)+" in a string: it must be escaped")
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

func refHex4(b []byte, at int) (rune, bool) {
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

// number reads a JSON number (RFC 8259 grammar) as a json.Number.
func (d *refDecoder) number() (json.Number, error) {
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
	return json.Number(d.src[start:i]), nil
}

func refQuoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("0x%02x", c)
}

var refInternOnce = sync.OnceValue(func() map[string]string {
	m := make(map[string]string)
	for _, n := range internedKeys().names {
		m[n] = n
	}
	return m
})

// refInterned is the map the reference looked names up in.
func refInterned() map[string]string { return refInternOnce() }
