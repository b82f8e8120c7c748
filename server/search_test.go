package server_test

import (
	"strings"
	"testing"
)

// loadClinic writes an organisation, two patients (one managed by it) and
// observations for them in one transaction, and returns the patients' ids.
func loadClinic(t *testing.T, base string) (zhang, li, org string) {
	t.Helper()
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000001","resource":{"resourceType":"Organization","name":"通州区人民医院","identifier":[{"system":"urn:xt:org","value":"TZ01"}]},"request":{"method":"POST","url":"Organization"}},
	 {"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000002","resource":{"resourceType":"Patient","name":[{"family":"张","given":["三"]}],"gender":"male","birthDate":"1990-03-07",
	   "managingOrganization":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}},"request":{"method":"POST","url":"Patient"}},
	 {"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000003","resource":{"resourceType":"Patient","name":[{"family":"李","given":["四"]}],"gender":"female","birthDate":"1985-06-01"},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000002"},
	   "performer":[{"reference":"urn:uuid:00000000-0000-4000-8000-000000000001"}],"effectiveDateTime":"2026-10-01","valueQuantity":{"value":13.5,"unit":"g/dL","system":"http://unitsofmeasure.org","code":"g/dL"}},"request":{"method":"POST","url":"Observation"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000002"},
	   "effectiveDateTime":"2026-11-01","valueQuantity":{"value":12.1,"unit":"g/dL","system":"http://unitsofmeasure.org","code":"g/dL"}},"request":{"method":"POST","url":"Observation"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-000000000003"},
	   "effectiveDateTime":"2026-09-15","valueQuantity":{"value":5.2,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}},"request":{"method":"POST","url":"Observation"}}]}`
	r := do(t, "POST", base, fj, tx).wantStatus(t, 200)
	id := func(i int) string { return strings.Split(r.str("entry", i, "response", "location"), "/")[1] }
	return id(1), id(2), id(0)
}

func ids(r *response, mode string) []string {
	var out []string
	entries, _ := r.json["entry"].([]any)
	for i := range entries {
		if r.str("entry", i, "search", "mode") == mode {
			out = append(out, r.str("entry", i, "resource", "resourceType")+"/"+r.str("entry", i, "resource", "id"))
		}
	}
	return out
}

func TestSearchAdvanced(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		zhang, li, org := loadClinic(t, base)
		total := func(q string) string {
			t.Helper()
			return do(t, "GET", base+"/"+q, "", "").wantStatus(t, 200).str("total")
		}
		cases := []struct{ q, want string }{
			{"Observation?subject:Patient.name=张", "2"},
			{"Observation?subject.name=李", "1"},
			{"Observation?subject:Patient.organization.name=通州", "2"},
			{"Observation?patient=Patient/" + li, "1"},
			{"Patient?_has:Observation:patient:code=http://loinc.org|718-7", "1"},
			{"Patient?_has:Observation:patient:code=2339-0,718-7", "2"},
			{"Patient?_has:Observation:subject:value-quantity=gt13", "1"},
			{"Observation?value-quantity=lt6|http://unitsofmeasure.org|mmol/L", "1"},
			{"Observation?date=ge2026-10-01&date=lt2026-11", "1"},
			{"Observation?code:not=718-7", "1"},
			{"Patient?organization=Organization/" + org, "1"},
			// Each patient has its regional master Patient (the EMPI).
			{"Patient?gender:missing=false", "4"},
			{"Patient?gender:missing=false&_tag:not=https://xietong.dev/fhir/CodeSystem/patient-role|master", "2"},
			{"Patient?_id:not=" + zhang, "3"},
			{"Patient/" + zhang + "/Observation", "2"},
			{"Patient/" + zhang + "/Observation?code=2339-0", "0"},
			{"Patient/" + li + "/Observation", "1"},
		}
		for _, c := range cases {
			if got := total(c.q); got != c.want {
				t.Errorf("%s: total %s, want %s", c.q, got, c.want)
			}
		}
		// _include brings the subject; _revinclude the observations.
		r := do(t, "GET", base+"/Observation?code=2339-0&_include=Observation:subject", "", "").wantStatus(t, 200)
		if inc := ids(r, "include"); len(inc) != 1 || inc[0] != "Patient/"+li {
			t.Errorf("_include: %v", inc)
		}
		r = do(t, "GET", base+"/Patient?_id="+zhang+"&_revinclude=Observation:subject", "", "").wantStatus(t, 200)
		if inc := ids(r, "include"); len(inc) != 2 {
			t.Errorf("_revinclude: %v", inc)
		}
		// _sort by date, descending.
		r = do(t, "GET", base+"/Observation?_sort=-date", "", "").wantStatus(t, 200)
		if got := r.str("entry", 0, "resource", "effectiveDateTime"); got != "2026-11-01" {
			t.Errorf("_sort=-date first = %s", got)
		}
		// $everything: the patient, its master (whose link names it), its
		// observations, and the organisation they refer to.
		r = do(t, "GET", base+"/Patient/"+zhang+"/$everything", "", "").wantStatus(t, 200)
		m, inc := ids(r, "match"), ids(r, "include")
		if len(m) != 4 || m[0] != "Patient/"+zhang || len(inc) != 1 || inc[0] != "Organization/"+org {
			t.Errorf("$everything: matches %v, included %v", m, inc)
		}
		// Paged $everything visits everything once.
		seen := map[string]bool{}
		next := base + "/Patient/" + zhang + "/$everything?_count=1"
		for pages := 0; next != "" && pages < 10; pages++ {
			r := do(t, "GET", next, "", "").wantStatus(t, 200)
			for _, id := range ids(r, "match") {
				if seen[id] {
					t.Errorf("$everything paging repeated %s", id)
				}
				seen[id] = true
			}
			next = ""
			links, _ := r.json["link"].([]any)
			for _, l := range links {
				if lm := l.(map[string]any); lm["relation"] == "next" {
					next = lm["url"].(string)
				}
			}
		}
		if len(seen) != 4 {
			t.Errorf("paged $everything saw %d resources, want 4", len(seen))
		}
		do(t, "GET", base+"/Patient/nope/$everything", "", "").wantStatus(t, 404)
		do(t, "GET", base+"/Patient/"+zhang+"/$everything?start=2026-13", "", "").wantStatus(t, 400)
		do(t, "GET", base+"/Patient/"+zhang+"/Organization", "", "").wantStatus(t, 400)
		do(t, "POST", base+"/Patient/$match", fj, `{}`).wantStatus(t, 400) // no resource to match
	})
}

func TestIdentifierModifiers(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		p := `{"resourceType":"Patient","identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"https://xietong.dev/fhir/sid/mrn/110112001","value":"MR0001"}],"name":[{"text":"王五"}]}`
		id := do(t, "POST", base+"/Patient", fj, p).wantStatus(t, 201).str("id")
		obs := `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/` + id + `","identifier":{"system":"https://xietong.dev/fhir/sid/mrn/110112001","value":"MR0001"}}}`
		do(t, "POST", base+"/Observation", fj, obs).wantStatus(t, 201)
		for q, want := range map[string]string{
			"Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|MR0001": "1",
			"Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|NI|MR0001": "0",
			"Observation?subject:identifier=https://xietong.dev/fhir/sid/mrn/110112001|MR0001":   "1",
			"Observation?subject:identifier=MR0001":                                              "1",
			"Observation?subject:identifier=https://xietong.dev/fhir/sid/mrn/999|MR0001":         "0",
		} {
			if got := do(t, "GET", base+"/"+q, "", "").wantStatus(t, 200).str("total"); got != want {
				t.Errorf("%s: total %s, want %s", q, got, want)
			}
		}
		do(t, "GET", base+"/Patient?identifier:of-type=MR0001", "", "").wantStatus(t, 400)
	})
}
