package server_test

import (
	"fmt"
	"testing"
)

// TestSearchHasPatient checks the reverse chains that the token entries'
// patient column answers (Patient?_has:T:patient:<token>=..., migration
// 0004) against the resources as written, updated and deleted, on both
// stores: only resources of the named type count, an update moves a
// resource to its new patient and code, a deletion removes it, and a
// resource pointing at several patients counts for each of them. The same
// question through subject (the general join) must agree.
func TestSearchHasPatient(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		pat := func(family, gender string) string {
			return post(t, base, "Patient", fmt.Sprintf(`{"resourceType":"Patient","name":[{"family":%q}],"gender":%q}`, family, gender))
		}
		a, b, c, d, e, f, g := pat("A", "female"), pat("B", "male"), pat("C", "female"), pat("D", "male"), pat("E", "female"), pat("F", "female"), pat("G", "male")
		obs := func(code, patient string) string {
			return fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":%q}]},"subject":{"reference":"Patient/%s"}}`, code, patient)
		}
		post(t, base, "Observation", obs("1-1", a))
		ob := post(t, base, "Observation", obs("1-1", b))
		do(t, "DELETE", base+"/Observation/"+ob, "", "").wantStatus(t, 204)
		// C has the code on a DiagnosticReport only.
		post(t, base, "DiagnosticReport", fmt.Sprintf(`{"resourceType":"DiagnosticReport","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1-1"}]},"subject":{"reference":"Patient/%s"}}`, c))
		// D's observation gets the code by an update; E's moves to A.
		od := post(t, base, "Observation", obs("2-2", d))
		do(t, "PUT", base+"/Observation/"+od, fj, `{"resourceType":"Observation","id":"`+od+`",`+obs("1-1", d)[len(`{"resourceType":"Observation",`):]).wantStatus(t, 200)
		oe := post(t, base, "Observation", obs("1-1", e))
		do(t, "PUT", base+"/Observation/"+oe, fj, `{"resourceType":"Observation","id":"`+oe+`",`+obs("1-1", a)[len(`{"resourceType":"Observation",`):]).wantStatus(t, 200)
		post(t, base, "Observation", obs("3-3", e))
		// One appointment for F and G (its patient parameter points at both).
		post(t, base, "Appointment", fmt.Sprintf(`{"resourceType":"Appointment","status":"booked","serviceType":[{"coding":[{"system":"urn:svc","code":"vac"}]}],
			"participant":[{"actor":{"reference":"Patient/%s"},"status":"accepted"},{"actor":{"reference":"Patient/%s"},"status":"accepted"}]}`, f, g))

		cases := []struct {
			q    string
			want []string
		}{
			{"Patient?_has:Observation:patient:code=http://loinc.org|1-1", []string{a, d}},
			{"Patient?_has:Observation:patient:code=1-1", []string{a, d}},
			{"Patient?_has:Observation:subject:code=1-1", []string{a, d}},
			{"Patient?_has:Observation:patient:code=http://loinc.org|1-1,3-3", []string{a, d, e}},
			{"Patient?_has:Observation:patient:code=2-2", nil},
			{"Patient?_has:Observation:patient:code=http://snomed.info/sct|1-1", nil},
			{"Patient?_has:DiagnosticReport:patient:code=1-1", []string{c}},
			{"Patient?_has:Appointment:patient:service-type=vac", []string{f, g}},
			{"Patient?_has:Appointment:patient:service-type=urn:svc|vac,zzz", []string{f, g}},
			// Driven by gender, the reverse chain a filter per patient.
			{"Patient?gender=female&_has:Observation:patient:code=1-1", []string{a}},
			{"Patient?gender=male&_has:Observation:patient:code=1-1", []string{d}},
			{"Patient?gender=male&_has:Appointment:patient:service-type=vac", []string{g}},
			{"Patient?gender=female&_has:Observation:patient:code=1-1,3-3", []string{a, e}},
			{"Patient?_has:Observation:patient:code=1-1&_has:Observation:patient:code=3-3", nil},
			{"Patient?_has:Observation:patient:code=1-1&_has:Appointment:patient:service-type=vac", nil},
		}
		for _, c := range cases {
			wantIDs(t, base, c.q, c.want...)
		}
	})
}
