package server_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// Operations served by the engines ($find, $health-card-usage, $match)
// honour _pretty=true as the REST interactions do (fhir/respond): the
// answer is the same JSON, indented; without it, compact.
func TestOperationsHonourPretty(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "pretty.db"))
	for _, u := range []string{
		"/HealthcareService/$find?lat=23.13&lon=113.30&type=tcm-clinic",
		"/AuditEvent/$health-card-usage",
	} {
		compact := do(t, "GET", base+u, "", "").wantStatus(t, 200)
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		pretty := do(t, "GET", base+u+sep+"_pretty=true", "", "").wantStatus(t, 200)
		if strings.Contains(string(compact.body), "\n  \"") {
			t.Errorf("%s: indented without _pretty: %s", u, compact.body)
		}
		if !strings.Contains(string(pretty.body), "\n  \"resourceType\"") {
			t.Errorf("%s?_pretty=true: not indented: %s", u, pretty.body)
		}
	}
	match := `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","name":[{"family":"王","given":["芳"]}],"birthDate":"1980-01-02","gender":"female"}}]}`
	r := do(t, "POST", base+"/Patient/$match?_pretty=true", "application/fhir+json", match).wantStatus(t, 200)
	if !strings.Contains(string(r.body), "\n  \"resourceType\"") {
		t.Errorf("$match?_pretty=true: not indented: %s", r.body)
	}
}
