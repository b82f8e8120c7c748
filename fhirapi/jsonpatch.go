package fhirapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// applyJSONPatch applies an RFC 6902 JSON Patch document to doc (which it
// may modify) and returns the result. Every operation must succeed or the
// whole patch fails.
func applyJSONPatch(doc any, patch []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(patch))
	dec.UseNumber()
	var ops []map[string]any
	if err := dec.Decode(&ops); err != nil {
		return nil, fmt.Errorf("the body is not a JSON Patch array of operations: %v", err)
	}
	for i, o := range ops {
		name, _ := o["op"].(string)
		path, ok := o["path"].(string)
		if !ok {
			return nil, fmt.Errorf("operation %d has no \"path\"", i)
		}
		var err error
		switch name {
		case "add":
			v, ok := o["value"]
			if !ok {
				return nil, fmt.Errorf("operation %d (add) has no \"value\"", i)
			}
			doc, err = patchAdd(doc, path, deepCopy(v), false)
		case "replace":
			v, ok := o["value"]
			if !ok {
				return nil, fmt.Errorf("operation %d (replace) has no \"value\"", i)
			}
			doc, err = patchAdd(doc, path, deepCopy(v), true)
		case "remove":
			doc, _, err = patchRemove(doc, path)
		case "move", "copy":
			from, ok := o["from"].(string)
			if !ok {
				return nil, fmt.Errorf("operation %d (%s) has no \"from\"", i, name)
			}
			var v any
			if name == "move" {
				if strings.HasPrefix(path, from+"/") {
					return nil, fmt.Errorf("operation %d moves %s into its own child", i, from)
				}
				doc, v, err = patchRemove(doc, from)
			} else {
				v, err = pointerGet(doc, from)
				v = deepCopy(v)
			}
			if err == nil {
				doc, err = patchAdd(doc, path, v, false)
			}
		case "test":
			var got any
			got, err = pointerGet(doc, path)
			if err == nil && !jsonEqual(got, o["value"]) {
				err = fmt.Errorf("test failed: the value at %s differs", path)
			}
		default:
			return nil, fmt.Errorf("operation %d has unknown op %q (add, remove, replace, move, copy, test)", i, name)
		}
		if err != nil {
			return nil, fmt.Errorf("operation %d (%s %s): %w", i, name, path, err)
		}
	}
	return doc, nil
}

func splitPointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("a JSON Pointer starts with '/'")
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

func pointerGet(doc any, p string) (any, error) {
	parts, err := splitPointer(p)
	if err != nil {
		return nil, err
	}
	cur := doc
	for _, k := range parts {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[k]
			if !ok {
				return nil, fmt.Errorf("no member %q", k)
			}
			cur = v
		case []any:
			i, err := arrayIndex(k, len(c), false)
			if err != nil {
				return nil, err
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("%q is inside a value that is neither object nor array", k)
		}
	}
	return cur, nil
}

func arrayIndex(k string, n int, forAdd bool) (int, error) {
	if forAdd && k == "-" {
		return n, nil
	}
	i, err := strconv.Atoi(k)
	if err != nil || i < 0 || (k != "0" && strings.HasPrefix(k, "0")) {
		return 0, fmt.Errorf("%q is not an array index", k)
	}
	if i > n || (!forAdd && i == n) {
		return 0, fmt.Errorf("index %d is out of range (length %d)", i, n)
	}
	return i, nil
}

// patchAdd adds (or, with replace, replaces) the value at p.
func patchAdd(doc any, p string, v any, replace bool) (any, error) {
	parts, err := splitPointer(p)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return v, nil
	}
	parentPath := parts[:len(parts)-1]
	last := parts[len(parts)-1]
	return setIn(doc, parentPath, func(parent any) (any, error) {
		switch c := parent.(type) {
		case map[string]any:
			if _, ok := c[last]; replace && !ok {
				return nil, fmt.Errorf("no member %q to replace", last)
			}
			c[last] = v
			return c, nil
		case []any:
			i, err := arrayIndex(last, len(c), !replace)
			if err != nil {
				return nil, err
			}
			if replace {
				c[i] = v
				return c, nil
			}
			c = append(c, nil)
			copy(c[i+1:], c[i:])
			c[i] = v
			return c, nil
		}
		return nil, fmt.Errorf("the parent of %q is neither object nor array", last)
	})
}

func patchRemove(doc any, p string) (any, any, error) {
	parts, err := splitPointer(p)
	if err != nil {
		return nil, nil, err
	}
	if len(parts) == 0 {
		return nil, nil, fmt.Errorf("cannot remove the whole document")
	}
	last := parts[len(parts)-1]
	var removed any
	doc, err = setIn(doc, parts[:len(parts)-1], func(parent any) (any, error) {
		switch c := parent.(type) {
		case map[string]any:
			v, ok := c[last]
			if !ok {
				return nil, fmt.Errorf("no member %q to remove", last)
			}
			removed = v
			delete(c, last)
			return c, nil
		case []any:
			i, err := arrayIndex(last, len(c), false)
			if err != nil {
				return nil, err
			}
			removed = c[i]
			return append(c[:i:i], c[i+1:]...), nil
		}
		return nil, fmt.Errorf("the parent of %q is neither object nor array", last)
	})
	return doc, removed, err
}

// setIn walks to path and replaces the value there with fn's result
// (arrays may be reallocated, so every level stores its child back).
func setIn(doc any, path []string, fn func(any) (any, error)) (any, error) {
	if len(path) == 0 {
		return fn(doc)
	}
	k := path[0]
	switch c := doc.(type) {
	case map[string]any:
		child, ok := c[k]
		if !ok {
			return nil, fmt.Errorf("no member %q", k)
		}
		nv, err := setIn(child, path[1:], fn)
		if err != nil {
			return nil, err
		}
		c[k] = nv
		return c, nil
	case []any:
		i, err := arrayIndex(k, len(c), false)
		if err != nil {
			return nil, err
		}
		nv, err := setIn(c[i], path[1:], fn)
		if err != nil {
			return nil, err
		}
		c[i] = nv
		return c, nil
	}
	return nil, fmt.Errorf("%q is inside a value that is neither object nor array", k)
}

func deepCopy(v any) any {
	switch c := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(c))
		for k, x := range c {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		a := make([]any, len(c))
		for i, x := range c {
			a[i] = deepCopy(x)
		}
		return a
	}
	return v
}

// jsonEqual compares JSON values, numbers by value.
func jsonEqual(a, b any) bool {
	na, aok := a.(json.Number)
	nb, bok := b.(json.Number)
	if aok && bok {
		fa, _ := na.Float64()
		fb, _ := nb.Float64()
		return fa == fb
	}
	ma, aok := a.(map[string]any)
	mb, bok := b.(map[string]any)
	if aok && bok {
		if len(ma) != len(mb) {
			return false
		}
		for k, v := range ma {
			if w, ok := mb[k]; !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	}
	la, aok := a.([]any)
	lb, bok := b.([]any)
	if aok && bok {
		if len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !jsonEqual(la[i], lb[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
