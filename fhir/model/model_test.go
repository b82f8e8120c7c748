package model

import (
	"slices"
	"testing"
)

func TestResourceTypes(t *testing.T) {
	if n := len(ResourceTypes()); n != 146 {
		t.Fatalf("got %d resource types, want the 146 of R4", n)
	}
	for _, name := range []string{"Patient", "Observation", "Bundle", "Parameters", "Binary"} {
		if !IsResourceType(name) {
			t.Errorf("IsResourceType(%q) = false", name)
		}
	}
	for _, name := range []string{"Resource", "DomainResource", "HumanName", "string", "Patient.contact", "Nope"} {
		if IsResourceType(name) {
			t.Errorf("IsResourceType(%q) = true", name)
		}
	}
}

func TestElements(t *testing.T) {
	p := TypeByName("Patient")
	tests := []struct {
		name     string
		min, max int
		types    []string
	}{
		{"id", 0, 1, []string{"id"}},
		{"meta", 0, 1, []string{"Meta"}},
		{"name", 0, -1, []string{"HumanName"}},
		{"birthDate", 0, 1, []string{"date"}},
		{"deceased", 0, 1, []string{"boolean", "dateTime"}},
		{"contact", 0, -1, []string{"Patient.contact"}},
		{"link", 0, -1, []string{"Patient.link"}},
	}
	for _, tt := range tests {
		e := p.Element(tt.name)
		if e == nil {
			t.Errorf("Patient.%s missing", tt.name)
			continue
		}
		if e.Min != tt.min || e.Max != tt.max || !slices.Equal(e.Types, tt.types) {
			t.Errorf("Patient.%s = %d..%d %v, want %d..%d %v", tt.name, e.Min, e.Max, e.Types, tt.min, tt.max, tt.types)
		}
	}
	if e := TypeByName("Patient.link").Element("other"); e == nil || e.Min != 1 {
		t.Errorf("Patient.link.other = %+v", e)
	}
	if e := TypeByName("Questionnaire.item").Element("item"); e == nil || e.Types[0] != "Questionnaire.item" {
		t.Errorf("Questionnaire.item.item = %+v, want a content reference to Questionnaire.item", e)
	}
	if e := TypeByName("Extension").Element("url"); e == nil || e.Types[0] != "uri" {
		t.Errorf("Extension.url = %+v", e)
	}
	if e := TypeByName("Observation").Element("status"); e.Binding == nil || e.Binding.Strength != "required" ||
		e.Binding.ValueSet != "http://hl7.org/fhir/ValueSet/observation-status" {
		t.Errorf("Observation.status binding = %+v", e.Binding)
	}
}

func TestElementForJSONKey(t *testing.T) {
	obs := TypeByName("Observation")
	tests := []struct{ key, elem, typ string }{
		{"valueQuantity", "value", "Quantity"},
		{"valueCodeableConcept", "value", "CodeableConcept"},
		{"valueDateTime", "value", "dateTime"},
		{"effectivePeriod", "effective", "Period"},
		{"status", "status", "code"},
		{"component", "component", "Observation.component"},
		{"valueHumanName", "", ""}, // not one of value[x]'s types
		{"value", "", ""},          // a choice needs its type suffix
		{"nonsense", "", ""},
	}
	for _, tt := range tests {
		e, typ := obs.ElementForJSONKey(tt.key)
		name := ""
		if e != nil {
			name = e.Name
		}
		if name != tt.elem || typ != tt.typ {
			t.Errorf("ElementForJSONKey(%q) = %q, %q; want %q, %q", tt.key, name, typ, tt.elem, tt.typ)
		}
	}
	if got := ChoiceKey("value", "dateTime"); got != "valueDateTime" {
		t.Errorf("ChoiceKey = %q", got)
	}
}

func TestIsA(t *testing.T) {
	tests := []struct {
		typ, base string
		want      bool
	}{
		{"Patient", "DomainResource", true},
		{"Patient", "Resource", true},
		{"Bundle", "DomainResource", false},
		{"code", "string", true},
		{"positiveInt", "integer", true},
		{"string", "code", false},
		{"Patient.contact", "BackboneElement", true},
		{"Patient.contact", "Element", true},
		{"Age", "Quantity", true},
	}
	for _, tt := range tests {
		if got := TypeByName(tt.typ).IsA(tt.base); got != tt.want {
			t.Errorf("%s IsA %s = %v", tt.typ, tt.base, got)
		}
	}
	if SystemType("instant") != "DateTime" || SystemType("code") != "String" || SystemType("Quantity") != "" {
		t.Error("SystemType mapping is wrong")
	}
}

func TestSearchParams(t *testing.T) {
	if n := len(AllSearchParams()); n != 1375 {
		t.Fatalf("got %d search parameters, want 1375", n)
	}
	obs := SearchParams("Observation")
	for _, code := range []string{"_id", "_lastUpdated", "_text", "code", "subject", "patient", "value-quantity", "code-value-quantity", "date"} {
		if obs[code] == nil {
			t.Errorf("Observation has no search parameter %q", code)
		}
	}
	if SearchParams("Bundle")["_text"] != nil {
		t.Error("Bundle is not a DomainResource, it has no _text")
	}
	if got := obs["patient"].ExpressionFor("Observation"); got != "Observation.subject.where(resolve() is Patient)" {
		t.Errorf("Observation patient expression = %q", got)
	}
	if got := obs["code-value-quantity"].Components; len(got) != 2 {
		t.Errorf("code-value-quantity components = %v", got)
	}
}

func TestCompartment(t *testing.T) {
	if got := Compartment("Patient", "Observation"); !slices.Contains(got, "subject") {
		t.Errorf("Observation in the Patient compartment via %v", got)
	}
	if got := Compartment("Patient", "Organization"); got != nil {
		t.Errorf("Organization is not in the Patient compartment, got %v", got)
	}
}

func TestRequiredCodes(t *testing.T) {
	codes, ok := RequiredCodes("http://hl7.org/fhir/ValueSet/observation-status")
	if !ok || !codes["final"] || !codes["entered-in-error"] || codes["done"] {
		t.Errorf("observation-status codes = %v, %v", codes, ok)
	}
	codes, ok = RequiredCodes("http://hl7.org/fhir/ValueSet/administrative-gender")
	if !ok || len(codes) != 4 {
		t.Errorf("administrative-gender = %v", codes)
	}
}

func TestReferenceTargets(t *testing.T) {
	e := TypeByName("Observation").Element("subject")
	if !slices.Equal(e.Targets, []string{"Patient", "Group", "Device", "Location"}) {
		t.Errorf("Observation.subject targets = %v", e.Targets)
	}
	if e := TypeByName("Reference"); e == nil {
		t.Error("no Reference type")
	}
}
