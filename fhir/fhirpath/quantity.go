package fhirpath

import (
	"math/big"
	"strings"
)

// quantity is a FHIRPath System.Quantity. unit is a UCUM code or one of the
// calendar duration keywords (year, month, week, day, hour, minute, second,
// millisecond), which are kept distinct from UCUM codes as the
// specification requires for display and year/month comparison.
type quantity struct {
	val  *decimal
	unit string
}

func newQuantity(num Value, unit string) (Value, bool) {
	d, ok := toDecimal(num)
	if !ok {
		return Value{}, false
	}
	if unit == "" {
		unit = "1"
	}
	return Value{v: &quantity{val: d, unit: unit}}, true
}

func isCalendarUnit(u string) bool {
	switch u {
	case "year", "month", "week", "day", "hour", "minute", "second", "millisecond":
		return true
	}
	return false
}

func (q *quantity) String() string {
	if isCalendarUnit(q.unit) {
		s := q.val.String() + " " + q.unit
		if q.val.cmp(decimalFromInt(1)) != 0 {
			s += "s"
		}
		return s
	}
	return q.val.String() + " '" + q.unit + "'"
}

// calendarToUCUM maps the definite-duration calendar keywords to UCUM.
var calendarToUCUM = map[string]string{
	"week": "wk", "day": "d", "hour": "h", "minute": "min", "second": "s", "millisecond": "ms",
}

// ucumToCalendar maps UCUM time units accepted in date arithmetic.
var ucumToCalendar = map[string]string{
	"wk": "week", "d": "day", "h": "hour", "min": "minute", "s": "second", "ms": "millisecond",
}

// ---- UCUM ----

type dims [8]int8 // m s g rad K C cd mol

type ucumUnit struct {
	factor *big.Rat
	dim    dims
	// special units (temperature scales, arbitrary units) only compare with
	// themselves.
	special bool
}

type atomDef struct {
	factor string // rational or decimal text
	unit   string // definition in other units ("" for base)
	base   int    // index in dims for base units, -1 otherwise
	metric bool
	spec   bool
}

var ucumAtoms = map[string]atomDef{
	"m": {base: 0, metric: true}, "s": {base: 1, metric: true}, "g": {base: 2, metric: true},
	"rad": {base: 3, metric: true}, "K": {base: 4, metric: true}, "C": {base: 5, metric: true},
	"cd": {base: 6, metric: true}, "mol": {base: 7, metric: true},
	"1":   {factor: "1", base: -1},
	"10*": {factor: "10", base: -1}, "10^": {factor: "10", base: -1},
	"%": {factor: "1/100", base: -1}, "[ppth]": {factor: "1/1000", base: -1},
	"[ppm]": {factor: "1/1000000", base: -1}, "[ppb]": {factor: "1/1000000000", base: -1},
	"[pi]": {factor: "3.1415926535897932384626433832795028841971693993751058209749445923", base: -1},
	"l":    {factor: "1", unit: "dm3", base: -1, metric: true}, "L": {factor: "1", unit: "dm3", base: -1, metric: true},
	"min": {factor: "60", unit: "s", base: -1}, "h": {factor: "3600", unit: "s", base: -1},
	"d": {factor: "86400", unit: "s", base: -1}, "wk": {factor: "604800", unit: "s", base: -1},
	"mo": {factor: "2629800", unit: "s", base: -1}, "a": {factor: "31557600", unit: "s", base: -1},
	"a_j": {factor: "31557600", unit: "s", base: -1}, "mo_j": {factor: "2629800", unit: "s", base: -1},
	"a_g": {factor: "31556952", unit: "s", base: -1}, "mo_g": {factor: "2629746", unit: "s", base: -1},
	"t":      {factor: "1000000", unit: "g", base: -1, metric: true},
	"Hz":     {factor: "1", unit: "/s", base: -1, metric: true},
	"N":      {factor: "1000", unit: "g.m/s2", base: -1, metric: true},
	"Pa":     {factor: "1", unit: "N/m2", base: -1, metric: true},
	"J":      {factor: "1", unit: "N.m", base: -1, metric: true},
	"W":      {factor: "1", unit: "J/s", base: -1, metric: true},
	"A":      {factor: "1", unit: "C/s", base: -1, metric: true},
	"V":      {factor: "1", unit: "J/C", base: -1, metric: true},
	"Ohm":    {factor: "1", unit: "V/A", base: -1, metric: true},
	"S":      {factor: "1", unit: "A/V", base: -1, metric: true},
	"F":      {factor: "1", unit: "C/V", base: -1, metric: true},
	"Wb":     {factor: "1", unit: "V.s", base: -1, metric: true},
	"T":      {factor: "1", unit: "Wb/m2", base: -1, metric: true},
	"H":      {factor: "1", unit: "Wb/A", base: -1, metric: true},
	"Bq":     {factor: "1", unit: "/s", base: -1, metric: true},
	"Gy":     {factor: "1", unit: "J/kg", base: -1, metric: true},
	"Sv":     {factor: "1", unit: "J/kg", base: -1, metric: true},
	"Ci":     {factor: "37000000000", unit: "Bq", base: -1, metric: true},
	"kat":    {factor: "1", unit: "mol/s", base: -1, metric: true},
	"U":      {factor: "1", unit: "umol/min", base: -1, metric: true},
	"eq":     {factor: "1", unit: "mol", base: -1, metric: true},
	"osm":    {factor: "1", unit: "mol", base: -1, metric: true},
	"bar":    {factor: "100000", unit: "Pa", base: -1, metric: true},
	"atm":    {factor: "101325", unit: "Pa", base: -1},
	"cal":    {factor: "4.184", unit: "J", base: -1, metric: true},
	"[Cal]":  {factor: "4184", unit: "J", base: -1},
	"m[Hg]":  {factor: "133322", unit: "Pa", base: -1, metric: true},
	"m[H2O]": {factor: "9806.65", unit: "Pa", base: -1, metric: true},
	"[in_i]": {factor: "0.0254", unit: "m", base: -1}, "[ft_i]": {factor: "0.3048", unit: "m", base: -1},
	"[yd_i]": {factor: "0.9144", unit: "m", base: -1}, "[mi_i]": {factor: "1609.344", unit: "m", base: -1},
	"[nmi_i]": {factor: "1852", unit: "m", base: -1},
	"[lb_av]": {factor: "453.59237", unit: "g", base: -1}, "[oz_av]": {factor: "28.349523125", unit: "g", base: -1},
	"[gr]": {factor: "0.06479891", unit: "g", base: -1}, "[ston_av]": {factor: "6350.29318", unit: "g", base: -1},
	"[gal_us]": {factor: "3.785411784", unit: "l", base: -1}, "[qt_us]": {factor: "0.946352946", unit: "l", base: -1},
	"[pt_us]": {factor: "0.473176473", unit: "l", base: -1}, "[foz_us]": {factor: "0.0295735295625", unit: "l", base: -1},
	"[cup_us]": {factor: "0.2365882365", unit: "l", base: -1}, "[tsp_us]": {factor: "0.00492892159375", unit: "l", base: -1},
	"[tbs_us]": {factor: "0.01478676478125", unit: "l", base: -1}, "[drp]": {factor: "0.00005", unit: "l", base: -1},
	"deg": {factor: "0.017453292519943295769236907684886127134428718885417254560971914", unit: "rad", base: -1},
	"Cel": {base: -1, spec: true, metric: true}, "[degF]": {base: -1, spec: true},
	"[iU]": {base: -1, spec: true, metric: true}, "[IU]": {base: -1, spec: true, metric: true},
	"[arb'U]": {base: -1, spec: true},
	"[pH]":    {base: -1, spec: true},
}

var ucumPrefixes = map[string]string{
	"Y": "1e24", "Z": "1e21", "E": "1e18", "P": "1e15", "T": "1e12", "G": "1e9", "M": "1e6",
	"k": "1e3", "h": "1e2", "da": "1e1", "d": "1e-1", "c": "1e-2", "m": "1e-3", "u": "1e-6",
	"n": "1e-9", "p": "1e-12", "f": "1e-15", "a": "1e-18", "z": "1e-21", "y": "1e-24",
}

var ucumCache boundedCache // unit string -> *ucumUnit, or ucumInvalid

var ucumInvalid = &ucumUnit{}

func ratFrom(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return new(big.Rat).SetInt64(1)
	}
	return r
}

// ucumParse returns the canonical form of a UCUM unit, or nil if the unit
// is not understood.
func ucumParse(unit string) *ucumUnit {
	if c, ok := ucumCache.load(unit); ok {
		if c == ucumInvalid {
			return nil
		}
		return c.(*ucumUnit)
	}
	p := &ucumParser{s: unit}
	u, ok := p.term(0)
	if !ok || p.i != len(p.s) {
		u = nil
	}
	if u == nil {
		ucumCache.store(unit, ucumInvalid)
	} else {
		ucumCache.store(unit, u)
	}
	return u
}

type ucumParser struct {
	s string
	i int
}

func mulUnit(a, b *ucumUnit, exp int) *ucumUnit {
	r := &ucumUnit{factor: new(big.Rat).Set(a.factor), dim: a.dim, special: a.special || b.special}
	f := new(big.Rat).Set(b.factor)
	n := exp
	if n < 0 {
		n = -n
	}
	for i := 0; i < n; i++ {
		if exp > 0 {
			r.factor.Mul(r.factor, f)
		} else {
			if f.Sign() == 0 {
				return r
			}
			r.factor.Quo(r.factor, f)
		}
	}
	for i := range r.dim {
		r.dim[i] += b.dim[i] * int8(exp)
	}
	return r
}

func one() *ucumUnit { return &ucumUnit{factor: new(big.Rat).SetInt64(1)} }

func (p *ucumParser) term(depth int) (*ucumUnit, bool) {
	if depth > 20 {
		return nil, false
	}
	acc := one()
	op := 1
	if p.i < len(p.s) && p.s[p.i] == '/' {
		op = -1
		p.i++
	}
	for {
		c, ok := p.component(depth)
		if !ok {
			return nil, false
		}
		acc = mulUnit(acc, c, op)
		if p.i >= len(p.s) || p.s[p.i] == ')' {
			return acc, true
		}
		switch p.s[p.i] {
		case '.':
			op = 1
		case '/':
			op = -1
		default:
			return nil, false
		}
		p.i++
	}
}

func (p *ucumParser) component(depth int) (*ucumUnit, bool) {
	if p.i >= len(p.s) {
		return nil, false
	}
	if p.s[p.i] == '(' {
		p.i++
		u, ok := p.term(depth + 1)
		if !ok || p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, false
		}
		p.i++
		p.skipAnnotation()
		return u, true
	}
	if p.s[p.i] == '{' {
		if !p.skipAnnotation() {
			return nil, false
		}
		return one(), true
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '[' {
			j := strings.IndexByte(p.s[p.i:], ']')
			if j < 0 {
				return nil, false
			}
			p.i += j + 1
			continue
		}
		if c == '.' || c == '/' || c == '(' || c == ')' || c == '{' {
			break
		}
		p.i++
	}
	sym := p.s[start:p.i]
	if !p.skipAnnotation() {
		return nil, false
	}
	if sym == "" {
		return nil, false
	}
	// a pure number is a factor
	allDigits := true
	for i := 0; i < len(sym); i++ {
		if !isDigit(sym[i]) {
			allDigits = false
			break
		}
	}
	if allDigits {
		return &ucumUnit{factor: ratFrom(sym)}, true
	}
	// split a trailing exponent: "m2", "s-1", "10*3"
	j := len(sym)
	for j > 0 && isDigit(sym[j-1]) {
		j--
	}
	if j > 0 && j < len(sym) {
		k := j
		if sym[k-1] == '-' || sym[k-1] == '+' {
			k--
		}
		if base := sym[:k]; base != "" {
			n, _ := atoiN(sym[j:])
			if sym[k] == '-' {
				n = -n
			}
			if u := atomUnit(base); u != nil {
				return mulUnit(one(), u, n), true
			}
		}
	}
	if u := atomUnit(sym); u != nil {
		return u, true
	}
	return nil, false
}

func (p *ucumParser) skipAnnotation() bool {
	if p.i < len(p.s) && p.s[p.i] == '{' {
		j := strings.IndexByte(p.s[p.i:], '}')
		if j < 0 {
			return false
		}
		p.i += j + 1
	}
	return true
}

var atomUnitCache boundedCache

// atomUnit resolves a (possibly prefixed) unit atom.
func atomUnit(sym string) *ucumUnit {
	if c, ok := atomUnitCache.load(sym); ok {
		if c == ucumInvalid {
			return nil
		}
		return c.(*ucumUnit)
	}
	u := resolveAtom(sym, 0)
	if u == nil {
		atomUnitCache.store(sym, ucumInvalid)
	} else {
		atomUnitCache.store(sym, u)
	}
	return u
}

func resolveAtom(sym string, depth int) *ucumUnit {
	if depth > 10 {
		return nil
	}
	if a, ok := ucumAtoms[sym]; ok {
		return atomToUnit(sym, a, depth)
	}
	for _, pl := range []int{2, 1} {
		if len(sym) <= pl {
			continue
		}
		pf, ok := ucumPrefixes[sym[:pl]]
		if !ok {
			continue
		}
		a, ok := ucumAtoms[sym[pl:]]
		if !ok || !a.metric {
			continue
		}
		u := atomToUnit(sym[pl:], a, depth)
		if u == nil {
			return nil
		}
		r := &ucumUnit{factor: new(big.Rat).Mul(u.factor, ratFrom(pf)), dim: u.dim, special: u.special}
		if u.special {
			// keep prefixed special units distinct
			r.dim[0] = 100
		}
		return r
	}
	return nil
}

func atomToUnit(sym string, a atomDef, depth int) *ucumUnit {
	if a.spec {
		// distinct pseudo-dimension per special unit
		h := int8(0)
		for i := 0; i < len(sym); i++ {
			h = h*31 + int8(sym[i])
		}
		return &ucumUnit{factor: new(big.Rat).SetInt64(1), dim: dims{h, 99, 99, 99, 99, 99, 99, 99}, special: true}
	}
	if a.base >= 0 {
		u := one()
		u.dim[a.base] = 1
		return u
	}
	f := ratFrom(a.factor)
	if a.unit == "" {
		return &ucumUnit{factor: f}
	}
	p := &ucumParser{s: a.unit}
	u, ok := p.term(depth + 1)
	if !ok {
		return nil
	}
	return mulUnit(&ucumUnit{factor: f}, u, 1)
}

func isYM(u string) bool { return u == "year" || u == "month" }

func decimalRat(d *decimal) *big.Rat {
	return new(big.Rat).SetFrac(d.u, pow10(d.scale))
}

// canonicalUnit maps a quantity's unit to UCUM (calendar keywords that have
// definite durations become their UCUM equivalents).
func canonicalUnit(u string) string {
	if c, ok := calendarToUCUM[u]; ok {
		return c
	}
	return u
}

// quantityRats converts two quantities to comparable rationals in base
// units. ok is false if their units are not comparable.
func quantityRats(a, b *quantity) (*big.Rat, *big.Rat, bool) {
	if a.unit == b.unit {
		return decimalRat(a.val), decimalRat(b.val), true
	}
	// calendar years and months compare only with each other
	if isYM(a.unit) || isYM(b.unit) {
		if !isYM(a.unit) || !isYM(b.unit) {
			return nil, nil, false
		}
		ra, rb := decimalRat(a.val), decimalRat(b.val)
		if a.unit == "year" {
			ra.Mul(ra, big.NewRat(12, 1))
		}
		if b.unit == "year" {
			rb.Mul(rb, big.NewRat(12, 1))
		}
		return ra, rb, true
	}
	ua, ub := ucumParse(canonicalUnit(a.unit)), ucumParse(canonicalUnit(b.unit))
	if ua == nil || ub == nil || ua.dim != ub.dim {
		return nil, nil, false
	}
	if ua.special || ub.special {
		if canonicalUnit(a.unit) != canonicalUnit(b.unit) {
			return nil, nil, false
		}
	}
	ra := new(big.Rat).Mul(decimalRat(a.val), ua.factor)
	rb := new(big.Rat).Mul(decimalRat(b.val), ub.factor)
	return ra, rb, true
}

// convertQuantity expresses q in unit to (as a decimal with enough places).
func convertQuantity(q *quantity, to string) (*decimal, bool) {
	if q.unit == to {
		return q.val, true
	}
	if isYM(q.unit) || isYM(to) {
		if q.unit == "year" && to == "month" {
			return q.val.mul(decimalFromInt(12)), true
		}
		if q.unit == "month" && to == "year" {
			return q.val.div(decimalFromInt(12)), true
		}
		return nil, false
	}
	ua, ub := ucumParse(canonicalUnit(q.unit)), ucumParse(canonicalUnit(to))
	if ua == nil || ub == nil || ua.dim != ub.dim || ua.special || ub.special {
		if ua != nil && ub != nil && canonicalUnit(q.unit) == canonicalUnit(to) {
			return q.val, true
		}
		return nil, false
	}
	r := new(big.Rat).Mul(decimalRat(q.val), ua.factor)
	r.Quo(r, ub.factor)
	return ratToDecimal(r, q.val.scale), true
}

// ratToDecimal renders r exactly when it terminates within a bounded number
// of places, else rounded to max(minScale, divScale) places.
func ratToDecimal(r *big.Rat, minScale int32) *decimal {
	for s := int32(0); s <= 30; s++ {
		n := new(big.Int).Mul(r.Num(), pow10(s))
		q, m := new(big.Int).QuoRem(n, r.Denom(), new(big.Int))
		if m.Sign() == 0 {
			d := &decimal{u: q, scale: s}
			if s < minScale {
				d = &decimal{u: d.rescale(minScale), scale: minScale}
			}
			return d
		}
	}
	sc := max(minScale, divScale)
	n := new(big.Int).Mul(r.Num(), pow10(sc+1))
	q := new(big.Int).Quo(n, r.Denom())
	return (&decimal{u: q, scale: sc + 1}).round(sc)
}

func compareQuantity(a, b *quantity) (int, bool) {
	ra, rb, ok := quantityRats(a, b)
	if !ok {
		return 0, false
	}
	return ra.Cmp(rb), true
}

func unitProduct(a, b string, div bool) string {
	if b == "1" {
		return a
	}
	a, b = canonicalUnit(a), canonicalUnit(b)
	wrap := func(s string) string {
		if strings.ContainsAny(s, "./") {
			return "(" + s + ")"
		}
		return s
	}
	if div {
		if a == "1" {
			return "/" + wrap(b)
		}
		return a + "/" + wrap(b)
	}
	if a == "1" {
		return b
	}
	return a + "." + b
}
