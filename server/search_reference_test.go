package server_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestSearchReferenceEntriesTyped checks the searches whose matches are
// read from the reference entries alone since migration 0007 (the type of
// the resource holding each entry; decision 019): a reference to a given
// target and a chain, with their totals on every page, against resources
// written, updated (moved to another patient) and deleted, other types
// pointing at the same patients, and a deleted chain target, on both
// stores. The forms that still read the resource rows (a sort by
// _lastUpdated, a _lastUpdated filter) must give the same matches.
func TestSearchReferenceEntriesTyped(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		pat := func(family string) string {
			return post(t, base, "Patient", fmt.Sprintf(`{"resourceType":"Patient","name":[{"family":%q}]}`, family))
		}
		a, b, c, z := pat("Lin"), pat("Lin"), pat("Wang"), pat("Lin")
		obs := func(id, code, subject string) string {
			idPart := ""
			if id != "" {
				idPart = `"id":"` + id + `",`
			}
			return fmt.Sprintf(`{"resourceType":"Observation",%s"status":"final","code":{"coding":[{"system":"http://loinc.org","code":%q}]},"subject":{"reference":%q}}`,
				idPart, code, subject)
		}
		o1 := post(t, base, "Observation", obs("", "1-1", "Patient/"+a))
		o2 := post(t, base, "Observation", obs("", "2-2", "Patient/"+a))
		o3 := post(t, base, "Observation", obs("", "1-1", "Patient/"+b))
		o4 := post(t, base, "Observation", obs("", "1-1", "Patient/"+c))
		// o5 moves from B to C.
		o5 := post(t, base, "Observation", obs("", "1-1", "Patient/"+b))
		do(t, "PUT", base+"/Observation/"+o5, fj, obs(o5, "1-1", "Patient/"+c)).wantStatus(t, 200)
		o6 := post(t, base, "Observation", obs("", "1-1", "Patient/"+a))
		do(t, "DELETE", base+"/Observation/"+o6, "", "").wantStatus(t, 204)
		// Z's observation stays; Z is deleted.
		post(t, base, "Observation", obs("", "1-1", "Patient/"+z))
		do(t, "DELETE", base+"/Patient/"+z, "", "").wantStatus(t, 204)
		post(t, base, "Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Group/g1"}}`)
		// Other types pointing at A.
		e1 := post(t, base, "Encounter", fmt.Sprintf(`{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/%s"}}`, a))
		post(t, base, "Condition", fmt.Sprintf(`{"resourceType":"Condition","subject":{"reference":"Patient/%s"}}`, a))

		cases := []struct {
			q    string
			want []string
		}{
			{"Observation?subject=Patient/" + a, []string{o1, o2}},
			{"Observation?patient=" + a, []string{o1, o2}},
			{"Observation?subject=" + b, []string{o3}},
			{"Observation?subject=Patient/" + c, []string{o4, o5}},
			{"Observation?patient=" + a + "&code=1-1", []string{o1}},
			{"Observation?patient=" + a + "&_lastUpdated=gt2000-01-01", []string{o1, o2}},
			{"Observation?patient=" + a + "&_sort=-_lastUpdated", []string{o1, o2}},
			{"Observation?patient=" + a + "&_sort=code", []string{o1, o2}},
			{"Observation?subject:Patient.name=Lin", []string{o1, o2, o3}},
			{"Observation?subject.name=Lin", []string{o1, o2, o3}},
			{"Observation?subject:Patient.name=Wang", []string{o4, o5}},
			{"Observation?subject:Patient.name=Lin&code=2-2", []string{o2}},
			{"Observation?subject:Patient.name=Lin,Wang", []string{o1, o2, o3, o4, o5}},
			{"Encounter?subject:Patient.name=Lin", []string{e1}},
			{"Encounter?patient=" + a, []string{e1}},
			{"Observation?subject:Patient.name=Lin&subject=Patient/" + a, []string{o1, o2}},
		}
		for _, cs := range cases {
			wantIDs(t, base, cs.q, cs.want...)
			// The total, on a first page of one match and on each next
			// page, is the number of matches.
			if n := len(cs.want); !strings.Contains(cs.q, "_sort") {
				walkPages(t, base, cs.q+"&_count=1", n)
			}
			if got := do(t, "GET", base+"/"+cs.q+"&_summary=count", "", "").wantStatus(t, 200).str("total"); got != fmt.Sprint(len(cs.want)) {
				t.Errorf("%s&_summary=count: total %s, want %d", cs.q, got, len(cs.want))
			}
		}
		// _revinclude of one type: the entries' own type narrows it.
		r := do(t, "GET", base+"/Patient?_id="+a+"&_revinclude=Observation:subject", "", "").wantStatus(t, 200)
		got := ids(r, "include")
		sort.Strings(got)
		want := []string{"Observation/" + o1, "Observation/" + o2}
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("_revinclude=Observation:subject: %v, want %v", got, want)
		}
		if r := do(t, "GET", base+"/Observation?subject:Patient.name=Lin&_total=none", "", "").wantStatus(t, 200); r.json["total"] != nil {
			t.Errorf("_total=none: total %v", r.json["total"])
		}
	})
}

// walkPages follows a search's next links and checks that every page
// reports the total, and that the pages hold that many matches in all.
func walkPages(t *testing.T, base, q string, total int) {
	t.Helper()
	url := base + "/" + q
	seen := 0
	for page := 0; url != ""; page++ {
		if page > total+1 {
			t.Fatalf("%s: more pages than matches", q)
		}
		r := do(t, "GET", url, "", "").wantStatus(t, 200)
		if got := r.str("total"); got != fmt.Sprint(total) {
			t.Errorf("%s page %d: total %q, want %d", q, page, got, total)
		}
		seen += len(ids(r, "match"))
		url = ""
		links, _ := r.json["link"].([]any)
		for i := range links {
			if r.str("link", i, "relation") == "next" {
				url = r.str("link", i, "url")
			}
		}
	}
	if seen != total {
		t.Errorf("%s: %d matches over the pages, want %d", q, seen, total)
	}
}

// TestSearchPatientCodes checks one patient's resources by a code, read
// from the token entries' patient keys (decision 019), against resources
// written, moved to another patient, recoded and deleted, a resource with
// two patients (key "T/*"), and a patient parameter pointing at a Group,
// which no key records; on both stores, with totals on every page.
func TestSearchPatientCodes(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		pat := func(family string) string {
			return post(t, base, "Patient", fmt.Sprintf(`{"resourceType":"Patient","name":[{"family":%q}]}`, family))
		}
		a, b := pat("A"), pat("B")
		obs := func(id, code, patient string) string {
			idPart := ""
			if id != "" {
				idPart = `"id":"` + id + `",`
			}
			return fmt.Sprintf(`{"resourceType":"Observation",%s"status":"final","code":{"coding":[{"system":"http://loinc.org","code":%q}]},"subject":{"reference":"Patient/%s"}}`,
				idPart, code, patient)
		}
		oa1 := post(t, base, "Observation", obs("", "1-1", a))
		oa2 := post(t, base, "Observation", obs("", "2-2", a))
		ob1 := post(t, base, "Observation", obs("", "1-1", b))
		oa3 := post(t, base, "Observation", obs("", "1-1", b)) // moves to A
		do(t, "PUT", base+"/Observation/"+oa3, fj, obs(oa3, "1-1", a)).wantStatus(t, 200)
		oa4 := post(t, base, "Observation", obs("", "1-1", a))
		do(t, "DELETE", base+"/Observation/"+oa4, "", "").wantStatus(t, 204)
		oa5 := post(t, base, "Observation", obs("", "2-2", a)) // recoded
		do(t, "PUT", base+"/Observation/"+oa5, fj, obs(oa5, "1-1", a)).wantStatus(t, 200)
		appt := func(patients ...string) string {
			var ps []string
			for _, p := range patients {
				ps = append(ps, fmt.Sprintf(`{"actor":{"reference":"Patient/%s"},"status":"accepted"}`, p))
			}
			return post(t, base, "Appointment", `{"resourceType":"Appointment","status":"booked","serviceType":[{"coding":[{"system":"urn:svc","code":"vac"}]}],"participant":[`+
				strings.Join(ps, ",")+`]}`)
		}
		ap1, ap2 := appt(a, b), appt(a)
		dus := post(t, base, "DeviceUseStatement", `{"resourceType":"DeviceUseStatement","status":"active","identifier":[{"system":"urn:x","value":"abc"}],
			"subject":{"reference":"Group/g1"},"device":{"reference":"Device/d1"}}`)

		cases := []struct {
			q    string
			want []string
		}{
			{"Observation?patient=" + a + "&code=1-1", []string{oa1, oa3, oa5}},
			{"Observation?patient=Patient/" + a + "&code=http://loinc.org|1-1", []string{oa1, oa3, oa5}},
			{"Observation?patient=" + a + "&code=http://snomed.info/sct|1-1", nil},
			{"Observation?patient=" + a + "&code=1-1,2-2", []string{oa1, oa2, oa3, oa5}},
			{"Observation?patient=" + b + "&code=1-1", []string{ob1}},
			{"Observation?subject=" + a + "&code=1-1", []string{oa1, oa3, oa5}},
			{"Observation?patient=" + a + "&code=1-1&_lastUpdated=gt2000-01-01", []string{oa1, oa3, oa5}},
			{"Observation?patient=" + a + "&code=1-1&_sort=-_lastUpdated", []string{oa1, oa3, oa5}},
			{"Appointment?patient=" + a + "&service-type=vac", []string{ap1, ap2}},
			{"Appointment?patient=" + b + "&service-type=urn:svc|vac", []string{ap1}},
			{"DeviceUseStatement?patient=g1&identifier=abc", []string{dus}},
			{"DeviceUseStatement?patient=Patient/g1&identifier=abc", nil},
		}
		for _, cs := range cases {
			wantIDs(t, base, cs.q, cs.want...)
			if !strings.Contains(cs.q, "_sort") {
				walkPages(t, base, cs.q+"&_count=1", len(cs.want))
			}
			if got := do(t, "GET", base+"/"+cs.q+"&_summary=count", "", "").wantStatus(t, 200).str("total"); got != fmt.Sprint(len(cs.want)) {
				t.Errorf("%s&_summary=count: total %s, want %d", cs.q, got, len(cs.want))
			}
		}
	})
}
