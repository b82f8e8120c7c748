package validate_test

import (
	"fmt"
	"strings"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/fhir/validate"
)

func ExampleValidator_Resource() {
	res, _ := fhirjson.Decode([]byte(`{
		"resourceType": "Observation",
		"status": "done",
		"code": {"text": "body weight"},
		"subject": {"reference": "Patient/1", "type": "Group"},
		"effectiveDateTime": "2024-02-30",
		"valueQuantity": {"value": "72.5", "unit": "kg"}
	}`), fhirjson.Limits{})
	v := validate.New()
	for _, is := range v.Resource(res) {
		fmt.Println(is.Severity, is.Code, is.Message)
	}
	// Output:
	// error value Observation.effectiveDateTime: '2024-02-30' is not a valid dateTime (month 02 has 29 days)
	// error code-invalid Observation.status: 'done' is not in the required value set http://hl7.org/fhir/ValueSet/observation-status (amended, cancelled, corrected, entered-in-error, final, preliminary, registered, unknown)
	// error invalid Observation.subject.type: type 'Group' does not match the type of the reference 'Patient/1' (Patient)
	// error structure Observation.valueQuantity.value: expected a JSON number (a decimal), found a string (write 72.5, not "72.5")
}

// An InvariantChecker plugs in FHIRPath evaluation of the definitions'
// invariants. This toy one knows a single expression.
func ExampleWithInvariants() {
	checker := validate.InvariantCheckerFunc(func(ctx validate.InvariantContext) (bool, error) {
		if ctx.Constraint.Key != "per-1" {
			return true, nil
		}
		p := ctx.Node.(map[string]any) // per-1: start <= end
		start, _ := p["start"].(string)
		end, _ := p["end"].(string)
		return start == "" || end == "" || strings.Compare(start, end) <= 0, nil
	})
	res, _ := fhirjson.Decode([]byte(`{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},
		"period":{"start":"2024-03-02","end":"2024-03-01"}}`), fhirjson.Limits{})
	for _, is := range validate.New(validate.WithInvariants(checker)).Resource(res) {
		fmt.Println(is.Severity, is.Code, is.Message)
	}
	// Output:
	// error invariant Encounter.period: invariant per-1 failed: If present, start SHALL have a lower value than end
}
