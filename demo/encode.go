package demo

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendJSON writes the tree as compact JSON: "resourceType" and "id"
// first (so files read well), then the other keys sorted, strings with
// only the escapes JSON requires. It is several times faster than
// encoding/json on maps, which matters for hundreds of thousands of
// resources.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case map[string]any:
		var buf [24]string
		keys := buf[:0]
		for k := range x {
			if k != "resourceType" && k != "id" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		b = append(b, '{')
		n := 0
		var err error
		for _, k := range [2]string{"resourceType", "id"} {
			if v, ok := x[k]; ok {
				if b, err = appendField(b, n, k, v); err != nil {
					return nil, err
				}
				n++
			}
		}
		for _, k := range keys {
			if b, err = appendField(b, n, k, x[k]); err != nil {
				return nil, err
			}
			n++
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case string:
		return appendString(b, x), nil
	case json.Number:
		return append(b, x...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case nil:
		return append(b, "null"...), nil
	}
	return nil, fmt.Errorf("demo: cannot encode %T", v)
}

func appendField(b []byte, n int, k string, v any) ([]byte, error) {
	if n > 0 {
		b = append(b, ',')
	}
	b = appendString(b, k)
	b = append(b, ':')
	return appendJSON(b, v)
}

func appendString(b []byte, s string) []byte {
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
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i++
				start = i
				continue
			}
			if r == '\u2028' || r == '\u2029' {
				b = append(b, s[start:i]...)
				b = append(b, fmt.Sprintf(`\u%04x`, r)...)
				i += size
				start = i
				continue
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
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
