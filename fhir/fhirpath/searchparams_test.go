package fhirpath

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

type searchParamDef struct {
	URL        string   `json:"url"`
	Code       string   `json:"code"`
	Base       []string `json:"base"`
	Expression string   `json:"expression"`
}

func loadSearchParams(t testing.TB) []searchParamDef {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(sharedDir(t), "fhir", "r4", "definitions", "Bundle-searchParams.json"))
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct {
			Resource searchParamDef `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	var out []searchParamDef
	for _, e := range b.Entry {
		if e.Resource.Expression != "" {
			out = append(out, e.Resource)
		}
	}
	return out
}

// Every R4 search parameter expression must compile.
func TestSearchParamExpressionsCompile(t *testing.T) {
	sps := loadSearchParams(t)
	for _, sp := range sps {
		if _, err := Compile(sp.Expression); err != nil {
			t.Errorf("%s: %v\n  %s", sp.URL, err, sp.Expression)
		}
		// they are also valid under the strict static checks
		if _, err := Compile(sp.Expression, Strict()); err != nil {
			t.Errorf("%s (strict): %v\n  %s", sp.URL, err, sp.Expression)
		}
	}
	t.Logf("%d search parameter expressions compiled", len(sps))
	if len(sps) != 1372 {
		t.Errorf("expected 1372 expressions, found %d", len(sps))
	}
}
