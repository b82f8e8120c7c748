package search

import (
	"math"
	"net/url"
	"testing"

	"github.com/xietong/xietong/store"
)

func TestCanonicalUnit(t *testing.T) {
	cases := []struct {
		name, code string
		value      float64
		canon      string
		want       float64
		ok         bool
	}{
		{"mg/dL to g/L", "mg/dL", 95, "g/L", 0.95, true},
		{"g/dL to g/L", "g/dL", 13.5, "g/L", 135, true},
		{"mmol/L stays molar", "mmol/L", 5.2, "mol/L", 0.0052, true},
		{"kg to g", "kg", 70, "g", 70000, true},
		{"pound to g", "[lb_av]", 1, "g", 453.59237, true},
		{"cm to m", "cm", 180, "m", 1.8, true},
		{"day to s", "d", 2, "s", 172800, true},
		{"percent to one", "%", 45, "1", 0.45, true},
		{"Celsius to kelvin", "Cel", 37, "K", 310.15, true},
		{"Fahrenheit to kelvin", "[degF]", 98.6, "K", 310.15, true},
		{"mm[Hg] to Pa", "mm[Hg]", 120, "Pa", 15998.6864898, true},
		{"cells", "10*3/uL", 6.5, "/L", 6.5e9, true},
		{"unknown", "mg/{total}", 1, "", 0, false},
		{"unit text is not a code", "milligram", 1, "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			canon, v, ok := CanonicalUnit(c.code, c.value)
			if ok != c.ok || canon != c.canon || math.Abs(v-c.want) > 1e-9*math.Max(1, math.Abs(c.want)) {
				t.Errorf("CanonicalUnit(%q, %v) = %q, %v, %v; want %q, %v, %v", c.code, c.value, canon, v, ok, c.canon, c.want, c.ok)
			}
		})
	}
}

func TestQuantityIndexAndParseCanonical(t *testing.T) {
	x := &store.Index{}
	addQuantityEntry(x, "value-quantity", map[string]any{"value": jsonNumber("95"), "system": UCUMSystem, "code": "mg/dL", "unit": "mg/dL"}, true)
	addQuantityEntry(x, "value-quantity", map[string]any{"value": jsonNumber("95"), "system": "http://example.org", "code": "mg/dL"}, true)
	addQuantityEntry(x, "value-quantity", map[string]any{"value": jsonNumber("95"), "unit": "mg/dL"}, true)
	if len(x.Quantities) != 3 {
		t.Fatalf("entries: %+v", x.Quantities)
	}
	if e := x.Quantities[0]; e.CanonicalCode != "g/L" || math.Abs(e.CanonicalLow-0.95) > 1e-12 || e.CanonicalHigh != e.CanonicalLow || e.Code != "mg/dL" || e.Low != 95 {
		t.Errorf("UCUM entry: %+v", e)
	}
	for _, e := range x.Quantities[1:] {
		if e.CanonicalCode != "" {
			t.Errorf("non-UCUM entry has a canonical unit: %+v", e)
		}
	}

	cases := []struct {
		name, q   string
		canonical bool
		code      string
		lo, hi    float64
	}{
		{"UCUM eq", "value-quantity=0.095|http://unitsofmeasure.org|g/dL", true, "g/L", 0.945, 0.955},
		{"UCUM gt", "value-quantity=gt100|http://unitsofmeasure.org|mg/dL", true, "g/L", 1, 1},
		{"no system", "value-quantity=100||mg/dL", false, "mg/dL", 99.5, 100.5},
		{"other system", "value-quantity=100|http://example.org|mg/dL", false, "mg/dL", 99.5, 100.5},
		{"unknown unit", "value-quantity=100|http://unitsofmeasure.org|mg/{total}", false, "mg/{total}", 99.5, 100.5},
		{"ap on a temperature", "value-quantity=ap37|http://unitsofmeasure.org|Cel", false, "Cel", 36.5, 37.5},
		{"ge on a temperature", "value-quantity=ge37|http://unitsofmeasure.org|Cel", true, "K", 310.15, 310.15},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := url.ParseQuery(c.q)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Parse("Observation", v, Options{Strict: true})
			if err != nil {
				t.Fatal(err)
			}
			p := r.Query.Where[0][0]
			if p.Canonical != c.canonical || p.Code != c.code || math.Abs(p.NumLow-c.lo) > 1e-9 || math.Abs(p.NumHigh-c.hi) > 1e-9 {
				t.Errorf("%s: %+v", c.q, p)
			}
		})
	}
}
