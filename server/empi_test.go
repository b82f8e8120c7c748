package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/identity/idnumber"
)

// Patients posted through the API by two hospitals are found by
// Patient/$match (IHE PDQm ITI-119), including one created after the
// first match.
func TestPatientMatch(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		const fj = "application/fhir+json"
		born := time.Date(1985, 6, 12, 0, 0, 0, 0, time.UTC)
		id := idnumber.Generate("110112", born, 31)
		patient := func(system, name string) string {
			return `{"resourceType":"Patient","identifier":[{"system":"` + system + `","value":"` + id + `"}],` +
				`"name":[{"text":"` + name + `"}],"gender":"male","birthDate":"1985-06-12","telecom":[{"system":"phone","value":"13700001234"}]}`
		}
		a := do(t, "POST", base+"/Patient", fj, patient("urn:oid:2.16.156.10011.1.1", "刘洋")).wantStatus(t, 201).str("id")
		do(t, "POST", base+"/Patient", fj, `{"resourceType":"Patient","name":[{"text":"陈静"}],"gender":"female","birthDate":"1990-01-01"}`).wantStatus(t, 201)

		query := `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` +
			`{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.156.10011.1.1","value":"` + id + `"}],"name":[{"text":"劉洋"}],"gender":"male","birthDate":"1985-06-12"}},` +
			`{"name":"onlyCertainMatches","valueBoolean":true}]}`
		r := do(t, "POST", base+"/Patient/$match", fj, query).wantStatus(t, 200)
		if r.str("type") != "searchset" || r.str("entry", 0, "resource", "id") != a || r.str("entry", 1) != "" ||
			r.str("entry", 0, "search", "mode") != "match" || r.str("entry", 0, "search", "extension", 0, "valueCode") != "certain" ||
			!strings.HasSuffix(r.str("entry", 0, "fullUrl"), "/fhir/Patient/"+a) {
			t.Fatalf("first match: %s", r.body)
		}
		if !strings.HasPrefix(r.header.Get("Content-Type"), "application/fhir+json") {
			t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
		}

		// Another hospital registers the person; the next match finds both.
		b := do(t, "POST", base+"/Patient", fj, patient("https://xietong.dev/fhir/sid/resident-id", "刘洋")).wantStatus(t, 201).str("id")
		r = do(t, "POST", base+"/Patient/$match", fj, query).wantStatus(t, 200)
		got := []string{r.str("entry", 0, "resource", "id"), r.str("entry", 1, "resource", "id")}
		if !(got[0] == a && got[1] == b || got[0] == b && got[1] == a) || r.str("entry", 2) != "" {
			t.Fatalf("second match %v: %s", got, r.body)
		}

		do(t, "POST", base+"/Patient/$match", fj, `{"resourceType":"Parameters","parameter":[]}`).wantStatus(t, 400)
		do(t, "POST", base+"/Patient/$match", "text/plain", query).wantStatus(t, 415)
	})
}
