package fhirpath

// Existence, filtering, subsetting and combining functions.

// ---- existence ----

func fnEmpty(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return boolColl(len(in) == 0), nil
}

func fnExists(c *evalCtx, in Collection, args []evalFunc, f Collection) (Collection, error) {
	if len(args) == 0 {
		return boolColl(len(in) > 0), nil
	}
	for i, it := range in {
		r, err := withItem(c, args[0], it, i)
		if err != nil {
			return nil, err
		}
		if b, ok, err := boolOf(r, "exists"); err != nil {
			return nil, err
		} else if ok && b {
			return trueColl, nil
		}
	}
	return falseColl, nil
}

func fnAll(c *evalCtx, in Collection, args []evalFunc, _ Collection) (Collection, error) {
	for i, it := range in {
		r, err := withItem(c, args[0], it, i)
		if err != nil {
			return nil, err
		}
		b, ok, err := boolOf(r, "all")
		if err != nil {
			return nil, err
		}
		if !ok || !b {
			return falseColl, nil
		}
	}
	return trueColl, nil
}

// boolAgg implements allTrue (all, want true), anyTrue, allFalse, anyFalse.
func boolAgg(all, want bool) funcImpl {
	return func(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
		for _, it := range in {
			s, ok := system(it)
			b, isBool := s.v.(bool)
			if !ok || !isBool {
				return nil, execErr("expected Boolean items, got %s", it.TypeName())
			}
			if all && b != want {
				return falseColl, nil
			}
			if !all && b == want {
				return trueColl, nil
			}
		}
		return boolColl(all), nil
	}
}

func fnSubsetOf(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	other, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	set := setOf(c, other)
	for _, it := range in {
		if !set.contains(it) {
			return falseColl, nil
		}
	}
	return trueColl, nil
}

func fnSupersetOf(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	other, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	set := setOf(c, in)
	for _, it := range other {
		if !set.contains(it) {
			return falseColl, nil
		}
	}
	return trueColl, nil
}

func fnCount(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return Collection{intValue(int64(len(in)))}, nil
}

func fnDistinct(c *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) < 2 {
		return in, nil
	}
	return setOf(c, in).items, nil
}

func fnIsDistinct(c *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return boolColl(len(setOf(c, in).items) == len(in)), nil
}

// ---- filtering ----

func fnWhere(c *evalCtx, in Collection, args []evalFunc, _ Collection) (Collection, error) {
	var out Collection
	for i, it := range in {
		r, err := withItem(c, args[0], it, i)
		if err != nil {
			return nil, err
		}
		b, ok, err := boolOf(r, "where")
		if err != nil {
			return nil, err
		}
		if ok && b {
			out = append(out, it)
		}
	}
	return out, nil
}

func fnSelect(c *evalCtx, in Collection, args []evalFunc, _ Collection) (Collection, error) {
	var out Collection
	for i, it := range in {
		r, err := withItem(c, args[0], it, i)
		if err != nil {
			return nil, err
		}
		if out == nil && i == len(in)-1 {
			return r, nil
		}
		out = append(out, r...)
	}
	return out, nil
}

func fnRepeat(c *evalCtx, in Collection, args []evalFunc, _ Collection) (Collection, error) {
	out := newItemSet(c, 0)
	queue := in
	for round := 0; len(queue) > 0; round++ {
		if round > 10000 || len(out.items) > 1_000_000 {
			return nil, execErr("repeat() did not terminate")
		}
		var next Collection
		for i, it := range queue {
			r, err := withItem(c, args[0], it, i)
			if err != nil {
				return nil, err
			}
			for _, x := range r {
				if out.add(x) {
					next = append(next, x)
				}
			}
		}
		queue = next
	}
	return out.items, nil
}

// ---- subsetting ----

func fnSingle(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) > 1 {
		return nil, execErr("single() on a collection of %d items", len(in))
	}
	return in, nil
}

func fnFirst(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) == 0 {
		return nil, nil
	}
	return in[:1:1], nil
}

func fnLast(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) == 0 {
		return nil, nil
	}
	return in[len(in)-1:], nil
}

func fnTail(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	if len(in) < 2 {
		return nil, nil
	}
	return in[1:], nil
}

func intArg(c *evalCtx, f evalFunc, focus Collection) (int64, bool, error) {
	v, err := evalArg(c, f, focus)
	if err != nil {
		return 0, false, err
	}
	return singletonInt(v)
}

func fnSkip(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	n, ok, err := intArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	if n <= 0 {
		return in, nil
	}
	if n >= int64(len(in)) {
		return nil, nil
	}
	return in[n:], nil
}

func fnTake(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	n, ok, err := intArg(c, args[0], focus)
	if err != nil || !ok {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	if n >= int64(len(in)) {
		return in, nil
	}
	return in[:n:n], nil
}

func fnIntersect(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	other, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	set := setOf(c, other)
	out := newItemSet(c, 0)
	for _, it := range in {
		if set.contains(it) {
			out.add(it)
		}
	}
	return out.items, nil
}

func fnExclude(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	other, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	set := setOf(c, other)
	var out Collection
	for _, it := range in {
		if !set.contains(it) {
			out = append(out, it)
		}
	}
	return out, nil
}

func fnUnion(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	other, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	return union(c, in, other), nil
}

func fnCombine(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	other, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	out := make(Collection, 0, len(in)+len(other))
	return append(append(out, in...), other...), nil
}
