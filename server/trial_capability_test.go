package server_test

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// The CapabilityStatement is true: every search parameter it lists, on
// every type and at the system level, is accepted under Prefer:
// handling=strict; what it says is unsupported is refused; each operation
// is listed once, with a definition that exists (the specification's for
// the core operations, Xietong's own otherwise).
func TestTrialCapabilityStatementIsTruthful(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "caps.db"))
	cs := do(t, "GET", base+"/metadata", "", "").wantStatus(t, 200)
	rest := cs.json["rest"].([]any)[0].(map[string]any)
	value := map[string]string{
		"string": "x", "token": "x", "reference": "x", "date": "2020", "number": "1",
		"quantity": "1", "uri": "http://x", "special": "39.9|116.6|10|km",
	}
	strict := func(path string) *response {
		return do(t, "GET", base+path, "", "", "Prefer", "handling=strict")
	}
	checked := 0
	for _, res := range rest["resource"].([]any) {
		r := res.(map[string]any)
		typ := r["type"].(string)
		seen := map[string]bool{}
		for _, op := range asList(r["operation"]) {
			o := op.(map[string]any)
			name, def := o["name"].(string), o["definition"].(string)
			if seen[name] {
				t.Errorf("%s: operation %s listed twice", typ, name)
			}
			seen[name] = true
			if strings.HasPrefix(def, "http://hl7.org/fhir/") && typ+"-"+name != "Patient-everything" && typ+"-"+name != "Patient-match" {
				t.Errorf("%s/$%s: definition %s is not in the R4 specification", typ, name, def)
			}
		}
		for _, sp := range asList(r["searchParam"]) {
			p := sp.(map[string]any)
			name, ptype := p["name"].(string), p["type"].(string)
			if ptype == "composite" {
				continue // values need each component's type; composite search has its own tests
			}
			v, ok := value[ptype]
			if !ok {
				t.Errorf("%s?%s: listed with type %s", typ, name, ptype)
				continue
			}
			if got := strict("/" + typ + "?" + url.Values{name: {v}, "_summary": {"count"}}.Encode()); got.status != 200 {
				t.Errorf("%s?%s=%s (listed): %d %s", typ, name, v, got.status, got.diagnostics())
			}
			checked++
		}
	}
	if checked < 1500 {
		t.Fatalf("only %d listed parameters checked", checked)
	}
	for _, sp := range asList(rest["searchParam"]) {
		p := sp.(map[string]any)
		name := p["name"].(string)
		if got := strict("/?" + url.Values{name: {value[p["type"].(string)]}, "_summary": {"count"}}.Encode()); got.status != 200 {
			t.Errorf("system search %s (listed): %d %s", name, got.status, got.diagnostics())
		}
	}
	for _, q := range []string{"/Patient?_text=x", "/Patient?_content=x", "/Patient?_list=x", "/Patient?_query=x", "/Patient?_filter=x"} {
		if got := strict(q); got.status != 400 {
			t.Errorf("%s (not listed) under strict handling: %d", q, got.status)
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
