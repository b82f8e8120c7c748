package validate

import (
	"strings"
	"testing"
)

// A Reference names a resource type its element allows: an Observation's
// subject pointing to a Medication was stored without a word.
func TestTrialReferenceTargets(t *testing.T) {
	v := New()
	bad := []struct{ json, path, msg string }{
		{obs(`"subject":{"reference":"Medication/1"}`), "Observation.subject.reference", "Observation.subject may refer to Patient, Group, Device, Location, not Medication"},
		{obs(`"subject":{"reference":"Medication/1/_history/2"}`), "Observation.subject.reference", "not Medication"},
		{obs(`"subject":{"reference":"http://other.org/fhir/Medication/1"}`), "Observation.subject.reference", "not Medication"},
		{obs(`"subject":{"reference":"Medication?code=1"}`), "Observation.subject.reference", "not Medication"},
		{obs(`"subject":{"type":"Medication","identifier":{"value":"1"}}`), "Observation.subject.type", "not Medication"},
		{obs(`"performer":[{"reference":"Patient/1"},{"reference":"Encounter/2"}]`), "Observation.performer[1].reference", "not Encounter"},
		{pat(`"generalPractitioner":[{"reference":"Patient/1"}]`), "Patient.generalPractitioner[0].reference", "not Patient"},
	}
	for _, tc := range bad {
		issues := v.Resource(mustDecode(t, tc.json))
		if len(issues) != 1 || issues[0].Path != tc.path || issues[0].Code != CodeInvalid || !strings.Contains(issues[0].Message, tc.msg) {
			t.Errorf("%s: %+v, want one %s issue at %s saying %q", tc.json, issues, CodeInvalid, tc.path, tc.msg)
		}
	}
	good := []string{
		obs(`"subject":{"reference":"Patient/1"}`),
		obs(`"subject":{"reference":"Group/1/_history/3"}`),
		obs(`"subject":{"reference":"http://other.org/fhir/Patient/1"}`),
		obs(`"subject":{"reference":"https://example.org/people/123"}`), // a URL that names no type
		obs(`"subject":{"reference":"urn:uuid:8f0e2a3c-1f1e-4c3b-9d5e-2a4c6b8d0e1f"}`),
		obs(`"subject":{"reference":"Patient?identifier=a|b"}`),
		obs(`"subject":{"identifier":{"value":"1"}}`),
		obs(`"contained":[{"resourceType":"Patient","id":"p"}],"subject":{"reference":"#p"}`),
		`{"resourceType":"Provenance","target":[{"reference":"Medication/1"}],"recorded":"2020-01-01T00:00:00Z","agent":[{"who":{"reference":"Device/1"}}]}`, // Reference(Any)
	}
	for _, j := range good {
		if issues := v.Resource(mustDecode(t, j)); len(issues) != 0 {
			t.Errorf("%s: %+v", j, issues)
		}
	}
}
