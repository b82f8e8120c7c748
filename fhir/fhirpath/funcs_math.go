package fhirpath

import "math"

// Math functions and the numeric aggregates.

// ---- math ----

func numInput(in Collection, fn string) (Value, bool, error) {
	switch len(in) {
	case 0:
		return Value{}, false, nil
	case 1:
		s, ok := system(in[0])
		if !ok {
			if q, ok := asQuantity(in[0]); ok {
				return Value{v: q}, true, nil
			}
		} else {
			switch s.v.(type) {
			case int64, *decimal, *quantity:
				return s, true, nil
			}
		}
		return Value{}, false, execErr("%s() expects a number, got %s", fn, in[0].TypeName())
	}
	return Value{}, false, execErr("%s() expects a single input, got %d items", fn, len(in))
}

func fnAbs(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	v, ok, err := numInput(in, "abs")
	if err != nil || !ok {
		return nil, err
	}
	switch x := v.v.(type) {
	case int64:
		if x < 0 {
			x = -x
		}
		return Collection{intValue(x)}, nil
	case *decimal:
		return Collection{decimalValue(x.abs())}, nil
	case *quantity:
		return Collection{{v: &quantity{val: x.val.abs(), unit: x.unit}}}, nil
	}
	return nil, nil
}

func intOrDecimal(fn string, in Collection, f func(d *decimal) Value) (Collection, error) {
	v, ok, err := numInput(in, fn)
	if err != nil || !ok {
		return nil, err
	}
	switch x := v.v.(type) {
	case int64:
		return Collection{v}, nil
	case *decimal:
		return Collection{f(x)}, nil
	}
	return nil, execErr("%s() expects a number", fn)
}

func fnCeiling(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return intOrDecimal("ceiling", in, func(d *decimal) Value {
		if v, ok := bigToValue(d.ceil()); ok {
			return v
		}
		return decimalValue(&decimal{u: d.ceil()})
	})
}

func fnFloor(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return intOrDecimal("floor", in, func(d *decimal) Value {
		if v, ok := bigToValue(d.floor()); ok {
			return v
		}
		return decimalValue(&decimal{u: d.floor()})
	})
}

func fnTruncate(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return intOrDecimal("truncate", in, func(d *decimal) Value {
		t := d.truncate(0)
		if v, ok := bigToValue(t.u); ok {
			return v
		}
		return decimalValue(t)
	})
}

func fnRound(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	v, ok, err := numInput(in, "round")
	if err != nil || !ok {
		return nil, err
	}
	prec := int64(0)
	if len(args) == 1 {
		p, ok, err := intArg(c, args[0], focus)
		if err != nil || !ok {
			return nil, err
		}
		if p < 0 || p > 100 {
			return nil, execErr("round() precision must be between 0 and 100")
		}
		prec = p
	}
	d, ok := toDecimal(v)
	if !ok {
		return nil, execErr("round() expects a number")
	}
	return Collection{decimalValue(d.round(int32(prec)))}, nil
}

func floatResult(f float64) (Collection, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, nil
	}
	d, ok := decimalFromFloat(f, divScale)
	if !ok {
		return nil, nil
	}
	return Collection{decimalValue(d)}, nil
}

func floatFn(f func(float64) float64) funcImpl {
	return func(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
		v, ok, err := numInput(in, "math function")
		if err != nil || !ok {
			return nil, err
		}
		d, ok := toDecimal(v)
		if !ok {
			return nil, execErr("expected a number")
		}
		return floatResult(f(d.float()))
	}
}

func fnLog(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	v, ok, err := numInput(in, "log")
	if err != nil || !ok {
		return nil, err
	}
	b, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	bv, ok, err := numInput(b, "log")
	if err != nil || !ok {
		return nil, err
	}
	x, _ := toDecimal(v)
	base, _ := toDecimal(bv)
	if x == nil || base == nil {
		return nil, execErr("log() expects numbers")
	}
	return floatResult(math.Log(x.float()) / math.Log(base.float()))
}

func fnPower(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	v, ok, err := numInput(in, "power")
	if err != nil || !ok {
		return nil, err
	}
	e, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	ev, ok, err := numInput(e, "power")
	if err != nil || !ok {
		return nil, err
	}
	if x, ok := v.v.(int64); ok {
		if y, ok := ev.v.(int64); ok && y >= 0 {
			r := math.Pow(float64(x), float64(y))
			if math.Abs(r) < 1<<53 {
				return Collection{intValue(int64(r))}, nil
			}
		}
	}
	x, _ := toDecimal(v)
	y, _ := toDecimal(ev)
	if x == nil || y == nil {
		return nil, execErr("power() expects numbers")
	}
	return floatResult(math.Pow(x.float(), y.float()))
}

// ---- aggregates (FHIRPath 2.0 sum, min, max, avg) ----

func fnSum(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) == 0 {
		return Collection{intValue(0)}, nil
	}
	acc := Collection{in[0]}
	for _, it := range in[1:] {
		r, err := arithmetic("+", acc[0], it)
		if err != nil {
			return nil, err
		}
		if len(r) == 0 {
			return nil, nil
		}
		acc = r
	}
	if s, ok := system(acc[0]); ok {
		return Collection{s}, nil
	}
	if q, ok := asQuantity(acc[0]); ok {
		return Collection{{v: q}}, nil
	}
	return nil, execErr("sum() expects numbers or quantities")
}

func fnMinMax(sign int) funcImpl {
	return func(c *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		best := in[0]
		for _, it := range in[1:] {
			r, known, err := compareItems(c, it, best)
			if err != nil {
				return nil, err
			}
			if !known {
				return nil, nil
			}
			if r*sign > 0 {
				best = it
			}
		}
		if s, ok := system(best); ok {
			return Collection{s}, nil
		}
		return Collection{best}, nil
	}
}

func fnAvg(c *evalCtx, in Collection, a []evalFunc, f Collection) (Collection, error) {
	if len(in) == 0 {
		return nil, nil
	}
	s, err := fnSum(c, in, a, f)
	if err != nil || len(s) == 0 {
		return nil, err
	}
	return arithmetic("/", s[0], intValue(int64(len(in))))
}
