package server_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestSearchComboParameters: Observation's combo-* parameters have no
// index entries of their own (search/unions.go, decision 022); every kind
// of search on one reads its parts' entries: the Observation's own code
// and value, or a component's. Both stores, the patient-key paths (one
// patient's Observations by a code, _has) and sorting included.
func TestSearchComboParameters(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		p := post(t, base, "Patient", `{"resourceType":"Patient","name":[{"family":"Zhao"}]}`)
		q := post(t, base, "Patient", `{"resourceType":"Patient","name":[{"family":"Qian"}]}`)
		obs := func(patient, code, rest string) string {
			return post(t, base, "Observation", fmt.Sprintf(`{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/%s"},`+
				`"code":{"coding":[{"system":"http://loinc.org","code":"%s"}]}%s}`, patient, code, rest))
		}
		// Its own code 1-1 and value 5 mg.
		own := obs(p, "1-1", `,"valueQuantity":{"value":5,"system":"http://unitsofmeasure.org","code":"mg"}`)
		// Code 2-2 with a component coded 1-1 of value 7 mg.
		comp := obs(q, "2-2", `,"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"1-1"}]},"valueQuantity":{"value":7,"system":"http://unitsofmeasure.org","code":"mg"}}]`)
		// Code 3-3, no value.
		none := obs(p, "3-3", "")

		for _, cs := range []struct {
			q    string
			want []string
		}{
			{"Observation?combo-code=1-1", []string{own, comp}},
			{"Observation?combo-code=http://loinc.org|1-1", []string{own, comp}},
			{"Observation?combo-code=2-2,3-3", []string{comp, none}},
			{"Observation?code=1-1", []string{own}},
			{"Observation?component-code=1-1", []string{comp}},
			{"Observation?combo-code:not=1-1", []string{none}},
			{"Observation?combo-code:missing=true", nil},
			{"Observation?combo-value-quantity=gt6", []string{comp}},
			{"Observation?combo-value-quantity=gt4||mg", []string{own, comp}},
			{"Observation?combo-value-quantity:missing=true", []string{none}},
			{"Observation?combo-code-value-quantity=1-1$gt6", []string{comp}},
			{"Observation?combo-code-value-quantity=1-1$lt6", []string{own}},
			{"Observation?patient=" + q + "&combo-code=1-1", []string{comp}},
			{"Observation?patient=Patient/" + p + "&combo-code=http://loinc.org|1-1", []string{own}},
			{"Observation?patient=" + p + "&combo-code=2-2", nil},
			{"Patient?_has:Observation:patient:combo-code=1-1", []string{p, q}},
			{"Patient?_has:Observation:patient:combo-code=2-2", []string{q}},
			{"Patient?_has:Observation:patient:combo-code=2-2,3-3", []string{p, q}},
			{"Patient?name=Zhao&_has:Observation:patient:combo-code=2-2", nil},
		} {
			wantIDs(t, base, cs.q, cs.want...)
		}
		// Sorted by the lowest code ascending, the highest descending.
		for _, cs := range []struct {
			q    string
			want []string
		}{
			{"Observation?_sort=combo-code", []string{own, comp, none}}, // 1-1, min(2-2, 1-1), 3-3: ties in row order
			{"Observation?_sort=-combo-code", []string{none, comp, own}},
			{"Observation?_sort=code", []string{own, comp, none}},
		} {
			r := do(t, "GET", base+"/"+cs.q, "", "").wantStatus(t, 200)
			var got []string
			for _, id := range ids(r, "match") {
				got = append(got, id[strings.Index(id, "/")+1:])
			}
			if !slices.Equal(got, cs.want) {
				t.Errorf("%s: got %v, want %v", cs.q, got, cs.want)
			}
		}
	})
}
