package fhirpath

import (
	"strconv"
	"strings"
)

// Conversion functions (iif, to…, convertsTo…).

// ---- conversion ----

func fnIif(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	if len(in) > 1 {
		return nil, execErr("iif() on a collection of %d items", len(in))
	}
	// criterion is evaluated with $this = the input item (if any)
	var cond Collection
	var err error
	if len(in) == 1 {
		cond, err = withItem(c, args[0], in[0], c.index)
	} else {
		cond, err = evalArg(c, args[0], focus)
	}
	if err != nil {
		return nil, err
	}
	if len(cond) > 1 {
		return nil, execErr("iif() criterion must be a single Boolean")
	}
	b := false
	if len(cond) == 1 {
		s, ok := system(cond[0])
		bv, isBool := s.v.(bool)
		if !ok || !isBool {
			return nil, execErr("iif() criterion must be a Boolean, got %s", cond[0].TypeName())
		}
		b = bv
	}
	pick := -1
	if b {
		pick = 1
	} else if len(args) == 3 {
		pick = 2
	}
	if pick < 0 {
		return nil, nil
	}
	if len(in) == 1 {
		return withItem(c, args[pick], in[0], c.index)
	}
	return evalArg(c, args[pick], focus)
}

type converter func(v Value) (Value, bool)

func convFn(conv converter, test bool) funcImpl {
	return func(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		if len(in) > 1 {
			return nil, execErr("conversion of a collection of %d items", len(in))
		}
		v, ok := conv(in[0])
		if test {
			return boolColl(ok), nil
		}
		if !ok {
			return nil, nil
		}
		return Collection{v}, nil
	}
}

func convBoolean(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		return Value{}, false
	}
	switch x := s.v.(type) {
	case bool:
		return s, true
	case string:
		switch strings.ToLower(x) {
		case "true", "t", "yes", "y", "1", "1.0":
			return boolValue(true), true
		case "false", "f", "no", "n", "0", "0.0":
			return boolValue(false), true
		}
	case int64:
		if x == 1 || x == 0 {
			return boolValue(x == 1), true
		}
	case *decimal:
		if x.cmp(decimalFromInt(1)) == 0 {
			return boolValue(true), true
		}
		if x.sign() == 0 {
			return boolValue(false), true
		}
	}
	return Value{}, false
}

func convInteger(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		return Value{}, false
	}
	switch x := s.v.(type) {
	case int64:
		return s, true
	case bool:
		if x {
			return intValue(1), true
		}
		return intValue(0), true
	case string:
		t := x
		if strings.HasPrefix(t, "+") || strings.HasPrefix(t, "-") {
			t = t[1:]
		}
		if _, ok := atoiN(t); !ok {
			return Value{}, false
		}
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return Value{}, false
		}
		return intValue(n), true
	}
	return Value{}, false
}

func convDecimal(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		return Value{}, false
	}
	switch x := s.v.(type) {
	case *decimal:
		return s, true
	case int64:
		return decimalValue(decimalFromInt(x)), true
	case bool:
		if x {
			return decimalValue(&decimal{u: decimalFromInt(10).u, scale: 1}), true
		}
		return decimalValue(&decimal{u: decimalFromInt(0).u, scale: 1}), true
	case string:
		if strings.ContainsAny(x, "eE") {
			return Value{}, false
		}
		d, ok := parseDecimal(x)
		if !ok {
			return Value{}, false
		}
		return decimalValue(d), true
	}
	return Value{}, false
}

func convString(v Value) (Value, bool) {
	s, ok := toStringValue(v)
	if !ok {
		return Value{}, false
	}
	return stringValue(s), true
}

func convDate(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		return Value{}, false
	}
	switch x := s.v.(type) {
	case *temporal:
		if x.kind == kDate {
			return s, true
		}
		if x.kind == kDateTime {
			r := *x
			r.kind = kDate
			if r.prec > pDay {
				r.prec = pDay
			}
			r.hasTZ, r.tzOff, r.fdig = false, 0, 0
			r.clearBeyondPrecision()
			return temporalValue(&r), true
		}
	case string:
		if t, ok := parseDate(x); ok {
			return temporalValue(t), true
		}
		if t, ok := parseDateTime(x); ok {
			return convDate(temporalValue(t))
		}
	}
	return Value{}, false
}

func convDateTime(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		return Value{}, false
	}
	switch x := s.v.(type) {
	case *temporal:
		if x.kind == kDateTime {
			return s, true
		}
		if x.kind == kDate {
			r := *x
			r.kind = kDateTime
			return temporalValue(&r), true
		}
	case string:
		if t, ok := parseDateTime(x); ok {
			return temporalValue(t), true
		}
	}
	return Value{}, false
}

func convTime(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		return Value{}, false
	}
	switch x := s.v.(type) {
	case *temporal:
		if x.kind == kTime {
			return s, true
		}
	case string:
		if t, ok := parseTime(strings.TrimPrefix(x, "T")); ok {
			return temporalValue(t), true
		}
	}
	return Value{}, false
}

func parseQuantityString(s string) (*quantity, bool) {
	s = strings.TrimSpace(s)
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
		i++
	}
	num, rest := s[:i], strings.TrimSpace(s[i:])
	d, ok := parseDecimal(num)
	if !ok {
		return nil, false
	}
	if rest == "" {
		return &quantity{val: d, unit: "1"}, true
	}
	if len(rest) >= 2 && rest[0] == '\'' && rest[len(rest)-1] == '\'' {
		u := rest[1 : len(rest)-1]
		if ucumParse(u) == nil {
			return nil, false
		}
		return &quantity{val: d, unit: u}, true
	}
	if cu, ok := calendarUnits[rest]; ok {
		return &quantity{val: d, unit: cu}, true
	}
	return nil, false
}

func fnToQuantity(test bool) funcImpl {
	return func(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		if len(in) > 1 {
			return nil, execErr("conversion of a collection of %d items", len(in))
		}
		var q *quantity
		s, ok := system(in[0])
		if !ok {
			q, ok = fhirQuantity(in[0])
		} else {
			switch x := s.v.(type) {
			case *quantity:
				q = x
			case int64:
				q = &quantity{val: decimalFromInt(x), unit: "1"}
			case *decimal:
				q = &quantity{val: x, unit: "1"}
			case string:
				q, ok = parseQuantityString(x)
			case bool:
				q = &quantity{val: decimalFromInt(0), unit: "1"}
				if x {
					q.val = &decimal{u: decimalFromInt(10).u, scale: 1}
				}
			default:
				ok = false
			}
		}
		if ok && len(args) == 1 {
			u, has, err := func() (string, bool, error) {
				v, err := evalArg(c, args[0], focus)
				if err != nil {
					return "", false, err
				}
				return singletonString(v)
			}()
			if err != nil {
				return nil, err
			}
			if has && u != q.unit {
				d, cok := convertQuantity(q, u)
				if !cok {
					ok = false
				} else {
					q = &quantity{val: d, unit: u}
				}
			}
		}
		if test {
			return boolColl(ok), nil
		}
		if !ok {
			return nil, nil
		}
		return Collection{{v: q}}, nil
	}
}
