package fhirjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Marshal writes a resource as compact JSON in the canonical order:
// resourceType first, then the elements in the order of the R4 definition
// of the node's type (recursively, for data types, backbone elements and
// contained or bundled resources), each "_x" primitive-extension key right
// after "x", and keys the definitions do not know last, sorted. As in the
// published JSON, an Extension's url comes before its nested extensions.
// This reproduces the key order of the official R4 examples exactly.
// Numbers (json.Number) are written verbatim and nothing is HTML-escaped.
//
// Besides the Decode tree types it accepts float64, int and int64 values
// and []map[string]any / []string slices, which code building resources
// tends to produce. It fails on a missing resourceType, invalid UTF-8, an
// invalid json.Number, NaN or infinities, and values of other Go types.
func Marshal(resource map[string]any) ([]byte, error) {
	return AppendMarshal(nil, resource)
}

// AppendMarshal is Marshal appending to dst.
func AppendMarshal(dst []byte, resource map[string]any) ([]byte, error) {
	rt, ok := resource["resourceType"].(string)
	if !ok || rt == "" {
		return dst, errors.New("fhirjson: Marshal: the resource has no string resourceType")
	}
	// Write into the pooled encoder's buffer, then copy once: the result
	// is allocated at its final size.
	e := encPool.Get().(*encoder)
	e.buf = e.buf[:0]
	err := e.object(resource, orderOf(rt), true)
	if err == nil {
		if dst == nil {
			dst = make([]byte, 0, len(e.buf))
		}
		dst = append(dst, e.buf...)
	} else {
		err = e.failure(rt)
	}
	clear(e.keys[:cap(e.keys)]) // a pooled encoder must not pin the caller's tree
	clear(e.errPath[:cap(e.errPath)])
	e.keys, e.order, e.errPath, e.errMsg, e.depth = e.keys[:0], e.order[:0], e.errPath[:0], "", 0
	if cap(e.buf) <= 1<<20 {
		encPool.Put(e)
	}
	return dst, err
}

var encPool = sync.Pool{New: func() any { return &encoder{} }}

// encoder writes a tree depth first. The members of the objects being
// written share one stack (keys), and their order one stack of plain
// integers (order) that the sort moves instead of the members themselves.
// Paths are not tracked while writing: an error collects its path as it
// unwinds, as in the decoder.
type encoder struct {
	buf   []byte
	keys  []outMember
	order []uint64 // rank << 32 | index into keys, per object being written
	depth int

	errMsg  string
	errPath []pathSeg // innermost first
}

type outMember struct {
	key   string
	value any
	ko    *keyOrder // nil for a key the type does not define
}

// MarshalError reports a value Marshal cannot write.
type MarshalError struct {
	Path string // "Patient.name[0].family"
	Msg  string
}

func (e *MarshalError) Error() string {
	return "fhirjson: Marshal: " + e.Path + ": " + e.Msg
}

// errMarshal is returned up the stack; the details live in the encoder.
type errMarshal struct{}

func (errMarshal) Error() string { return "marshal error" }

func (e *encoder) fail(msg string) error {
	e.errMsg = msg
	return errMarshal{}
}

// failure is the recorded error as a *MarshalError.
func (e *encoder) failure(root string) error {
	var b strings.Builder
	b.WriteString(root)
	for i := len(e.errPath) - 1; i >= 0; i-- {
		if s := e.errPath[i]; s.index >= 0 {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		} else {
			b.WriteString("." + s.key)
		}
	}
	return &MarshalError{Path: b.String(), Msg: e.errMsg}
}

const maxMarshalDepth = 10000

// Ranks in order: the definition's elements from 0, resourceType of a
// resource before them, unknown keys after them.
const (
	resourceTypeRank = 0
	firstKnownRank   = 1
)

func (e *encoder) object(m map[string]any, o *typeOrder, isResource bool) error {
	e.depth++
	if e.depth > maxMarshalDepth {
		return e.fail("nesting too deep")
	}
	base, obase := len(e.keys), len(e.order)
	for k, v := range m {
		var ko *keyOrder
		rank := uint64(unknownRank) + firstKnownRank
		if o != nil {
			if ko = o.keys[k]; ko != nil {
				rank = uint64(ko.rank) + firstKnownRank
			}
		}
		if isResource && k == "resourceType" {
			rank = resourceTypeRank
		}
		e.order = append(e.order, rank<<32|uint64(len(e.keys)))
		e.keys = append(e.keys, outMember{key: k, value: v, ko: ko})
	}
	e.sortKeys(e.order[obase:])
	e.buf = append(e.buf, '{')
	for i := obase; i < len(e.order); i++ {
		k := &e.keys[uint32(e.order[i])]
		if i > obase {
			e.buf = append(e.buf, ',')
		}
		if k.ko != nil && k.ko.prefix != "" {
			e.buf = append(e.buf, k.ko.prefix...)
		} else {
			var err error
			if e.buf, err = appendString(e.buf, k.key); err != nil {
				e.errPath = append(e.errPath, pathSeg{key: k.key, index: -1})
				return e.fail("property name: " + err.Error())
			}
			e.buf = append(e.buf, ':')
		}
		if err := e.value(k.value, k.ko); err != nil {
			// e.keys may have grown (and moved) while the value was written.
			e.errPath = append(e.errPath, pathSeg{key: e.keys[uint32(e.order[i])].key, index: -1})
			return err
		}
	}
	e.buf = append(e.buf, '}')
	clear(e.keys[base:])
	e.keys = e.keys[:base]
	e.order = e.order[:obase]
	e.depth--
	return nil
}

// sortKeys orders an object's members by rank (the high half of each
// entry); members of equal rank, which only keys the type does not define
// share, by name. The low half, an index into e.keys, makes entries
// distinct.
func (e *encoder) sortKeys(order []uint64) {
	if len(order) <= 12 {
		for i := 1; i < len(order); i++ {
			for j := i; j > 0 && order[j] < order[j-1]; j-- {
				order[j], order[j-1] = order[j-1], order[j]
			}
		}
	} else {
		slices.Sort(order)
	}
	// Unknown keys come last, in index order so far: sort them by name.
	n := len(order)
	first := n
	for first > 0 && order[first-1]>>32 == uint64(unknownRank)+firstKnownRank {
		first--
	}
	if n-first > 1 {
		slices.SortFunc(order[first:], func(a, b uint64) int {
			return strings.Compare(e.keys[uint32(a)].key, e.keys[uint32(b)].key)
		})
	}
}

// value writes v, whose type (if it is an object) is described by ko (nil
// when unknown).
func (e *encoder) value(v any, ko *keyOrder) error {
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		var err error
		if e.buf, err = appendString(e.buf, v); err != nil {
			return e.fail(err.Error())
		}
	case json.Number:
		if !validNumber(string(v)) {
			return e.fail(fmt.Sprintf("%q is not a valid JSON number", string(v)))
		}
		e.buf = append(e.buf, v...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	case map[string]any:
		if ko != nil && ko.resource {
			rt, _ := v["resourceType"].(string)
			return e.object(v, orderOf(rt), true)
		}
		var child *typeOrder
		if ko != nil {
			child = ko.child
		}
		return e.object(v, child, false)
	case []any:
		e.buf = append(e.buf, '[')
		for i, item := range v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(item, ko); err != nil {
				e.errPath = append(e.errPath, pathSeg{index: i})
				return err
			}
		}
		e.buf = append(e.buf, ']')
	case []map[string]any:
		e.buf = append(e.buf, '[')
		for i, item := range v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(item, ko); err != nil {
				e.errPath = append(e.errPath, pathSeg{index: i})
				return err
			}
		}
		e.buf = append(e.buf, ']')
	case []string:
		e.buf = append(e.buf, '[')
		for i, item := range v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			var err error
			if e.buf, err = appendString(e.buf, item); err != nil {
				e.errPath = append(e.errPath, pathSeg{index: i})
				return e.fail(err.Error())
			}
		}
		e.buf = append(e.buf, ']')
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return e.fail("NaN and infinities cannot be written as JSON numbers")
		}
		e.buf = appendFloat(e.buf, v)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	default:
		return e.fail(fmt.Sprintf("cannot write a value of Go type %T", v))
	}
	return nil
}

// appendFloat writes f like encoding/json does: the shortest
// representation, in exponent form only for very large or small values.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

var errInvalidUTF8 = errors.New("invalid UTF-8 in a string")

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Only '"', '\\' and control
// characters are escaped: no HTML escaping, so "<div>" stays "<div>".
func appendString(b []byte, s string) ([]byte, error) {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			m := special(uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56)
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) / 8
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return b, errInvalidUTF8
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"'), nil
}

// validNumber reports whether s follows the JSON number grammar.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}
