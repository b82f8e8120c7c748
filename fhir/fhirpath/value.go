package fhirpath

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"sync"

	"github.com/xietong/xietong/fhir/model"
)

// Value is one item of a FHIRPath collection: either a node of the FHIR
// JSON tree (with its FHIR type) or a System value (Boolean, String,
// Integer, Decimal, Date, DateTime, Time, Quantity).
type Value struct {
	// v is map[string]any, string, json.Number or bool for FHIR nodes (nil
	// for a primitive that has only extensions), or one of bool, string,
	// int64, *decimal, *temporal, *quantity for System values.
	v any
	// t is the FHIR type; nil for System values and for JSON nodes whose
	// type is unknown.
	t *typeInfo
	// ext is the "_name" sibling object of a primitive (id, extension).
	ext map[string]any
}

// Collection is an ordered FHIRPath collection.
type Collection []Value

func boolValue(b bool) Value          { return Value{v: b} }
func stringValue(s string) Value      { return Value{v: s} }
func intValue(n int64) Value          { return Value{v: n} }
func decimalValue(d *decimal) Value   { return Value{v: d} }
func temporalValue(t *temporal) Value { return Value{v: t} }

var (
	trueColl  = Collection{{v: true}}
	falseColl = Collection{{v: false}}
)

func boolColl(b bool) Collection {
	if b {
		return trueColl
	}
	return falseColl
}

// TypeName returns the FHIRPath type of the value, qualified by namespace:
// "FHIR.HumanName", "FHIR.string", "System.Integer".
func (v Value) TypeName() string {
	if v.t != nil {
		if v.t.qualName != "" {
			return v.t.qualName
		}
		return "FHIR." + v.t.name
	}
	if m, ok := v.v.(map[string]any); ok {
		if rt, ok := m["resourceType"].(string); ok {
			return "FHIR." + rt
		}
		return "FHIR.Element"
	}
	if s := v.sysKind(); s != sysNone {
		return "System." + s.String()
	}
	return "System.Any"
}

// Interface returns the value as plain Go data: the JSON node for FHIR
// values, and for System values bool, string, int64, json.Number (Decimal),
// string (Date/DateTime/Time, as in FHIR JSON) or a map with value and unit
// (Quantity).
func (v Value) Interface() any {
	switch x := v.v.(type) {
	case *decimal:
		return json.Number(x.String())
	case *temporal:
		return x.String()
	case *quantity:
		m := map[string]any{"value": json.Number(x.val.String())}
		if isCalendarUnit(x.unit) {
			m["unit"] = x.unit
		} else {
			m["unit"] = x.unit
			m["system"] = "http://unitsofmeasure.org"
			m["code"] = x.unit
		}
		return m
	}
	return v.v
}

// String renders a primitive value as FHIRPath toString() does; complex
// values render as JSON.
func (v Value) String() string {
	if s, ok := toStringValue(v); ok {
		return s
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return ""
	}
	return string(b)
}

// HasValue reports whether a primitive has a value (it may carry only
// extensions).
func (v Value) HasValue() bool { return v.v != nil }

// sysKind is the System type the value is (or implicitly converts to).
func (v Value) sysKind() sysType {
	if v.t != nil {
		if v.t.kind == model.KindPrimitive {
			return v.t.sys
		}
		return sysNone
	}
	switch x := v.v.(type) {
	case bool:
		return sysBoolean
	case string:
		return sysString
	case int64:
		return sysInteger
	case *decimal:
		return sysDecimal
	case *temporal:
		switch x.kind {
		case kDate:
			return sysDate
		case kDateTime:
			return sysDateTime
		}
		return sysTime
	case *quantity:
		return sysQuantity
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			return sysDecimal
		}
		return sysInteger
	case float64, float32:
		return sysDecimal
	case int, int32:
		return sysInteger
	}
	return sysNone
}

// system converts a FHIR primitive (or an untyped JSON scalar) to its System
// value; System values are returned unchanged. ok is false for complex
// values and primitives without a value.
func system(v Value) (Value, bool) {
	if v.t == nil {
		switch x := v.v.(type) {
		case json.Number:
			if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return intValue(n), true
			}
			d, ok := parseDecimal(string(x))
			return decimalValue(d), ok
		case map[string]any, []any, nil:
			return Value{}, false
		case float64, float32, int, int32:
			// trees built by hand or decoded without UseNumber
			if c := toCollection(x); len(c) == 1 {
				return c[0], true
			}
			return Value{}, false
		}
		return v, true
	}
	if v.t.kind != model.KindPrimitive || v.v == nil {
		return Value{}, false
	}
	switch v.t.sys {
	case sysBoolean:
		if b, ok := v.v.(bool); ok {
			return boolValue(b), true
		}
	case sysString:
		if s, ok := v.v.(string); ok {
			return stringValue(s), true
		}
	case sysInteger:
		switch x := v.v.(type) {
		case json.Number:
			if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return intValue(n), true
			}
		case float64:
			return intValue(int64(x)), true
		case int:
			return intValue(int64(x)), true
		case int64:
			return intValue(x), true
		}
	case sysDecimal:
		switch x := v.v.(type) {
		case json.Number:
			d, ok := parseDecimal(string(x))
			return decimalValue(d), ok
		case float64:
			d, ok := decimalFromFloat(x, -1)
			return decimalValue(d), ok
		case int:
			return decimalValue(decimalFromInt(int64(x))), true
		case int64:
			return decimalValue(decimalFromInt(x)), true
		}
	case sysDate:
		if s, ok := v.v.(string); ok {
			return parseDateValue(s)
		}
	case sysDateTime:
		if s, ok := v.v.(string); ok {
			return parseDateTimeValue(s)
		}
	case sysTime:
		if s, ok := v.v.(string); ok {
			return parseTimeValue(s)
		}
	}
	return Value{}, false
}

// fhirQuantity converts a FHIR Quantity (or subtype) node to a System
// Quantity.
func fhirQuantity(v Value) (*quantity, bool) {
	m, ok := v.v.(map[string]any)
	if !ok {
		return nil, false
	}
	if v.t != nil && !v.t.isA("Quantity") {
		return nil, false
	}
	d, ok := toDecimal(Value{v: m["value"], t: decimalType()})
	if !ok {
		return nil, false
	}
	unit := "1"
	if c, ok := m["code"].(string); ok && c != "" {
		unit = c
	} else if u, ok := m["unit"].(string); ok && u != "" {
		unit = u
		switch u {
		case "years", "months", "weeks", "days", "hours", "minutes", "seconds", "milliseconds":
			unit = strings.TrimSuffix(u, "s")
		}
	}
	return &quantity{val: d, unit: unit}, true
}

var decimalTypeInfo *typeInfo
var decimalTypeOnce sync.Once

func decimalType() *typeInfo {
	decimalTypeOnce.Do(func() { decimalTypeInfo = fhirType("decimal") })
	return decimalTypeInfo
}

// asQuantity returns the System Quantity for a quantity value.
func asQuantity(v Value) (*quantity, bool) {
	if q, ok := v.v.(*quantity); ok {
		return q, true
	}
	return fhirQuantity(v)
}

func toDecimal(v Value) (*decimal, bool) {
	s, ok := system(v)
	if !ok {
		return nil, false
	}
	switch x := s.v.(type) {
	case int64:
		return decimalFromInt(x), true
	case *decimal:
		return x, true
	}
	return nil, false
}

func toStringValue(v Value) (string, bool) {
	s, ok := system(v)
	if !ok {
		if q, ok := asQuantity(v); ok {
			return q.String(), true
		}
		return "", false
	}
	switch x := s.v.(type) {
	case string:
		return x, true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	case int64:
		return strconv.FormatInt(x, 10), true
	case *decimal:
		return x.String(), true
	case *temporal:
		return x.String(), true
	case *quantity:
		return x.String(), true
	}
	return "", false
}

// ---- equality and equivalence ----

// eqResult is a three-valued boolean.
type eqResult int8

const (
	eqEmpty eqResult = iota
	eqFalse
	eqTrue
)

func eqOf(b bool) eqResult {
	if b {
		return eqTrue
	}
	return eqFalse
}

func (c *evalCtx) tzDefault() int {
	if c == nil {
		return 0
	}
	return c.defaultOff
}

// itemsEqual implements = for single items.
func itemsEqual(c *evalCtx, a, b Value) eqResult {
	ka, kb := a.sysKind(), b.sysKind()
	if ka == sysNone || kb == sysNone {
		qa, oka := asQuantity(a)
		qb, okb := asQuantity(b)
		if oka && okb {
			return quantityEqual(qa, qb)
		}
		ma, oka := a.v.(map[string]any)
		mb, okb := b.v.(map[string]any)
		if oka && okb {
			return eqOf(jsonEqual(ma, mb, false))
		}
		if a.v == nil && b.v == nil && a.ext != nil && b.ext != nil {
			return eqOf(jsonEqual(a.ext, b.ext, false))
		}
		return eqFalse
	}
	sa, oka := system(a)
	sb, okb := system(b)
	if !oka || !okb {
		return eqEmpty
	}
	switch x := sa.v.(type) {
	case bool:
		y, ok := sb.v.(bool)
		return eqOf(ok && x == y)
	case string:
		y, ok := sb.v.(string)
		return eqOf(ok && x == y)
	case int64:
		switch y := sb.v.(type) {
		case int64:
			return eqOf(x == y)
		case *decimal:
			return eqOf(decimalFromInt(x).cmp(y) == 0)
		case *quantity:
			return quantityEqual(&quantity{val: decimalFromInt(x), unit: "1"}, y)
		}
	case *decimal:
		switch y := sb.v.(type) {
		case int64:
			return eqOf(x.cmp(decimalFromInt(y)) == 0)
		case *decimal:
			return eqOf(x.cmp(y) == 0)
		case *quantity:
			return quantityEqual(&quantity{val: x, unit: "1"}, y)
		}
	case *temporal:
		if y, ok := sb.v.(*temporal); ok {
			if (x.kind == kTime) != (y.kind == kTime) {
				return eqFalse
			}
			r, known := compareTemporal(x, y, c.tzDefault())
			if !known {
				return eqEmpty
			}
			return eqOf(r == 0)
		}
	case *quantity:
		switch y := sb.v.(type) {
		case *quantity:
			return quantityEqual(x, y)
		case int64:
			return quantityEqual(x, &quantity{val: decimalFromInt(y), unit: "1"})
		case *decimal:
			return quantityEqual(x, &quantity{val: y, unit: "1"})
		}
	}
	return eqFalse
}

func quantityEqual(a, b *quantity) eqResult {
	r, ok := compareQuantity(a, b)
	if !ok {
		return eqEmpty
	}
	return eqOf(r == 0)
}

// jsonEqual compares two JSON trees (equivalent: strings case-insensitive).
func jsonEqual(a, b any, equiv bool) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return false
		}
		n := 0
		for k, xv := range x {
			if equiv && k == "id" {
				continue
			}
			n++
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv, equiv) {
				return false
			}
		}
		m := 0
		for k := range y {
			if equiv && k == "id" {
				continue
			}
			m++
		}
		return n == m
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i], equiv) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		if canonicalInt(string(x)) && canonicalInt(string(y)) {
			return false // different spellings of integers are different values
		}
		dx, ok1 := parseDecimal(string(x))
		dy, ok2 := parseDecimal(string(y))
		return ok1 && ok2 && dx.cmp(dy) == 0
	case string:
		y, ok := b.(string)
		if equiv {
			return ok && normalizeSpace(x) == normalizeSpace(y)
		}
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	return false
}

// canonicalInt reports whether s is an integer written the one way JSON
// writes it (no sign but "-", no leading zeros, no fraction or exponent).
func canonicalInt(s string) bool {
	if s == "" || s == "-" || s == "-0" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
	}
	if len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func normalizeSpace(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// itemsEquivalent implements ~ for single items.
func itemsEquivalent(c *evalCtx, a, b Value) bool {
	ka, kb := a.sysKind(), b.sysKind()
	if ka == sysNone || kb == sysNone {
		qa, oka := asQuantity(a)
		qb, okb := asQuantity(b)
		if oka && okb {
			return quantityEquivalent(qa, qb)
		}
		ma, oka := a.v.(map[string]any)
		mb, okb := b.v.(map[string]any)
		if oka && okb {
			return jsonEqual(ma, mb, true)
		}
		return false
	}
	sa, oka := system(a)
	sb, okb := system(b)
	if !oka || !okb {
		return !oka && !okb
	}
	switch x := sa.v.(type) {
	case bool:
		y, ok := sb.v.(bool)
		return ok && x == y
	case string:
		y, ok := sb.v.(string)
		return ok && normalizeSpace(x) == normalizeSpace(y)
	case int64, *decimal:
		dx, _ := toDecimal(sa)
		dy, ok := toDecimal(sb)
		if !ok {
			if q, ok := sb.v.(*quantity); ok {
				return quantityEquivalent(&quantity{val: dx, unit: "1"}, q)
			}
			return false
		}
		return decimalEquivalent(dx, dy)
	case *temporal:
		y, ok := sb.v.(*temporal)
		if !ok || (x.kind == kTime) != (y.kind == kTime) {
			return false
		}
		r, known := compareTemporal(x, y, c.tzDefault())
		return known && r == 0
	case *quantity:
		switch y := sb.v.(type) {
		case *quantity:
			return quantityEquivalent(x, y)
		case int64, *decimal:
			d, _ := toDecimal(sb)
			return quantityEquivalent(x, &quantity{val: d, unit: "1"})
		}
	}
	return false
}

func decimalEquivalent(x, y *decimal) bool {
	s := min(x.scale, y.scale)
	return x.round(s).cmp(y.round(s)) == 0
}

func quantityEquivalent(a, b *quantity) bool {
	if a.unit == b.unit || canonicalUnit(a.unit) == canonicalUnit(b.unit) {
		return decimalEquivalent(a.val, b.val)
	}
	// equivalence treats calendar years/months like their UCUM forms
	au, bu := a.unit, b.unit
	if au == "year" {
		au = "a"
	} else if au == "month" {
		au = "mo"
	}
	if bu == "year" {
		bu = "a"
	} else if bu == "month" {
		bu = "mo"
	}
	bv, ok := convertQuantity(&quantity{val: b.val, unit: bu}, au)
	if !ok {
		return false
	}
	return decimalEquivalent(a.val, bv)
}

// compareItems implements < > <= >= ordering. known is false when the
// result is empty (differing date precision, incomparable units);
// err is set for incompatible types.
func compareItems(c *evalCtx, a, b Value) (r int, known bool, err error) {
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
		return 0, false, execErr("cannot compare %s with %s", a.TypeName(), b.TypeName())
	}
	switch x := sa.v.(type) {
	case string:
		if y, ok := sb.v.(string); ok {
			return strings.Compare(x, y), true, nil
		}
	case int64:
		switch y := sb.v.(type) {
		case int64:
			return cmpInt(x, y), true, nil
		case *decimal:
			return decimalFromInt(x).cmp(y), true, nil
		case *quantity:
			r, ok := compareQuantity(&quantity{val: decimalFromInt(x), unit: "1"}, y)
			return r, ok, nil
		}
	case *decimal:
		switch y := sb.v.(type) {
		case int64:
			return x.cmp(decimalFromInt(y)), true, nil
		case *decimal:
			return x.cmp(y), true, nil
		case *quantity:
			r, ok := compareQuantity(&quantity{val: x, unit: "1"}, y)
			return r, ok, nil
		}
	case *temporal:
		if y, ok := sb.v.(*temporal); ok && (x.kind == kTime) == (y.kind == kTime) {
			r, known := compareTemporal(x, y, c.tzDefault())
			return r, known, nil
		}
	case *quantity:
		switch y := sb.v.(type) {
		case *quantity:
			r, ok := compareQuantity(x, y)
			return r, ok, nil
		case int64, *decimal:
			d, _ := toDecimal(sb)
			r, ok := compareQuantity(x, &quantity{val: d, unit: "1"})
			return r, ok, nil
		}
	}
	return 0, false, execErr("cannot compare %s with %s", a.TypeName(), b.TypeName())
}

func cmpInt(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func bigToValue(b *big.Int) (Value, bool) {
	if !b.IsInt64() {
		return Value{}, false
	}
	return intValue(b.Int64()), true
}

// NewValue wraps a node of a FHIR JSON tree with its FHIR type, so that an
// element other than a resource (a HumanName, a backbone element such as
// "Patient.contact", a primitive such as "date") can be evaluated over
// with type information: pass the Value to Expression.Evaluate. ext is the
// primitive's "_name" sibling object, or nil.
func NewValue(node any, typeName string, ext map[string]any) (Value, error) {
	t := fhirType(typeName)
	if t == nil {
		return Value{}, &Error{Kind: SemanticError, Msg: "unknown FHIR type " + strconv.Quote(typeName), Offset: -1}
	}
	if t.abstract {
		if m, ok := node.(map[string]any); ok {
			return jsonValue(m, t), nil
		}
	}
	return Value{v: node, t: t, ext: ext}, nil
}
