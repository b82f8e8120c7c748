package fhirpath_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/xietong/xietong/fhir/fhirpath"
)

const patientJSON = `{
  "resourceType": "Patient",
  "id": "example",
  "birthDate": "1974-12-25",
  "_birthDate": {"extension": [{
    "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
    "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
  "name": [
    {"use": "official", "family": "Chalmers", "given": ["Peter", "James"]},
    {"use": "usual", "given": ["Jim"]}
  ],
  "managingOrganization": {"reference": "Organization/1"}
}`

func decode(s string) map[string]any {
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		panic(err)
	}
	return m
}

func Example() {
	patient := decode(patientJSON)
	expr, err := fhirpath.Compile("Patient.name.where(use = 'official').given")
	if err != nil {
		panic(err)
	}
	out, err := expr.Evaluate(patient, nil)
	if err != nil {
		panic(err)
	}
	for _, v := range out {
		fmt.Println(v.TypeName(), v.String())
	}
	// Output:
	// FHIR.string Peter
	// FHIR.string James
}

func ExampleExpression_EvaluateBool() {
	patient := decode(patientJSON)
	expr := fhirpath.MustCompile("birthDate < @1980-01-01 and name.exists(use = 'usual')")
	ok, known, err := expr.EvaluateBool(patient, nil)
	fmt.Println(ok, known, err)
	// Output: true true <nil>
}

func ExampleCompile_error() {
	_, err := fhirpath.Compile("Patient.name.where(use = 'official'")
	fmt.Println(err)
	_, err = fhirpath.Compile("Patient.name.frist()")
	fmt.Println(err)
	// Output:
	// fhirpath: syntax error at 1:36: expected ',' or ')', found end of expression
	// fhirpath: semantic error at 1:14: unknown function frist()
}

// Primitive extensions live in "_birthDate"; FHIRPath reaches them as
// children of the primitive.
func Example_primitiveExtension() {
	patient := decode(patientJSON)
	expr := fhirpath.MustCompile("birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value")
	out, _ := expr.Evaluate(patient, nil)
	fmt.Println(out[0].TypeName(), out[0].String())
	// Output: FHIR.dateTime 1974-12-25T14:35:45-05:00
}

// Decimal arithmetic is exact and keeps the precision written.
func Example_decimal() {
	for _, src := range []string{"0.1 + 0.2", "1.10 * 3", "10 / 4", "1 / 3", "4.0 'g' = 4000 'mg'"} {
		out, err := fhirpath.MustCompile(src).Evaluate(nil, nil)
		if err != nil {
			panic(err)
		}
		fmt.Println(src, "→", out[0].String())
	}
	// Output:
	// 0.1 + 0.2 → 0.3
	// 1.10 * 3 → 3.30
	// 10 / 4 → 2.5
	// 1 / 3 → 0.33333333
	// 4.0 'g' = 4000 'mg' → true
}

// Comparing dates of different precision gives an empty result rather
// than true or false.
func Example_datePrecision() {
	out, _ := fhirpath.MustCompile("@2012-01 < @2012-01-15").Evaluate(nil, nil)
	fmt.Println(len(out))
	out, _ = fhirpath.MustCompile("@2012-01 < @2012-02-15").Evaluate(nil, nil)
	fmt.Println(out[0].String())
	// Output:
	// 0
	// true
}

func ExampleEvalOptions() {
	patient := decode(patientJSON)
	org := decode(`{"resourceType": "Organization", "id": "1", "name": "Acme"}`)
	expr := fhirpath.MustCompile("managingOrganization.resolve().name & ' / ' & %site & ' / ' & today().toString()")
	out, err := expr.Evaluate(patient, &fhirpath.EvalOptions{
		Variables: map[string]any{"site": "Ward 3"},
		Resolver: fhirpath.ResolverFunc(func(ref string) (map[string]any, error) {
			if ref == "Organization/1" {
				return org, nil
			}
			return nil, nil
		}),
		Now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(out[0].String())
	// Output: Acme / Ward 3 / 2026-11-22
}

func ExampleNewValueSets() {
	vs := fhirpath.NewValueSets(decode(`{"resourceType": "ValueSet", "url": "http://example.org/vs/colors",
	  "compose": {"include": [{"system": "http://example.org/colors", "concept": [{"code": "red"}, {"code": "blue"}]}]}}`))
	obs := decode(`{"resourceType": "Observation", "status": "final",
	  "code": {"coding": [{"system": "http://example.org/colors", "code": "red"}]}}`)
	expr := fhirpath.MustCompile("code.memberOf('http://example.org/vs/colors')")
	out, _ := expr.Evaluate(obs, &fhirpath.EvalOptions{Terminology: vs})
	fmt.Println(out[0].String())
	// Output: true
}
