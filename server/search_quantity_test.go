package server_test

import (
	"fmt"
	"testing"
)

// TestSearchQuantityCanonical: quantities in UCUM units compare in the
// canonical unit of their dimension, on both stores; units of another
// dimension (mmol/L against mg/dL), other systems and ap on temperatures
// compare by the code as written.
func TestSearchQuantityCanonical(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		p := post(t, base, "Patient", `{"resourceType":"Patient","name":[{"family":"Q"}]}`)
		obs := func(value, system, code string) string {
			return post(t, base, "Observation", fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"text":"q"},"subject":{"reference":"Patient/%s"},
				"valueQuantity":{"value":%s,"unit":%q,"system":%q,"code":%q}}`, p, value, code, system, code))
		}
		const u = "http://unitsofmeasure.org"
		glu95, glu110, glu52 := obs("95", u, "mg/dL"), obs("1.1", u, "g/L"), obs("5.2", u, "mmol/L")
		kg70, g70000, lb150 := obs("70", u, "kg"), obs("70000", u, "g"), obs("150", u, "[lb_av]")
		cm180, m175 := obs("180", u, "cm"), obs("1.75", u, "m")
		cel, degf := obs("36.8", u, "Cel"), obs("98.6", u, "[degF]")
		min90, h2 := obs("90", u, "min"), obs("2", u, "h")
		pct := obs("45", u, "%")
		other := obs("100", "http://example.org/units", "mg")

		q := func(v string) string { return "Observation?value-quantity=" + v + "&_count=100" }
		cases := []struct {
			q    string
			want []string
		}{
			{q("gt1|" + u + "|g/L"), []string{glu110}},
			{q("lt100|" + u + "|mg/dL"), []string{glu95}},
			{q("ge100|" + u + "|mg/dL"), []string{glu110}},
			{q("0.095|" + u + "|g/dL"), []string{glu95}},
			{q("110|" + u + "|mg/dL"), []string{glu110}},
			{q("5200|" + u + "|umol/L"), []string{glu52}},
			{q("gt0|" + u + "|mmol/L"), []string{glu52}},
			{q("70|" + u + "|kg"), []string{kg70, g70000}},
			{q("lt69000|" + u + "|g"), []string{lb150}},
			{q("gt69|" + u + "|kg"), []string{kg70, g70000}},
			{q("gt1.77|" + u + "|m"), []string{cm180}},
			{q("lt1800|" + u + "|mm"), []string{m175}},
			{q("lt37.1|" + u + "|Cel"), []string{cel, degf}},
			{q("gt98.5|" + u + "|[degF]"), []string{degf}},
			{q("gt98|" + u + "|[degF]"), []string{cel, degf}},
			{q("ap37|" + u + "|Cel"), []string{cel}},
			{q("gt100|" + u + "|min"), []string{h2}},
			{q("ge1.5|" + u + "|h"), []string{min90, h2}},
			{q("0.45|" + u + "|1"), []string{pct}},
			{q("0.1|" + u + "|g"), nil},
			{q("100||mg"), []string{other}},
			{q("100|http://example.org/units|mg"), []string{other}},
			{q("gt100"), []string{g70000, lb150, cm180}},
		}
		for _, c := range cases {
			wantIDs(t, base, c.q, c.want...)
		}
	})
}
