package fhirpath

import (
	"sort"
	"strings"
	"time"
)

// Tree navigation and utility functions: children, descendants, trace,
// now, aggregate, sort, type, precision and boundaries.

// ---- tree navigation ----

func childrenOf(it Value, out Collection) Collection {
	m, ok := it.v.(map[string]any)
	if !ok {
		if it.ext != nil {
			out = appendJSON(out, it.ext["extension"], nil, fhirType("Extension"))
		}
		return out
	}
	t := it.t
	if t == nil || t.abstract {
		t = jsonValue(m, t).t
	}
	if t == nil {
		// untyped JSON: properties in key order, for a deterministic result
		for _, k := range sortedKeys(m) {
			if k == "resourceType" || strings.HasPrefix(k, "_") {
				continue
			}
			out = appendJSON(out, m[k], m["_"+k], nil)
		}
		return out
	}
	for _, e := range t.m.Elements {
		cs := t.child(e.Name)
		for i := range cs.keys {
			k := &cs.keys[i]
			raw, ok := m[k.key]
			ext := m[k.extKey]
			if !ok && ext == nil {
				continue
			}
			out = appendJSON(out, raw, ext, k.t)
		}
	}
	return out
}

func fnChildren(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	var out Collection
	for _, it := range in {
		out = childrenOf(it, out)
	}
	return out, nil
}

func fnDescendants(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	var out Collection
	queue := in
	for len(queue) > 0 {
		var next Collection
		for _, it := range queue {
			next = childrenOf(it, next)
		}
		out = append(out, next...)
		if len(out) > 5_000_000 {
			return nil, execErr("descendants() too large")
		}
		queue = next
	}
	return out, nil
}

// ---- utility ----

func fnTrace(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	name, _, err := strArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	if c.opts.Trace != nil {
		out := in
		if len(args) == 2 {
			var proj Collection
			for i, it := range in {
				r, err := withItem(c, args[1], it, i)
				if err != nil {
					return nil, err
				}
				proj = append(proj, r...)
			}
			out = proj
		}
		c.opts.Trace(name, out)
	}
	return in, nil
}

func nowTemporal(tm time.Time) *temporal {
	_, off := tm.Zone()
	t := &temporal{kind: kDateTime, prec: pMilli, fdig: 3, hasTZ: true, tzOff: off}
	tm = tm.Truncate(time.Millisecond)
	return t.withTime(tm)
}

func fnNow(c *evalCtx, _ Collection, _ []evalFunc, _ Collection) (Collection, error) {
	return Collection{temporalValue(nowTemporal(c.nowTime()))}, nil
}

func fnToday(c *evalCtx, _ Collection, _ []evalFunc, _ Collection) (Collection, error) {
	tm := c.nowTime()
	return Collection{temporalValue(&temporal{kind: kDate, prec: pDay, y: tm.Year(), mo: int(tm.Month()), d: tm.Day()})}, nil
}

func fnTimeOfDay(c *evalCtx, _ Collection, _ []evalFunc, _ Collection) (Collection, error) {
	tm := c.nowTime()
	return Collection{temporalValue(&temporal{kind: kTime, prec: pMilli, fdig: 3, h: tm.Hour(), mi: tm.Minute(), s: tm.Second(), ns: tm.Nanosecond() / 1e6 * 1e6, mo: 1, d: 1})}, nil
}

func fnNot(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	switch len(in) {
	case 0:
		return nil, nil
	case 1:
		// singleton evaluation: a non-Boolean item counts as true
		b, _ := singletonBool(in[0])
		return boolColl(!b), nil
	}
	return nil, execErr("not() on a collection of %d items", len(in))
}

func fnAggregate(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	var total Collection
	if len(args) == 2 {
		var err error
		if total, err = evalArg(c, args[1], focus); err != nil {
			return nil, err
		}
	}
	save := c.total
	defer func() { c.total = save }()
	for i, it := range in {
		c.total = total
		r, err := withItem(c, args[0], it, i)
		if err != nil {
			return nil, err
		}
		total = r
	}
	return total, nil
}

// compileSort compiles sort(key, ...); a key written -expr sorts
// descending (for any ordered type, not only numbers).
func (cp *compiler) compileSort(n *astNode, left evalFunc) (evalFunc, error) {
	args := make([]evalFunc, len(n.args))
	desc := make([]bool, len(n.args))
	for i, a := range n.args {
		if a.kind == nUnary && a.op == "-" {
			desc[i] = true
			a = a.left
		}
		f, err := cp.compile(a)
		if err != nil {
			return nil, err
		}
		args[i] = f
	}
	in := inputOf(left)
	return cp.wrap(n, func(c *evalCtx, focus Collection) (Collection, error) {
		input, err := in(c, focus)
		if err != nil {
			return nil, err
		}
		return sortItems(c, input, args, desc)
	}), nil
}

func sortItems(c *evalCtx, in Collection, args []evalFunc, desc []bool) (Collection, error) {
	if len(in) < 2 {
		return in, nil
	}
	type keyed struct {
		v    Value
		keys []Collection
	}
	items := make([]keyed, len(in))
	for i, it := range in {
		items[i].v = it
		for _, a := range args {
			k, err := withItem(c, a, it, i)
			if err != nil {
				return nil, err
			}
			items[i].keys = append(items[i].keys, k)
		}
	}
	var sortErr error
	cmp := func(a, b Value) int {
		r, known, err := compareItems(c, a, b)
		if err != nil && sortErr == nil {
			sortErr = err
		}
		if !known {
			return 0
		}
		return r
	}
	sort.SliceStable(items, func(i, j int) bool {
		if len(args) == 0 {
			return cmp(items[i].v, items[j].v) < 0
		}
		for k := range args {
			a, b := items[i].keys[k], items[j].keys[k]
			if len(a) == 0 || len(b) == 0 {
				if len(a) != len(b) {
					return len(a) == 0
				}
				continue
			}
			if r := cmp(a[0], b[0]); r != 0 {
				return (r < 0) != desc[k]
			}
		}
		return false
	})
	if sortErr != nil {
		return nil, sortErr
	}
	out := make(Collection, len(items))
	for i := range items {
		out[i] = items[i].v
	}
	return out, nil
}

func fnType(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	out := make(Collection, 0, len(in))
	for _, it := range in {
		tn := it.TypeName()
		ns, name, _ := strings.Cut(tn, ".")
		out = append(out, Value{v: map[string]any{"namespace": ns, "name": name}})
	}
	return out, nil
}

// ---- precision and boundaries ----

func temporalDigits(t *temporal) int {
	if t.kind == kTime {
		return [...]int{0, 0, 0, 0, 2, 4, 6, 9}[t.prec]
	}
	return [...]int{0, 4, 6, 8, 10, 12, 14, 17}[t.prec]
}

func precFromDigits(kind tkind, n int64) (uint8, bool) {
	if kind == kTime {
		switch n {
		case 2:
			return pHour, true
		case 4:
			return pMinute, true
		case 6:
			return pSecond, true
		case 9:
			return pMilli, true
		}
		return 0, false
	}
	switch n {
	case 4:
		return pYear, true
	case 6:
		return pMonth, true
	case 8:
		return pDay, true
	case 10:
		return pHour, true
	case 12:
		return pMinute, true
	case 14:
		return pSecond, true
	case 17:
		return pMilli, true
	}
	return 0, false
}

func fnPrecision(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	v, ok, err := single(in, "precision")
	if err != nil || !ok {
		return nil, err
	}
	s, ok := system(v)
	if !ok {
		return nil, nil
	}
	switch x := s.v.(type) {
	case *decimal:
		return Collection{intValue(int64(x.scale))}, nil
	case int64:
		return Collection{intValue(0)}, nil
	case *temporal:
		return Collection{intValue(int64(temporalDigits(x)))}, nil
	}
	return nil, nil
}

func fnBoundary(high bool) funcImpl {
	return func(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
		v, ok, err := single(in, "boundary")
		if err != nil || !ok {
			return nil, err
		}
		var prec int64 = noPrecision
		if len(args) == 1 {
			p, ok, err := intArg(c, args[0], focus)
			if err != nil || !ok {
				return nil, err
			}
			prec = p
		}
		s, ok := system(v)
		if !ok {
			if q, ok := asQuantity(v); ok {
				s = Value{v: q}
			} else {
				return nil, nil
			}
		}
		switch x := s.v.(type) {
		case int64:
			d, ok := decBoundary(decimalFromInt(x), prec, high)
			if !ok {
				return nil, nil
			}
			return Collection{decimalValue(d)}, nil
		case *decimal:
			d, ok := decBoundary(x, prec, high)
			if !ok {
				return nil, nil
			}
			return Collection{decimalValue(d)}, nil
		case *quantity:
			d, ok := decBoundary(x.val, prec, high)
			if !ok {
				return nil, nil
			}
			return Collection{{v: &quantity{val: d, unit: x.unit}}}, nil
		case *temporal:
			t, ok := temporalBoundary(x, prec, high)
			if !ok {
				return nil, nil
			}
			return Collection{temporalValue(t)}, nil
		}
		return nil, nil
	}
}

const noPrecision = -1 << 40

func decBoundary(d *decimal, prec int64, high bool) (*decimal, bool) {
	if prec == noPrecision {
		prec = divScale
	}
	if prec < 0 {
		return nil, false
	}
	if prec > 31 {
		return nil, false
	}
	// half a unit in the last written place
	half := &decimal{u: decimalFromInt(5).u, scale: d.scale + 1}
	var b *decimal
	if high {
		b = d.add(half)
	} else {
		b = d.sub(half)
	}
	p := int32(prec)
	if b.abs().cmp(&decimal{u: decimalFromInt(1).u, scale: p}) < 0 && d.abs().cmp(&decimal{u: decimalFromInt(1).u, scale: p}) < 0 {
		// the value vanishes at this precision: a signed zero
		return &decimal{u: decimalFromInt(0).u, scale: p, negZero: d.sign() < 0}, true
	}
	if p >= b.scale {
		return &decimal{u: b.rescale(p), scale: p}, true
	}
	// round toward the boundary's side
	t := b.truncate(p)
	if high && b.cmp(t) > 0 {
		t = t.add(&decimal{u: decimalFromInt(1).u, scale: p})
	}
	if !high && b.cmp(t) < 0 {
		t = t.sub(&decimal{u: decimalFromInt(1).u, scale: p})
	}
	return t, true
}

func temporalBoundary(t *temporal, prec int64, high bool) (*temporal, bool) {
	if prec == noPrecision {
		if t.kind == kTime {
			prec = 9
		} else if t.kind == kDate {
			prec = 8
		} else {
			prec = 17
		}
	}
	p, ok := precFromDigits(t.kind, prec)
	if !ok {
		return nil, false
	}
	if t.kind == kDate && p > pDay {
		return nil, false
	}
	r := *t
	from := t.prec
	if t.kind == kDateTime && from == pHour && p > pHour {
		// "T08" is not a FHIR time: it means 08:00
		from = pMinute
	}
	// fill the missing components
	for lvl := from + 1; lvl <= p; lvl++ {
		switch lvl {
		case pMonth:
			r.mo = 1
			if high {
				r.mo = 12
			}
		case pDay:
			r.d = 1
			if high {
				r.d = daysIn(r.y, r.mo)
			}
		case pHour:
			r.h = 0
			if high {
				r.h = 23
			}
		case pMinute:
			r.mi = 0
			if high {
				r.mi = 59
			}
		case pSecond:
			r.s = 0
			if high {
				r.s = 59
			}
		case pMilli:
			r.ns = 0
			if high {
				r.ns = 999000000
			}
			r.fdig = 3
		}
	}
	if t.prec == pMilli && p == pMilli {
		r.fdig = 3
	}
	r.prec = p
	r.clearBeyondPrecision()
	if r.kind == kDateTime && p >= pHour && !t.hasTZ {
		r.hasTZ = true
		if high {
			r.tzOff = -12 * 3600
		} else {
			r.tzOff = 14 * 3600
		}
	}
	if p < pHour {
		r.hasTZ, r.tzOff = false, 0
	}
	return &r, true
}

func fnComparable(c *evalCtx, in Collection, args []evalFunc, focus Collection) (Collection, error) {
	v, ok, err := single(in, "comparable")
	if err != nil || !ok {
		return nil, err
	}
	o, err := evalArg(c, args[0], focus)
	if err != nil {
		return nil, err
	}
	w, ok, err := single(o, "comparable")
	if err != nil || !ok {
		return nil, err
	}
	a, ok1 := asQuantity(v)
	b, ok2 := asQuantity(w)
	if !ok1 || !ok2 {
		return nil, execErr("comparable() expects quantities")
	}
	_, _, cmpOK := quantityRats(a, b)
	return boolColl(cmpOK), nil
}

// ---- date and time components (FHIRPath 3.0: yearOf … timeOf) ----

// componentOf returns the component at precision level lvl of a Date,
// DateTime or Time, or empty when the value is less precise.
func componentOf(lvl uint8) funcImpl {
	return func(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
		v, ok, err := single(in, "component")
		if err != nil || !ok {
			return nil, err
		}
		s, ok := system(v)
		t, isT := s.v.(*temporal)
		if !ok || !isT {
			return nil, execErr("expected a Date, DateTime or Time, got %s", v.TypeName())
		}
		if t.kind == kTime && lvl < pHour || t.kind == kDate && lvl > pDay || t.prec < lvl && !(lvl == pMilli && t.prec == pSecond) {
			return nil, nil
		}
		var n int
		switch lvl {
		case pYear:
			n = t.y
		case pMonth:
			n = t.mo
		case pDay:
			n = t.d
		case pHour:
			n = t.h
		case pMinute:
			n = t.mi
		case pSecond:
			n = t.s
		case pMilli:
			n = t.ns / 1e6
		}
		return Collection{intValue(int64(n))}, nil
	}
}

func fnTimezoneOffsetOf(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	v, ok, err := single(in, "timezoneOffsetOf")
	if err != nil || !ok {
		return nil, err
	}
	s, _ := system(v)
	t, isT := s.v.(*temporal)
	if !isT || t.kind != kDateTime {
		return nil, execErr("timezoneOffsetOf() expects a DateTime, got %s", v.TypeName())
	}
	if !t.hasTZ {
		return nil, nil
	}
	d := (&decimal{u: decimalFromInt(int64(t.tzOff)).u}).div(decimalFromInt(3600))
	return Collection{decimalValue(d)}, nil
}

func fnDateOf(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	v, ok, err := single(in, "dateOf")
	if err != nil || !ok {
		return nil, err
	}
	d, ok := convDate(v)
	if !ok {
		return nil, execErr("dateOf() expects a Date or DateTime, got %s", v.TypeName())
	}
	return Collection{d}, nil
}

func fnTimeOf(_ *evalCtx, in Collection, _ []evalFunc, _ Collection) (Collection, error) {
	v, ok, err := single(in, "timeOf")
	if err != nil || !ok {
		return nil, err
	}
	s, _ := system(v)
	t, isT := s.v.(*temporal)
	if !isT || t.kind != kDateTime {
		return nil, execErr("timeOf() expects a DateTime, got %s", v.TypeName())
	}
	if t.prec < pHour {
		return nil, nil
	}
	r := &temporal{kind: kTime, prec: t.prec, fdig: t.fdig, h: t.h, mi: t.mi, s: t.s, ns: t.ns, mo: 1, d: 1}
	return Collection{temporalValue(r)}, nil
}
