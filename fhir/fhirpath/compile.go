package fhirpath

import (
	"fmt"
	"strings"
)

// compiler turns the syntax tree into a tree of closures (evalFunc), with
// functions, type specifiers and constants resolved once.
type compiler struct {
	src string
	cfg compileConfig
}

func (cp *compiler) semErr(n *astNode, format string, args ...any) error {
	return newSemanticError(cp.src, n.pos, fmt.Sprintf(format, args...))
}

// wrap attaches the position of n to execution errors raised below it.
func (cp *compiler) wrap(n *astNode, f evalFunc) evalFunc {
	src := cp.src
	pos := n.pos
	return func(c *evalCtx, focus Collection) (Collection, error) {
		out, err := f(c, focus)
		if err != nil {
			if e, ok := err.(*Error); ok && e.Offset < 0 {
				e.Offset = pos
				e.Line, e.Column = position(src, pos)
			}
			return nil, err
		}
		return out, nil
	}
}

func (cp *compiler) compile(n *astNode) (evalFunc, error) {
	switch n.kind {
	case nLiteral:
		lit := Collection{n.lit}
		return func(*evalCtx, Collection) (Collection, error) { return lit, nil }, nil
	case nEmpty:
		return func(*evalCtx, Collection) (Collection, error) { return nil, nil }, nil
	case nParen:
		return cp.compile(n.left)
	case nThis:
		return func(c *evalCtx, _ Collection) (Collection, error) {
			if c.this.v == nil && c.this.t == nil && c.this.ext == nil {
				return nil, nil
			}
			return Collection{c.this}, nil
		}, nil
	case nIndexVar:
		return func(c *evalCtx, _ Collection) (Collection, error) {
			return Collection{intValue(int64(c.index))}, nil
		}, nil
	case nTotal:
		return func(c *evalCtx, _ Collection) (Collection, error) { return c.total, nil }, nil
	case nExtConst:
		return cp.compileExtConst(n)
	case nMember:
		return cp.compileMember(n)
	case nFunc:
		return cp.compileFunc(n)
	case nIndexer:
		left, err := cp.compile(n.left)
		if err != nil {
			return nil, err
		}
		idx, err := cp.compile(n.right)
		if err != nil {
			return nil, err
		}
		return cp.wrap(n, func(c *evalCtx, focus Collection) (Collection, error) {
			in, err := left(c, focus)
			if err != nil {
				return nil, err
			}
			iv, err := idx(c, focus)
			if err != nil {
				return nil, err
			}
			i, ok, err := singletonInt(iv)
			if err != nil || !ok {
				return nil, err
			}
			if i < 0 || i >= int64(len(in)) {
				return nil, nil
			}
			return in[i : i+1 : i+1], nil
		}), nil
	case nUnary:
		operand, err := cp.compile(n.left)
		if err != nil {
			return nil, err
		}
		if n.op == "+" {
			return operand, nil
		}
		return cp.wrap(n, func(c *evalCtx, focus Collection) (Collection, error) {
			in, err := operand(c, focus)
			if err != nil || len(in) == 0 {
				return nil, err
			}
			if len(in) > 1 {
				return nil, execErr("unary minus expects a single item, got %d", len(in))
			}
			v, ok := negate(in[0])
			if !ok {
				return nil, execErr("cannot negate %s", in[0].TypeName())
			}
			return Collection{v}, nil
		}), nil
	case nBinary:
		return cp.compileBinary(n)
	case nTypeOp:
		return cp.compileTypeOp(n)
	}
	return nil, cp.semErr(n, "unsupported expression")
}

func negate(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		if q, ok := asQuantity(v); ok {
			return Value{v: &quantity{val: q.val.neg(), unit: q.unit}}, true
		}
		return Value{}, false
	}
	switch x := s.v.(type) {
	case int64:
		return intValue(-x), true
	case *decimal:
		return decimalValue(x.neg()), true
	case *quantity:
		return Value{v: &quantity{val: x.val.neg(), unit: x.unit}}, true
	}
	return Value{}, false
}

var envConstants = map[string]string{
	"ucum":  "http://unitsofmeasure.org",
	"sct":   "http://snomed.info/sct",
	"loinc": "http://loinc.org",
}

func (cp *compiler) compileExtConst(n *astNode) (evalFunc, error) {
	name := n.name
	switch name {
	case "context":
		return func(c *evalCtx, _ Collection) (Collection, error) { return c.context, nil }, nil
	case "resource":
		return func(c *evalCtx, _ Collection) (Collection, error) { return c.resource, nil }, nil
	case "rootResource":
		return func(c *evalCtx, _ Collection) (Collection, error) { return c.rootResource, nil }, nil
	}
	if s, ok := envConstants[name]; ok {
		lit := Collection{stringValue(s)}
		return func(c *evalCtx, _ Collection) (Collection, error) {
			if v, ok := c.opts.Variables[name]; ok {
				return toCollection(v), nil
			}
			return lit, nil
		}, nil
	}
	var fixed Collection
	if rest, ok := strings.CutPrefix(name, "vs-"); ok {
		fixed = Collection{stringValue("http://hl7.org/fhir/ValueSet/" + rest)}
	} else if rest, ok := strings.CutPrefix(name, "ext-"); ok {
		fixed = Collection{stringValue("http://hl7.org/fhir/StructureDefinition/" + rest)}
	}
	return cp.wrap(n, func(c *evalCtx, _ Collection) (Collection, error) {
		for f := c.vars; f != nil; f = f.next {
			if f.name == name {
				return f.val, nil
			}
		}
		if v, ok := c.opts.Variables[name]; ok {
			return toCollection(v), nil
		}
		if fixed != nil {
			return fixed, nil
		}
		return nil, execErr("undefined environment variable %%%s", name)
	}), nil
}

// ---- singleton helpers ----

// singletonBool applies singleton evaluation for Boolean contexts: a
// single Boolean gives its value; any other single item counts as true
// (isBool false).
func singletonBool(v Value) (b, isBool bool) {
	s, ok := system(v)
	if ok {
		if x, ok := s.v.(bool); ok {
			return x, true
		}
	}
	return true, false
}

// boolOf converts a collection for a Boolean operator: (value, known).
func boolOf(in Collection, what string) (bool, bool, error) {
	switch len(in) {
	case 0:
		return false, false, nil
	case 1:
		b, _ := singletonBool(in[0])
		return b, true, nil
	}
	return false, false, execErr("%s expects a single boolean, got %d items", what, len(in))
}

func singletonInt(in Collection) (int64, bool, error) {
	switch len(in) {
	case 0:
		return 0, false, nil
	case 1:
		s, ok := system(in[0])
		if ok {
			if n, ok := s.v.(int64); ok {
				return n, true, nil
			}
		}
		return 0, false, execErr("expected an Integer, got %s", in[0].TypeName())
	}
	return 0, false, execErr("expected a single Integer, got %d items", len(in))
}

func singletonString(in Collection) (string, bool, error) {
	switch len(in) {
	case 0:
		return "", false, nil
	case 1:
		s, ok := system(in[0])
		if ok {
			if str, ok := s.v.(string); ok {
				return str, true, nil
			}
		}
		return "", false, execErr("expected a String, got %s", in[0].TypeName())
	}
	return "", false, execErr("expected a single String, got %d items", len(in))
}

func single(in Collection, what string) (Value, bool, error) {
	switch len(in) {
	case 0:
		return Value{}, false, nil
	case 1:
		return in[0], true, nil
	}
	return Value{}, false, execErr("%s expects a single item, got %d", what, len(in))
}
