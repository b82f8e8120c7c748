package fhirpath

// Static checks made by Compile in Strict mode. Types are inferred where
// the expression itself names them (a type name at the start of a path,
// as/ofType), so that paths that can never match are reported at compile
// time, as are order-dependent functions applied to the unordered results
// of children() and descendants().

type staticInfo struct {
	types     []*typeInfo // nil: unknown
	unordered bool
}

var orderDependent = map[string]bool{"first": true, "last": true, "tail": true, "skip": true, "take": true, "single": false}

func (cp *compiler) check(n *astNode, focus staticInfo) (staticInfo, error) {
	unknown := staticInfo{}
	switch n.kind {
	case nParen:
		return cp.check(n.left, focus)
	case nMember:
		in := focus
		if n.left != nil {
			var err error
			if in, err = cp.check(n.left, focus); err != nil {
				return unknown, err
			}
		} else if n.name != "" && n.name[0] >= 'A' && n.name[0] <= 'Z' {
			if t := fhirType(n.name); t != nil {
				return staticInfo{types: []*typeInfo{t}}, nil
			}
		}
		if in.types == nil {
			return unknown, nil
		}
		var out []*typeInfo
		found := false
		for _, t := range in.types {
			if t.kind == 0 || t.abstract {
				return unknown, nil
			}
			cs := t.child(n.name)
			if cs == nil {
				continue
			}
			found = true
			for _, k := range cs.keys {
				if k.t == nil || k.t.abstract {
					return staticInfo{unordered: in.unordered}, nil
				}
				out = append(out, k.t)
			}
		}
		if !found {
			return unknown, cp.semErr(n, "%s has no element %q", typeList(in.types), n.name)
		}
		return staticInfo{types: out, unordered: in.unordered}, nil
	case nTypeOp:
		if _, err := cp.check(n.left, focus); err != nil {
			return unknown, err
		}
		if n.op == "as" {
			if t := fhirType(stripFHIR(n.typeName)); t != nil {
				return staticInfo{types: []*typeInfo{t}}, nil
			}
		}
		return unknown, nil
	case nIndexer:
		in, err := cp.check(n.left, focus)
		if err != nil {
			return unknown, err
		}
		if _, err := cp.check(n.right, focus); err != nil {
			return unknown, err
		}
		if in.unordered {
			return unknown, cp.semErr(n, "indexing the unordered result of children() or descendants()")
		}
		return staticInfo{types: in.types}, nil
	case nFunc:
		in := focus
		if n.left != nil {
			var err error
			if in, err = cp.check(n.left, focus); err != nil {
				return unknown, err
			}
		}
		for _, a := range n.args {
			if n.name == "is" || n.name == "as" || n.name == "ofType" {
				break // the argument is a type name
			}
			// arguments see the input items as their focus
			if _, err := cp.check(a, staticInfo{types: in.types}); err != nil {
				return unknown, err
			}
		}
		if orderDependent[n.name] && in.unordered {
			return unknown, cp.semErr(n, "%s() depends on order, but the result of children() or descendants() is unordered", n.name)
		}
		switch n.name {
		case "where", "distinct", "trace", "single", "first", "last", "tail", "skip", "take", "intersect", "exclude":
			return in, nil
		case "children", "descendants":
			return staticInfo{unordered: true}, nil
		case "ofType", "as":
			if len(n.args) == 1 {
				if name, ok := typeNameOf(n.args[0]); ok {
					if t := fhirType(stripFHIR(name)); t != nil {
						return staticInfo{types: []*typeInfo{t}, unordered: in.unordered}, nil
					}
				}
			}
		}
		return unknown, nil
	case nBinary, nUnary:
		if n.left != nil {
			if _, err := cp.check(n.left, focus); err != nil {
				return unknown, err
			}
		}
		if n.right != nil {
			if _, err := cp.check(n.right, focus); err != nil {
				return unknown, err
			}
		}
	}
	return unknown, nil
}

func stripFHIR(name string) string {
	if len(name) > 5 && name[:5] == "FHIR." {
		return name[5:]
	}
	return name
}

func typeList(ts []*typeInfo) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += "|"
		}
		s += t.name
	}
	return s
}
