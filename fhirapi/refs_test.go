package fhirapi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rewriteRefs replaces the urn: references of a Bundle entry with the ids
// they were given, notes conditional references, and names the element of
// a urn: reference that matches no entry.
func TestRewriteRefs(t *testing.T) {
	refs := map[string]string{"urn:uuid:p": "Patient/1", "urn:uuid:e": "Encounter/2"}
	cases := []struct {
		name        string
		resource    string
		want        string // the resource after, or "" when an error is wanted
		conditional bool
		errAt       string // the element an error names
	}{
		{"top level and nested in arrays",
			`{"subject":{"reference":"urn:uuid:p"},"encounter":{"reference":"urn:uuid:e"},"performer":[{"reference":"Practitioner/9"},{"reference":"urn:uuid:p"}]}`,
			`{"encounter":{"reference":"Encounter/2"},"performer":[{"reference":"Practitioner/9"},{"reference":"Patient/1"}],"subject":{"reference":"Patient/1"}}`, false, ""},
		{"a conditional reference",
			`{"subject":{"reference":"Patient?identifier=x|1"}}`,
			`{"subject":{"reference":"Patient?identifier=x|1"}}`, true, ""},
		{"a urn in an array of arrays names its element",
			`{"component":[{"code":{}},{"valueReference":{"x":[{"reference":"urn:uuid:nope"}]}}]}`,
			"", false, "Observation.component[1].valueReference.x[0]"},
		{"a urn:oid that matches no entry",
			`{"subject":{"reference":"urn:oid:1.2.3"}}`,
			"", false, "Observation.subject"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var res map[string]any
			if err := json.Unmarshal([]byte(c.resource), &res); err != nil {
				t.Fatal(err)
			}
			o := &op{typ: "Observation", path: "Bundle.entry[4]", resource: res}
			conditional, err := rewriteRefs(o, refs)
			if c.errAt != "" {
				if err == nil || !strings.Contains(err.Error(), "(at "+c.errAt+")") {
					t.Fatalf("err %v, want one naming %s", err, c.errAt)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(res)
			if string(got) != c.want || conditional != c.conditional {
				t.Fatalf("got %s (conditional %v), want %s (conditional %v)", got, conditional, c.want, c.conditional)
			}
		})
	}
}

// BenchmarkRewriteRefs: one Synthea Bundle's entries (urn:uuid references
// throughout), each decoded afresh, their references rewritten.
func BenchmarkRewriteRefs(b *testing.B) {
	files, _ := filepath.Glob("../../shared/synthea/r4/*.json")
	if len(files) == 0 {
		b.Skip("no ../shared/synthea/r4")
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		b.Fatal(err)
	}
	var bundle struct {
		Entry []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &bundle); err != nil {
		b.Fatal(err)
	}
	refs := map[string]string{}
	for i, e := range bundle.Entry {
		refs[e.FullURL] = "X/" + strconv.Itoa(i)
	}
	ops := make([]*op, len(bundle.Entry))
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for i, e := range bundle.Entry {
			var m map[string]any
			json.Unmarshal(e.Resource, &m)
			ops[i] = &op{typ: "X", path: "Bundle.entry", resource: m}
		}
		b.StartTimer()
		for _, o := range ops {
			if _, err := rewriteRefs(o, refs); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ops)), "ns/resource")
}
