package respond

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestResourcePrettyAndHead(t *testing.T) {
	res := map[string]any{"resourceType": "Parameters", "parameter": []any{map[string]any{"name": "created", "valueBoolean": true}}}
	for _, c := range []struct {
		method, target string
		indented, body bool
	}{
		{"POST", "/fhir/Patient/$resolve-health-card", false, true},
		{"POST", "/fhir/Patient/$resolve-health-card?_pretty=true", true, true},
		{"GET", "/fhir/AuditEvent/$health-card-usage?_pretty=false", false, true},
		{"HEAD", "/fhir/AuditEvent/$health-card-usage?_pretty=true", false, false},
	} {
		rec := httptest.NewRecorder()
		if err := Resource(rec, httptest.NewRequest(c.method, c.target, nil), http.StatusOK, res); err != nil {
			t.Fatal(err)
		}
		got := rec.Body.String()
		if ct := rec.Header().Get("Content-Type"); ct != ContentType {
			t.Errorf("%s %s: Content-Type %q", c.method, c.target, ct)
		}
		if c.body != (got != "") {
			t.Errorf("%s %s: body %q", c.method, c.target, got)
		}
		if c.indented != strings.Contains(got, "\n  \"parameter\"") {
			t.Errorf("%s %s: indented %v, body %q", c.method, c.target, !c.indented, got)
		}
		if c.body && rec.Header().Get("Content-Length") != strconv.Itoa(len(got)) {
			t.Errorf("%s %s: Content-Length %s for %d bytes", c.method, c.target, rec.Header().Get("Content-Length"), len(got))
		}
	}
}
