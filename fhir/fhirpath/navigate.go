package fhirpath

import (
	"sort"
	"strings"

	"github.com/xietong/xietong/fhir/model"
)

// compileMember compiles a name: an element of every item of the input, or,
// at the start of a path, a type name that filters the focus.
func (cp *compiler) compileMember(n *astNode) (evalFunc, error) {
	name := n.name
	var left evalFunc
	if n.left != nil {
		var err error
		if left, err = cp.compile(n.left); err != nil {
			return nil, err
		}
	}
	// A type name at the start of a path filters the focus by type
	// ("Patient.name" evaluated on a Patient).
	var typeFilter *typeInfo
	if left == nil && name != "" && name[0] >= 'A' && name[0] <= 'Z' {
		typeFilter = fhirType(name)
	}
	if left == nil {
		return cp.wrap(n, func(c *evalCtx, focus Collection) (Collection, error) {
			if typeFilter != nil {
				if len(focus) == 1 && focus[0].t != nil {
					// the common case: a resource type at the start of a path
					if focus[0].t.isAType(typeFilter) {
						return focus, nil
					}
					if !c.strict {
						return nil, nil
					}
				}
				var out Collection
				matched := false
				for _, it := range focus {
					if it.t != nil && it.t.isAType(typeFilter) {
						out = append(out, it)
						matched = true
					}
				}
				if matched || len(focus) == 0 {
					return out, nil
				}
				if c.strict {
					return nil, execErr("the focus is not a %s", name)
				}
			}
			return navigate(c, focus, name)
		}), nil
	}
	return cp.wrap(n, func(c *evalCtx, focus Collection) (Collection, error) {
		in, err := left(c, focus)
		if err != nil || len(in) == 0 {
			return nil, err
		}
		return navigate(c, in, name)
	}), nil
}

// navigate returns the children called name of every item.
func navigate(c *evalCtx, in Collection, name string) (Collection, error) {
	var out Collection
	for _, it := range in {
		var err error
		out, err = child(c, out, it, name)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func child(c *evalCtx, out Collection, it Value, name string) (Collection, error) {
	m, ok := it.v.(map[string]any)
	if !ok {
		if q, ok := it.v.(*quantity); ok {
			// System.Quantity has the properties value and unit
			switch name {
			case "value":
				return append(out, decimalValue(q.val)), nil
			case "unit":
				return append(out, stringValue(q.unit)), nil
			}
			return out, nil
		}
		// a primitive: only id and extension, from the "_name" sibling
		if it.ext != nil && (name == "extension" || name == "id") {
			var t *typeInfo
			if name == "extension" {
				t = fhirType("Extension")
			} else {
				t = fhirType("string")
			}
			return appendJSON(out, it.ext[name], nil, t), nil
		}
		if c.strict && it.t != nil && it.t.child(name) == nil {
			return nil, execErr("%s has no element %q", it.t.name, name)
		}
		return out, nil
	}
	t := it.t
	if t == nil || t.abstract {
		t = jsonValue(m, t).t
	}
	if t == nil {
		// untyped JSON: plain property access, with a choice fallback
		if raw, ok := m[name]; ok || m["_"+name] != nil {
			return appendJSON(out, raw, m["_"+name], nil), nil
		}
		for _, k := range sortedKeys(m) {
			if len(k) > len(name) && strings.HasPrefix(k, name) && k[len(name)] >= 'A' && k[len(name)] <= 'Z' {
				out = appendJSON(out, m[k], m["_"+k], fhirType(lowerFirst(k[len(name):])))
			}
		}
		return out, nil
	}
	cs := t.child(name)
	if cs == nil && name == "resourceType" && t.kind == model.KindResource {
		// not an element, but commonly written (and supported by other
		// engines)
		if rt, ok := m["resourceType"].(string); ok {
			return append(out, stringValue(rt)), nil
		}
	}
	if cs == nil {
		if t.isChoiceKey(name) {
			return nil, execErr("%q is not an element name of %s: use the choice element with ofType()", name, t.name)
		}
		if c.strict {
			return nil, execErr("%s has no element %q", t.name, name)
		}
		return out, nil
	}
	for i := range cs.keys {
		k := &cs.keys[i]
		raw, ok := m[k.key]
		var ext any
		if k.t == nil || k.t.kind == model.KindPrimitive {
			ext = m[k.extKey]
		}
		if !ok && ext == nil {
			continue
		}
		out = appendJSON(out, raw, ext, k.t)
	}
	return out, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	if fhirType(s) != nil {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// appendJSON appends the items of a JSON property (and its primitive
// extension sibling) with type t.
func appendJSON(out Collection, raw, ext any, t *typeInfo) Collection {
	switch x := raw.(type) {
	case []any:
		exts, _ := ext.([]any)
		if out == nil {
			out = make(Collection, 0, len(x))
		}
		for i, el := range x {
			var em map[string]any
			if i < len(exts) {
				em, _ = exts[i].(map[string]any)
			}
			if el == nil && em == nil {
				continue
			}
			out = append(out, jsonItem(el, em, t))
		}
		// extensions beyond the values (values all null)
		for i := len(x); i < len(exts); i++ {
			if em, ok := exts[i].(map[string]any); ok {
				out = append(out, Value{t: t, ext: em})
			}
		}
		return out
	case nil:
		switch e := ext.(type) {
		case map[string]any:
			return append(out, Value{t: t, ext: e})
		case []any:
			for _, el := range e {
				if em, ok := el.(map[string]any); ok {
					out = append(out, Value{t: t, ext: em})
				}
			}
		}
		return out
	default:
		em, _ := ext.(map[string]any)
		return append(out, jsonItem(raw, em, t))
	}
}

func jsonItem(x any, ext map[string]any, t *typeInfo) Value {
	if t == nil || t.abstract {
		if m, ok := x.(map[string]any); ok {
			return jsonValue(m, t)
		}
	}
	return Value{v: x, t: t, ext: ext}
}
