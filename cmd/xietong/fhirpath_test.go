package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cliPatient = `{"resourceType":"Patient","id":"p1","birthDate":"1974-12-25",
 "_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1974-12-25T14:35:45-05:00"}]},
 "name":[{"use":"official","family":"Chalmers","given":["Peter","James"]}],
 "multipleBirthInteger":2}`

func TestRunFHIRPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "patient.json")
	if err := os.WriteFile(file, []byte(cliPatient), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantOut    string // exact stdout (trimmed) when set
		wantErrSub string
	}{
		{name: "file", args: []string{"--resource", file, "Patient.name.family"}, wantOut: `[{"type":"FHIR.string","value":"Chalmers"}]`},
		{name: "stdin", args: []string{"--resource", "-", "name.given"}, stdin: cliPatient,
			wantOut: `[{"type":"FHIR.string","value":"Peter"},{"type":"FHIR.string","value":"James"}]`},
		{name: "complex value", args: []string{"--resource", file, "name.where(use = 'official').select(given.first())"},
			wantOut: `[{"type":"FHIR.string","value":"Peter"}]`},
		{name: "complex item", args: []string{"--resource", file, "Patient.name"},
			wantOut: `[{"type":"FHIR.HumanName","value":{"family":"Chalmers","given":["Peter","James"],"use":"official"}}]`},
		{name: "choice", args: []string{"--resource", file, "Patient.multipleBirth"}, wantOut: `[{"type":"FHIR.integer","value":2}]`},
		{name: "primitive extension", args: []string{"--resource", file, "birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value"},
			wantOut: `[{"type":"FHIR.dateTime","value":"1974-12-25T14:35:45-05:00"}]`},
		{name: "no resource", args: []string{"1 + 2.50"}, wantOut: `[{"type":"System.Decimal","value":3.50}]`},
		{name: "quantity", args: []string{"4 'g' + 1 'kg'"}, wantOut: `[{"type":"System.Quantity","value":{"code":"g","system":"http://unitsofmeasure.org","unit":"g","value":1004}}]`},
		{name: "empty", args: []string{"--resource", file, "Patient.deceased"}, wantOut: `[]`},
		{name: "variable", args: []string{"--var", "who=Peter", "%who & '!'"}, wantOut: `[{"type":"System.String","value":"Peter!"}]`},
		{name: "syntax error", args: []string{"1 +"}, wantCode: 1, wantErrSub: "syntax error at 1:4"},
		{name: "unknown function", args: []string{"Patient.foo()"}, wantCode: 1, wantErrSub: "unknown function foo()"},
		{name: "execution error", args: []string{"--resource", file, "name.given.single()"}, wantCode: 1, wantErrSub: "execution error"},
		{name: "bad json", args: []string{"--resource", "-", "id"}, stdin: "{", wantCode: 1, wantErrSub: "not valid JSON"},
		{name: "missing file", args: []string{"--resource", filepath.Join(dir, "nope.json"), "id"}, wantCode: 1, wantErrSub: "reading the resource"},
		{name: "no expression", args: []string{}, wantCode: 2, wantErrSub: "Usage"},
		{name: "two expressions", args: []string{"a", "b"}, wantCode: 2, wantErrSub: "Usage"},
		{name: "bad var", args: []string{"--var", "novalue", "1"}, wantCode: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runFHIRPath(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d (stderr: %s)", code, tt.wantCode, stderr.String())
			}
			if tt.wantOut != "" && strings.TrimSpace(stdout.String()) != tt.wantOut {
				t.Errorf("stdout\n got: %s\nwant: %s", strings.TrimSpace(stdout.String()), tt.wantOut)
			}
			if tt.wantErrSub != "" && !strings.Contains(stderr.String(), tt.wantErrSub) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantErrSub)
			}
		})
	}
}

func TestRunFHIRPathTrace(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := runFHIRPath([]string{"(1 | 2).trace('nums').count()"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), `trace nums: [{"type":"System.Integer","value":1},{"type":"System.Integer","value":2}]`) {
		t.Errorf("trace output: %q", stderr.String())
	}
	if strings.TrimSpace(stdout.String()) != `[{"type":"System.Integer","value":2}]` {
		t.Errorf("stdout: %s", stdout.String())
	}
}
