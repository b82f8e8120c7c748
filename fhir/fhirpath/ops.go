package fhirpath

import (
	"math"
	"strings"

	"github.com/xietong/xietong/fhir/model"
)

func (cp *compiler) compileBinary(n *astNode) (evalFunc, error) {
	left, err := cp.compile(n.left)
	if err != nil {
		return nil, err
	}
	right, err := cp.compile(n.right)
	if err != nil {
		return nil, err
	}
	var f evalFunc
	switch n.op {
	case "and", "or", "xor", "implies":
		op := n.op
		f = func(c *evalCtx, focus Collection) (Collection, error) {
			l, err := left(c, focus)
			if err != nil {
				return nil, err
			}
			lb, lk, err := boolOf(l, op)
			if err != nil {
				return nil, err
			}
			// short circuits
			switch {
			case op == "and" && lk && !lb:
				return falseColl, nil
			case op == "or" && lk && lb:
				return trueColl, nil
			case op == "implies" && lk && !lb:
				return trueColl, nil
			}
			r, err := right(c, focus)
			if err != nil {
				return nil, err
			}
			rb, rk, err := boolOf(r, op)
			if err != nil {
				return nil, err
			}
			switch op {
			case "and":
				if rk && !rb {
					return falseColl, nil
				}
				if lk && rk {
					return trueColl, nil
				}
				return nil, nil
			case "or":
				if rk && rb {
					return trueColl, nil
				}
				if lk && rk {
					return falseColl, nil
				}
				return nil, nil
			case "xor":
				if lk && rk {
					return boolColl(lb != rb), nil
				}
				return nil, nil
			default: // implies
				if rk && rb {
					return trueColl, nil
				}
				if lk && rk {
					return falseColl, nil
				}
				return nil, nil
			}
		}
	case "|":
		f = func(c *evalCtx, focus Collection) (Collection, error) {
			l, err := left(c, focus)
			if err != nil {
				return nil, err
			}
			r, err := right(c, focus)
			if err != nil {
				return nil, err
			}
			return union(c, l, r), nil
		}
	case "=", "!=", "~", "!~":
		op := n.op
		f = func(c *evalCtx, focus Collection) (Collection, error) {
			l, err := left(c, focus)
			if err != nil {
				return nil, err
			}
			r, err := right(c, focus)
			if err != nil {
				return nil, err
			}
			switch op {
			case "=", "!=":
				res := collectionsEqual(c, l, r)
				if res == eqEmpty {
					return nil, nil
				}
				return boolColl((res == eqTrue) == (op == "=")), nil
			}
			return boolColl(collectionsEquivalent(c, l, r) == (op == "~")), nil
		}
	case "<", ">", "<=", ">=":
		op := n.op
		f = func(c *evalCtx, focus Collection) (Collection, error) {
			a, b, ok, err := operands(c, focus, left, right, op)
			if err != nil || !ok {
				return nil, err
			}
			cmp, known, err := compareItems(c, a, b)
			if err != nil || !known {
				return nil, err
			}
			switch op {
			case "<":
				return boolColl(cmp < 0), nil
			case ">":
				return boolColl(cmp > 0), nil
			case "<=":
				return boolColl(cmp <= 0), nil
			}
			return boolColl(cmp >= 0), nil
		}
	case "in", "contains":
		op := n.op
		f = func(c *evalCtx, focus Collection) (Collection, error) {
			l, err := left(c, focus)
			if err != nil {
				return nil, err
			}
			r, err := right(c, focus)
			if err != nil {
				return nil, err
			}
			elem, coll := l, r
			if op == "contains" {
				elem, coll = r, l
			}
			v, ok, err := single(elem, op)
			if err != nil || !ok {
				return nil, err
			}
			for _, it := range coll {
				if itemsEqual(c, v, it) == eqTrue {
					return trueColl, nil
				}
			}
			return falseColl, nil
		}
	case "&":
		f = func(c *evalCtx, focus Collection) (Collection, error) {
			l, err := left(c, focus)
			if err != nil {
				return nil, err
			}
			r, err := right(c, focus)
			if err != nil {
				return nil, err
			}
			ls, err := concatOperand(l)
			if err != nil {
				return nil, err
			}
			rs, err := concatOperand(r)
			if err != nil {
				return nil, err
			}
			if len(ls)+len(rs) > maxStringLen {
				return nil, execErr("string result longer than 16 MiB")
			}
			return Collection{stringValue(ls + rs)}, nil
		}
	case "+", "-", "*", "/", "div", "mod":
		op := n.op
		f = func(c *evalCtx, focus Collection) (Collection, error) {
			a, b, ok, err := operands(c, focus, left, right, op)
			if err != nil || !ok {
				return nil, err
			}
			return arithmetic(op, a, b)
		}
	default:
		return nil, cp.semErr(n, "unknown operator %q", n.op)
	}
	return cp.wrap(n, f), nil
}

func concatOperand(in Collection) (string, error) {
	switch len(in) {
	case 0:
		return "", nil
	case 1:
		s, ok := system(in[0])
		if ok {
			if str, ok := s.v.(string); ok {
				return str, nil
			}
		}
		return "", execErr("& expects strings, got %s", in[0].TypeName())
	}
	return "", execErr("& expects single items, got %d", len(in))
}

func collectionsEqual(c *evalCtx, l, r Collection) eqResult {
	if len(l) == 0 || len(r) == 0 {
		return eqEmpty
	}
	if len(l) != len(r) {
		return eqFalse
	}
	res := eqTrue
	for i := range l {
		switch itemsEqual(c, l[i], r[i]) {
		case eqFalse:
			return eqFalse
		case eqEmpty:
			res = eqEmpty
		}
	}
	return res
}

func collectionsEquivalent(c *evalCtx, l, r Collection) bool {
	if len(l) != len(r) {
		return false
	}
	if len(l) == 1 {
		return itemsEquivalent(c, l[0], r[0])
	}
	used := make([]bool, len(r))
outer:
	for _, a := range l {
		for j, b := range r {
			if !used[j] && itemsEquivalent(c, a, b) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

// union merges two collections removing duplicates (by =).
func union(c *evalCtx, l, r Collection) Collection {
	// most unions in practice have an empty side (search parameters over
	// several resource types)
	if len(l) == 0 && len(r) <= 1 {
		return r
	}
	if len(r) == 0 && len(l) <= 1 {
		return l
	}
	s := newItemSet(c, len(l)+len(r))
	for _, v := range l {
		s.add(v)
	}
	for _, v := range r {
		s.add(v)
	}
	return s.items
}

// sameNode is a fast identity check for JSON maps.
func sameNode(a, b Value) bool {
	ma, ok1 := a.v.(map[string]any)
	mb, ok2 := b.v.(map[string]any)
	if !ok1 || !ok2 {
		return false
	}
	return len(ma) > 0 && len(ma) == len(mb) && mapPtr(ma) == mapPtr(mb)
}

func arithmetic(op string, a, b Value) (Collection, error) {
	sa, oka := system(a)
	if !oka {
		if q, ok := asQuantity(a); ok {
			sa, oka = Value{v: q}, true
		}
	}
	sb, okb := system(b)
	if !okb {
		if q, ok := asQuantity(b); ok {
			sb, okb = Value{v: q}, true
		}
	}
	if !oka || !okb {
		return nil, execErr("cannot apply %s to %s and %s", op, a.TypeName(), b.TypeName())
	}
	switch x := sa.v.(type) {
	case string:
		if y, ok := sb.v.(string); ok && op == "+" {
			if len(x)+len(y) > maxStringLen {
				return nil, execErr("string result longer than 16 MiB")
			}
			return Collection{stringValue(x + y)}, nil
		}
	case int64:
		switch y := sb.v.(type) {
		case int64:
			return intArith(op, x, y)
		case *decimal:
			return decArith(op, decimalFromInt(x), y)
		case *quantity:
			if op == "*" {
				return Collection{{v: &quantity{val: decimalFromInt(x).mul(y.val), unit: y.unit}}}, nil
			}
		}
	case *decimal:
		switch y := sb.v.(type) {
		case int64:
			return decArith(op, x, decimalFromInt(y))
		case *decimal:
			return decArith(op, x, y)
		case *quantity:
			if op == "*" {
				return Collection{{v: &quantity{val: x.mul(y.val), unit: y.unit}}}, nil
			}
		}
	case *temporal:
		if q, ok := sb.v.(*quantity); ok && (op == "+" || op == "-") {
			return dateArith(op, x, q)
		}
	case *quantity:
		switch y := sb.v.(type) {
		case *quantity:
			return quantityArith(op, x, y)
		case int64, *decimal:
			d, _ := toDecimal(sb)
			switch op {
			case "*":
				return Collection{{v: &quantity{val: x.val.mul(d), unit: x.unit}}}, nil
			case "/":
				r := x.val.div(d)
				if r == nil {
					return nil, nil
				}
				return Collection{{v: &quantity{val: r, unit: x.unit}}}, nil
			}
		}
	}
	return nil, execErr("cannot apply %s to %s and %s", op, sa.TypeName(), sb.TypeName())
}

// maxStringLen bounds strings built by evaluation, so that an expression
// cannot exhaust memory by repeated concatenation.
const maxStringLen = 16 << 20

func intArith(op string, x, y int64) (Collection, error) {
	var r int64
	switch op {
	case "+":
		r = x + y
		if (r > x) != (y > 0) {
			return nil, execErr("integer overflow")
		}
	case "-":
		r = x - y
		if (r < x) != (y > 0) {
			return nil, execErr("integer overflow")
		}
	case "*":
		r = x * y
		if x != 0 && (r/x != y || x == -1 && y == math.MinInt64) {
			return nil, execErr("integer overflow")
		}
	case "/":
		return decArith(op, decimalFromInt(x), decimalFromInt(y))
	case "div":
		if y == 0 {
			return nil, nil
		}
		r = x / y
	case "mod":
		if y == 0 {
			return nil, nil
		}
		r = x % y
	}
	return Collection{intValue(r)}, nil
}

func decArith(op string, x, y *decimal) (Collection, error) {
	var r *decimal
	switch op {
	case "+":
		r = x.add(y)
	case "-":
		r = x.sub(y)
	case "*":
		r = x.mul(y)
	case "/":
		r = x.div(y)
	case "div":
		q, ok := x.divTrunc(y)
		if !ok {
			return nil, nil
		}
		v, ok := bigToValue(q)
		if !ok {
			return Collection{decimalValue(&decimal{u: q})}, nil
		}
		return Collection{v}, nil
	case "mod":
		r = x.mod(y)
	}
	if r == nil {
		return nil, nil
	}
	return Collection{decimalValue(r)}, nil
}

func quantityArith(op string, x, y *quantity) (Collection, error) {
	switch op {
	case "+", "-":
		yv, ok := convertQuantity(y, x.unit)
		if !ok {
			return nil, execErr("cannot %s quantities in %q and %q", map[string]string{"+": "add", "-": "subtract"}[op], x.unit, y.unit)
		}
		if op == "+" {
			return Collection{{v: &quantity{val: x.val.add(yv), unit: x.unit}}}, nil
		}
		return Collection{{v: &quantity{val: x.val.sub(yv), unit: x.unit}}}, nil
	case "*":
		return Collection{{v: &quantity{val: x.val.mul(y.val), unit: unitProduct(x.unit, y.unit, false)}}}, nil
	case "/":
		r := x.val.div(y.val)
		if r == nil {
			return nil, nil
		}
		u := unitProduct(x.unit, y.unit, true)
		if canonicalUnit(x.unit) == canonicalUnit(y.unit) {
			u = "1"
		}
		return Collection{{v: &quantity{val: r, unit: u}}}, nil
	}
	return nil, execErr("cannot apply %s to quantities", op)
}

func dateArith(op string, t *temporal, q *quantity) (Collection, error) {
	unit := q.unit
	if cu, ok := ucumToCalendar[unit]; ok {
		unit = cu
	} else if !isCalendarUnit(unit) {
		return nil, execErr("cannot add a quantity in %q to a date/time", q.unit)
	}
	n := q.val.truncate(0)
	if !n.u.IsInt64() {
		return nil, execErr("duration out of range")
	}
	v := n.u.Int64()
	if op == "-" {
		v = -v
	}
	if t.kind == kTime && (unit == "year" || unit == "month" || unit == "week" || unit == "day") {
		return nil, execErr("cannot add %s to a Time", unit)
	}
	r, ok := t.addDuration(v, unit)
	if !ok {
		return nil, execErr("cannot add %s", q.unit)
	}
	return Collection{temporalValue(r)}, nil
}

// ---- types ----

// typeSpec is a resolved type specifier.
type typeSpec struct {
	ns   string // "FHIR", "System" or "" (unqualified)
	name string
	sys  sysType
	fhir *typeInfo
}

func (cp *compiler) resolveType(n *astNode, name string) (typeSpec, error) {
	ns := ""
	if rest, ok := strings.CutPrefix(name, "FHIR."); ok {
		ns, name = "FHIR", rest
	} else if rest, ok := strings.CutPrefix(name, "System."); ok {
		ns, name = "System", rest
	}
	ts := typeSpec{ns: ns, name: name}
	if ns != "FHIR" {
		ts.sys = sysTypeByName(name)
	}
	if ns != "System" {
		ts.fhir = fhirType(name)
	}
	if ts.sys == sysNone && ts.fhir == nil {
		if ns == "System" {
			// an unknown System type matches nothing
			return ts, nil
		}
		return ts, cp.semErr(n, "unknown type %q", name)
	}
	return ts, nil
}

// matches reports whether v is of type ts; exact requires the same FHIR
// primitive type rather than a specialisation (as/ofType on primitives).
func (ts typeSpec) matches(v Value, exact bool) bool {
	if v.t != nil {
		if ts.fhir == nil {
			return false
		}
		if exact && v.t.kind == model.KindPrimitive {
			return v.t == ts.fhir
		}
		return v.t.isAType(ts.fhir)
	}
	if _, ok := v.v.(map[string]any); ok {
		jv := jsonValue(v.v, nil)
		if jv.t != nil && ts.fhir != nil {
			return jv.t.isAType(ts.fhir)
		}
		return ts.ns == "System" && ts.name == "Any"
	}
	if ts.ns == "System" && ts.name == "Any" {
		return true
	}
	if ts.sys == sysNone {
		return false
	}
	return v.sysKind() == ts.sys && v.t == nil
}

func (cp *compiler) compileTypeOp(n *astNode) (evalFunc, error) {
	left, err := cp.compile(n.left)
	if err != nil {
		return nil, err
	}
	ts, err := cp.resolveType(n, n.typeName)
	if err != nil {
		return nil, err
	}
	if n.op == "is" {
		return cp.wrap(n, isFunc(left, ts)), nil
	}
	// The as operator filters like ofType on multi-item collections, as
	// R4 search parameters (Observation.component.value as Quantity) need.
	return cp.wrap(n, asFunc(left, ts, false)), nil
}

func isFunc(left evalFunc, ts typeSpec) evalFunc {
	return func(c *evalCtx, focus Collection) (Collection, error) {
		in, err := left(c, focus)
		if err != nil {
			return nil, err
		}
		v, ok, err := single(in, "is")
		if err != nil || !ok {
			return nil, err
		}
		return boolColl(ts.matches(v, false)), nil
	}
}

func asFunc(left evalFunc, ts typeSpec, strictSingle bool) evalFunc {
	return func(c *evalCtx, focus Collection) (Collection, error) {
		in, err := left(c, focus)
		if err != nil {
			return nil, err
		}
		if strictSingle && len(in) > 1 {
			return nil, execErr("as() expects a single item, got %d", len(in))
		}
		return ofType(in, ts), nil
	}
}

func ofType(in Collection, ts typeSpec) Collection {
	if len(in) == 1 {
		if ts.matches(in[0], true) {
			return in
		}
		return nil
	}
	var out Collection
	for _, v := range in {
		if ts.matches(v, true) {
			out = append(out, v)
		}
	}
	return out
}

// operands evaluates both sides of a binary operator that takes single
// items; ok is false when either side is empty (the result is then empty).
func operands(c *evalCtx, focus Collection, left, right evalFunc, op string) (a, b Value, ok bool, err error) {
	l, err := left(c, focus)
	if err != nil {
		return a, b, false, err
	}
	r, err := right(c, focus)
	if err != nil {
		return a, b, false, err
	}
	a, ok1, err := single(l, op)
	if err != nil {
		return a, b, false, err
	}
	b, ok2, err := single(r, op)
	return a, b, ok1 && ok2 && err == nil, err
}
