package fhirpath

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzSeeds returns the expressions of the official suite (when the shared
// data is present) plus a few hand-written ones.
func fuzzSeeds(f *testing.F) []string {
	seeds := []string{
		"Patient.name.where(use = 'official').given.first()",
		"(Observation.value as Quantity) | (Observation.component.value as Quantity)",
		"@2012-04-15T10:00:00Z + 1 'ms' < now()",
		"'abc'.replaceMatches('(b)', '[$1]') & %ucum",
		"1.5 'mg' * 2 '/d' = 3 'mg/d'",
		"iif(a.exists(), b.aggregate($this + $total, 0), {}).sort(-$this)",
		"`name`[0].given.descendants().ofType(FHIR.string).select($index)",
		"Patient.extension('x').value.resolve().memberOf(%`vs-y`)",
	}
	dir, err := os.Getwd()
	if err != nil {
		return seeds
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return seeds
		}
		dir = parent
	}
	raw, err := os.ReadFile(filepath.Join(dir, "..", "shared", "fhirpath", "r4", "tests-fhir-r4.xml"))
	if err != nil {
		return seeds
	}
	var suite suiteXML
	if xml.Unmarshal(raw, &suite) != nil {
		return seeds
	}
	for _, g := range suite.Groups {
		for _, tc := range g.Tests {
			seeds = append(seeds, strings.TrimSpace(tc.Expression.Text))
		}
	}
	return seeds
}

func isInternal(err error) bool {
	return err != nil && strings.Contains(err.Error(), "internal error")
}

// FuzzCompile checks that compiling arbitrary text never panics (the
// recover in Compile turns a panic into an "internal error", which fails
// the test) and that errors carry a position.
func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		_, err := Compile(expr)
		if isInternal(err) {
			t.Fatalf("Compile(%q) hit an internal error: %v", expr, err)
		}
		if err != nil {
			var e *Error
			if !asError(err, &e) || e.Kind == ExecutionError || e.Line == 0 {
				t.Fatalf("Compile(%q): error without kind or position: %#v", expr, err)
			}
		}
	})
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

const fuzzResource = `{"resourceType":"Patient","id":"p","birthDate":"1974-12-25",
"_birthDate":{"extension":[{"url":"x","valueDateTime":"1974-12-25T14:35:45-05:00"}]},
"name":[{"use":"official","family":"Chalmers","given":["Peter",null],"_given":[null,{"extension":[{"url":"y","valueString":"z"}]}]}],
"telecom":[{"system":"phone","value":"1","rank":1}],"deceasedBoolean":false,
"contained":[{"resourceType":"Organization","id":"o1","name":"Acme"}],
"managingOrganization":{"reference":"#o1"},
"extension":[{"url":"q","valueQuantity":{"value":1.50,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}]}`

// FuzzEvaluate checks that evaluating arbitrary expressions over a
// resource (and arbitrary JSON) never panics and terminates.
func FuzzEvaluate(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, fuzzResource)
	}
	f.Add("descendants().count()", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"1"}}]}`)
	f.Add("value.value + 1", `{"value":1e400}`)
	f.Fuzz(func(t *testing.T, expr, resource string) {
		e, err := Compile(expr)
		if err != nil {
			return
		}
		d := json.NewDecoder(bytes.NewReader([]byte(resource)))
		d.UseNumber()
		var input any
		if d.Decode(&input) != nil {
			input = nil
		}
		opts := &EvalOptions{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		if _, err := e.Evaluate(input, opts); isInternal(err) {
			t.Fatalf("Evaluate(%q) hit an internal error: %v", expr, err)
		}
	})
}
