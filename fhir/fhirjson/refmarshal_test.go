package fhirjson

// Marshal as it was before the encoder sorted integers and tracked paths
// only on failure (main at 5c820ed): the reference of the differential
// test of Marshal.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// refAppendMarshal is Marshal appending to dst.
func refMarshal(resource map[string]any) ([]byte, error) { return refAppendMarshal(nil, resource) }

func refAppendMarshal(dst []byte, resource map[string]any) ([]byte, error) {
	rt, ok := resource["resourceType"].(string)
	if !ok || rt == "" {
		return dst, errors.New("fhirjson: Marshal: the resource has no string resourceType")
	}
	// Write into the pooled refEncoder's buffer, then copy once: the result
	// is allocated at its final size.
	e := refEncPool.Get().(*refEncoder)
	e.buf, e.root = e.buf[:0], rt
	err := e.resource(resource, rt)
	if err == nil {
		if dst == nil {
			dst = make([]byte, 0, len(e.buf))
		}
		dst = append(dst, e.buf...)
	}
	clear(e.keys[:cap(e.keys)]) // a pooled refEncoder must not pin the caller's tree
	clear(e.path[:cap(e.path)])
	e.path, e.keys, e.depth, e.root = e.path[:0], e.keys[:0], 0, ""
	if cap(e.buf) <= 1<<20 {
		refEncPool.Put(e)
	}
	return dst, err
}

var refEncPool = sync.Pool{New: func() any { return &refEncoder{} }}

type refEncoder struct {
	buf   []byte
	keys  []refRankedKey // stack of keys being written, shared by the levels
	path  []pathSeg      // for error messages only
	root  string
	depth int
}

type refRankedKey struct {
	rank  int32
	key   string
	value any
	ko    keyOrder
}

func (e *refEncoder) fail(msg string) error {
	var b strings.Builder
	b.WriteString(e.root)
	for _, s := range e.path {
		if s.index >= 0 {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		} else {
			b.WriteString("." + s.key)
		}
	}
	return &MarshalError{Path: b.String(), Msg: msg}
}

const refMaxMarshalDepth = 10000

func (e *refEncoder) resource(m map[string]any, rt string) error {
	return e.object(m, orderOf(rt), true)
}

func (e *refEncoder) object(m map[string]any, o *typeOrder, isResource bool) error {
	e.depth++
	if e.depth > refMaxMarshalDepth {
		return e.fail("nesting too deep")
	}
	base := len(e.keys)
	for k, v := range m {
		rk := refRankedKey{rank: unknownRank, key: k, value: v}
		if o != nil {
			if ko, ok := o.keys[k]; ok {
				rk.rank, rk.ko = ko.rank, *ko
			}
		}
		if isResource && k == "resourceType" {
			rk.rank = -1
		}
		e.keys = append(e.keys, rk)
	}
	keys := e.keys[base:]
	refSortKeys(keys)
	e.buf = append(e.buf, '{')
	for i := range keys {
		k := e.keys[base+i] // e.keys may grow (and move) while children are written
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.path = append(e.path, pathSeg{key: k.key, index: -1})
		if k.ko.prefix != "" {
			e.buf = append(e.buf, k.ko.prefix...)
		} else {
			var err error
			if e.buf, err = refAppendString(e.buf, k.key); err != nil {
				return e.fail("property name: " + err.Error())
			}
			e.buf = append(e.buf, ':')
		}
		if err := e.value(k.value, k.ko); err != nil {
			return err
		}
		e.path = e.path[:len(e.path)-1]
	}
	e.buf = append(e.buf, '}')
	e.keys = e.keys[:base]
	e.depth--
	return nil
}

func refSortKeys(keys []refRankedKey) {
	less := func(a, b refRankedKey) bool {
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.key < b.key
	}
	if len(keys) <= 12 {
		for i := 1; i < len(keys); i++ {
			for j := i; j > 0 && less(keys[j], keys[j-1]); j-- {
				keys[j], keys[j-1] = keys[j-1], keys[j]
			}
		}
		return
	}
	slices.SortFunc(keys, func(a, b refRankedKey) int {
		if less(a, b) {
			return -1
		}
		if less(b, a) {
			return 1
		}
		return 0
	})
}

// value writes v, whose type (if it is an object) is described by ko.
func (e *refEncoder) value(v any, ko keyOrder) error {
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		var err error
		if e.buf, err = refAppendString(e.buf, v); err != nil {
			return e.fail(err.Error())
		}
	case json.Number:
		if !refValidNumber(string(v)) {
			return e.fail(fmt.Sprintf("%q is not a valid JSON number", string(v)))
		}
		e.buf = append(e.buf, v...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	case map[string]any:
		if ko.resource {
			rt, _ := v["resourceType"].(string)
			return e.object(v, orderOf(rt), true)
		}
		return e.object(v, ko.child, false)
	case []any:
		e.buf = append(e.buf, '[')
		for i, item := range v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.path = append(e.path, pathSeg{index: i})
			if err := e.value(item, ko); err != nil {
				return err
			}
			e.path = e.path[:len(e.path)-1]
		}
		e.buf = append(e.buf, ']')
	case []map[string]any:
		e.buf = append(e.buf, '[')
		for i, item := range v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.path = append(e.path, pathSeg{index: i})
			if err := e.value(item, ko); err != nil {
				return err
			}
			e.path = e.path[:len(e.path)-1]
		}
		e.buf = append(e.buf, ']')
	case []string:
		e.buf = append(e.buf, '[')
		for i, item := range v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			var err error
			if e.buf, err = refAppendString(e.buf, item); err != nil {
				e.path = append(e.path, pathSeg{index: i})
				return e.fail(err.Error())
			}
		}
		e.buf = append(e.buf, ']')
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return e.fail("NaN and infinities cannot be written as JSON numbers")
		}
		e.buf = refAppendFloat(e.buf, v)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	default:
		return e.fail(fmt.Sprintf("cannot write a value of Go type %T", v))
	}
	return nil
}

// refAppendFloat writes f like encoding/json does: the shortest
// representation, in exponent form only for very large or small values.
func refAppendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

var refErrInvalidUTF8 = errors.New("invalid UTF-8 in a string")

const refHexDigits = "0123456789abcdef"

// refAppendString writes s as a JSON string. Only '"', '\\' and control
// characters are escaped: no HTML escaping, so "<div>" stays "<div>".
func refAppendString(b []byte, s string) ([]byte, error) {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return b, refErrInvalidUTF8
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
			b = append(b, '\\', 'u', '0', '0', refHexDigits[c>>4], refHexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"'), nil
}

// refValidNumber reports whether s follows the JSON number grammar.
func refValidNumber(s string) bool {
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
