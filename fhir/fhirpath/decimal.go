package fhirpath

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// decimal is an exact base-10 number: u × 10^-scale, scale ≥ 0. It keeps the
// number of decimal places written ("1.50" has scale 2), which FHIRPath uses
// for precision(), boundaries and equivalence.
type decimal struct {
	u     *big.Int
	scale int32
	// negZero renders a zero as "-0.0" (a boundary of a tiny negative
	// number); it does not affect arithmetic.
	negZero bool
}

// divScale is the number of decimal places kept by division and the
// transcendental functions; FHIRPath requires at least 8.
const divScale = 8

var bigTen = big.NewInt(10)

var pow10Cache = func() []*big.Int {
	c := make([]*big.Int, 40)
	p := big.NewInt(1)
	for i := range c {
		c[i] = new(big.Int).Set(p)
		p.Mul(p, bigTen)
	}
	return c
}()

func pow10(n int32) *big.Int {
	if n >= 0 && int(n) < len(pow10Cache) {
		return pow10Cache[n]
	}
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

// parseDecimal parses decimal text such as "-12.50" or JSON's "1e-3".
func parseDecimal(s string) (*decimal, bool) {
	if s == "" || len(s) > 400 {
		return nil, false
	}
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 300 || e < -300 {
			return nil, false
		}
		exp = e
		s = s[:i]
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i+1:]
		if frac == "" {
			return nil, false
		}
	}
	if intPart == "" {
		return nil, false
	}
	for _, p := range [2]string{intPart, frac} {
		for i := 0; i < len(p); i++ {
			if !isDigit(p[i]) {
				return nil, false
			}
		}
	}
	u, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return nil, false
	}
	if neg {
		u.Neg(u)
	}
	scale := int32(len(frac)) - int32(exp)
	if scale < 0 {
		u.Mul(u, pow10(-scale))
		scale = 0
	}
	return &decimal{u: u, scale: scale}, true
}

func decimalFromInt(n int64) *decimal { return &decimal{u: big.NewInt(n)} }

func decimalFromFloat(f float64, scale int32) (*decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, false
	}
	d, ok := parseDecimal(strconv.FormatFloat(f, 'f', int(scale), 64))
	if !ok {
		return nil, false
	}
	return d.trim(), true
}

func (d *decimal) String() string {
	s := d.u.String()
	if d.scale == 0 {
		return s
	}
	neg := d.negZero && d.u.Sign() == 0
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	if len(s) <= int(d.scale) {
		s = strings.Repeat("0", int(d.scale)-len(s)+1) + s
	}
	p := len(s) - int(d.scale)
	s = s[:p] + "." + s[p:]
	if neg {
		s = "-" + s
	}
	return s
}

func (d *decimal) float() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

func (d *decimal) rescale(scale int32) *big.Int {
	if scale == d.scale {
		return d.u
	}
	return new(big.Int).Mul(d.u, pow10(scale-d.scale))
}

func align(a, b *decimal) (*big.Int, *big.Int, int32) {
	s := max(a.scale, b.scale)
	return a.rescale(s), b.rescale(s), s
}

func (d *decimal) cmp(o *decimal) int {
	x, y, _ := align(d, o)
	return x.Cmp(y)
}

func (d *decimal) sign() int { return d.u.Sign() }

func (d *decimal) add(o *decimal) *decimal {
	x, y, s := align(d, o)
	return &decimal{u: new(big.Int).Add(x, y), scale: s}
}

func (d *decimal) sub(o *decimal) *decimal {
	x, y, s := align(d, o)
	return &decimal{u: new(big.Int).Sub(x, y), scale: s}
}

func (d *decimal) mul(o *decimal) *decimal {
	return &decimal{u: new(big.Int).Mul(d.u, o.u), scale: d.scale + o.scale}
}

func (d *decimal) neg() *decimal { return &decimal{u: new(big.Int).Neg(d.u), scale: d.scale} }

func (d *decimal) abs() *decimal { return &decimal{u: new(big.Int).Abs(d.u), scale: d.scale} }

// div divides with divScale places (rounded half away from zero), then drops
// trailing zeros; nil when o is zero.
func (d *decimal) div(o *decimal) *decimal {
	if o.u.Sign() == 0 {
		return nil
	}
	// d/o = (d.u / o.u) * 10^(o.scale - d.scale); compute with divScale+1 extra digits.
	shift := int32(divScale+1) + o.scale - d.scale
	num := new(big.Int).Set(d.u)
	den := new(big.Int).Set(o.u)
	if shift >= 0 {
		num.Mul(num, pow10(shift))
	} else {
		den.Mul(den, pow10(-shift))
	}
	q := new(big.Int).Quo(num, den)
	r := &decimal{u: q, scale: divScale + 1}
	return r.round(divScale).trim()
}

// divTrunc is integer division truncated toward zero.
func (d *decimal) divTrunc(o *decimal) (*big.Int, bool) {
	if o.u.Sign() == 0 {
		return nil, false
	}
	x, y, _ := align(d, o)
	return new(big.Int).Quo(x, y), true
}

func (d *decimal) mod(o *decimal) *decimal {
	if o.u.Sign() == 0 {
		return nil
	}
	x, y, s := align(d, o)
	return &decimal{u: new(big.Int).Rem(x, y), scale: s}
}

// round to n places, half away from zero.
func (d *decimal) round(n int32) *decimal {
	if n >= d.scale {
		return &decimal{u: d.rescale(n), scale: n}
	}
	p := pow10(d.scale - n)
	q, r := new(big.Int).QuoRem(d.u, p, new(big.Int))
	r2 := new(big.Int).Abs(r)
	r2.Mul(r2, big.NewInt(2))
	if r2.Cmp(p) >= 0 {
		if d.u.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return &decimal{u: q, scale: n}
}

// truncate toward zero to n places.
func (d *decimal) truncate(n int32) *decimal {
	if n >= d.scale {
		return d
	}
	return &decimal{u: new(big.Int).Quo(d.u, pow10(d.scale-n)), scale: n}
}

func (d *decimal) floor() *big.Int {
	if d.scale == 0 {
		return d.u
	}
	q, m := new(big.Int).DivMod(d.u, pow10(d.scale), new(big.Int))
	_ = m
	return q // DivMod is Euclidean: floor for positive divisor
}

func (d *decimal) ceil() *big.Int {
	f := d.floor()
	if d.scale == 0 {
		return f
	}
	if new(big.Int).Mul(f, pow10(d.scale)).Cmp(d.u) == 0 {
		return f
	}
	return new(big.Int).Add(f, big.NewInt(1))
}

// trim drops trailing fractional zeros.
func (d *decimal) trim() *decimal {
	if d.scale == 0 || d.u.Sign() == 0 {
		if d.u.Sign() == 0 {
			return &decimal{u: new(big.Int)}
		}
		return d
	}
	u := new(big.Int).Set(d.u)
	s := d.scale
	r := new(big.Int)
	q := new(big.Int)
	for s > 0 {
		q.QuoRem(u, bigTen, r)
		if r.Sign() != 0 {
			break
		}
		u.Set(q)
		s--
	}
	return &decimal{u: u, scale: s}
}
