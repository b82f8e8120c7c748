package validate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/xietong/xietong/fhir/fhirjson"
)

const xdiv = `<div xmlns=\"http://www.w3.org/1999/xhtml\">`

// obs is a valid Observation to break: {{}} is replaced by extra elements.
func obs(extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"resourceType":"Observation","status":"final","code":{"text":"weight"}` + extra + `}`
}

func pat(extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return `{"resourceType":"Patient"` + extra + `}`
}

func mustDecode(t testing.TB, s string) map[string]any {
	t.Helper()
	res, err := fhirjson.Decode([]byte(s), fhirjson.Limits{})
	if err != nil {
		t.Fatalf("Decode(%s): %v", s, err)
	}
	return res
}

// TestInvalid: each resource breaks one rule, and the validator reports
// exactly that issue (path, code, severity) and no other error.
func TestInvalid(t *testing.T) {
	long65 := strings.Repeat("a", 65)
	tests := []struct {
		name     string
		json     string
		path     string
		code     string
		severity string // "" means error
		msg      string // a part of the message, optional
	}{
		// Resource types and unknown elements.
		{"unknown resource type", `{"resourceType":"Patientt"}`, "Patientt", CodeStructure, "", "unknown resource type 'Patientt'"},
		{"abstract resource type", `{"resourceType":"DomainResource"}`, "DomainResource", CodeStructure, "", "unknown resource type"},
		{"data type as resource", `{"resourceType":"HumanName"}`, "HumanName", CodeStructure, "", "unknown resource type"},
		{"unknown element", pat(`"foo":1`), "Patient.foo", CodeStructure, "", "unknown element 'foo': Patient has no element"},
		{"unknown nested element", pat(`"name":[{"family":"x","surname":"y"}]`), "Patient.name[0].surname", CodeStructure, "", "HumanName has no element"},
		{"unknown backbone element", pat(`"contact":[{"gender":"male","phone":"1"}]`), "Patient.contact[0].phone", CodeStructure, "", "Patient.contact has no element"},
		{"choice suffix unknown type", obs(`"valueFoo":1`), "Observation.valueFoo", CodeStructure, "", "'valueFoo' is not a valid type for Observation.value[x]"},
		{"choice suffix not allowed", pat(`"deceasedString":"yes"`), "Patient.deceasedString", CodeStructure, "", "use one of deceasedBoolean, deceasedDateTime"},
		{"choice lower-case suffix", obs(`"valuestring":"x"`), "Observation.valuestring", CodeStructure, "", "unknown element"},
		{"choice without suffix", obs(`"value":1`), "Observation.value", CodeStructure, "", "needs a type suffix"},
		{"two types of a choice", obs(`"valueString":"a","valueBoolean":true`), "Observation.value[x]", CodeStructure, "", "found both 'valueBoolean' and 'valueString'"},
		{"underscore for unknown element", pat(`"_foo":{"id":"a"}`), "Patient._foo", CodeStructure, "", "extends an unknown element 'foo'"},
		{"underscore for complex element", pat(`"_name":[{"id":"a"}]`), "Patient._name", CodeStructure, "", "'_name' is not allowed"},
		{"resourceType in a data type", pat(`"name":[{"resourceType":"HumanName","family":"x"}]`), "Patient.name[0].resourceType", CodeStructure, "", "only allowed on resources"},

		// JSON types and arrays.
		{"string for an object", pat(`"name":["Smith"]`), "Patient.name[0]", CodeStructure, "", "expected an object (a HumanName), found a string"},
		{"array for 0..1", pat(`"gender":["male"]`), "Patient.gender", CodeStructure, "", "must be a single value, not an array (cardinality 0..1)"},
		{"object for 0..*", pat(`"name":{"family":"x"}`), "Patient.name", CodeStructure, "", "must be an array"},
		{"single primitive for 0..*", pat(`"name":[{"given":"Ann"}]`), "Patient.name[0].given", CodeStructure, "", "must be an array"},
		{"string for boolean", pat(`"active":"true"`), "Patient.active", CodeStructure, "", `(write true, not "true")`},
		{"string for integer", obs(`"valueInteger":"5"`), "Observation.valueInteger", CodeStructure, "", `(write 5, not "5")`},
		{"string for decimal", obs(`"valueQuantity":{"value":"1.5"}`), "Observation.valueQuantity.value", CodeStructure, "", "expected a JSON number (a decimal)"},
		{"number for string", pat(`"name":[{"family":12}]`), "Patient.name[0].family", CodeStructure, "", "expected a JSON string (a string), found a number"},
		{"number for date", pat(`"birthDate":1970`), "Patient.birthDate", CodeStructure, "", "found a number"},
		{"object for code", pat(`"gender":{"code":"male"}`), "Patient.gender", CodeStructure, "", "found an object"},
		{"boolean for resource", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":true}]}`, "Bundle.entry[0].resource", CodeStructure, "", "expected a resource"},
		{"null value", pat(`"gender":null`), "Patient.gender", CodeStructure, "", "null is not allowed"},
		{"null array item without extension", pat(`"name":[{"given":["a",null]}]`), "Patient.name[0].given[1]", CodeStructure, "", "null is not allowed"},
		{"null object in array", pat(`"name":[null]`), "Patient.name[0]", CodeStructure, "", "null is not allowed"},
		{"primitive extension arrays misaligned", pat(`"name":[{"given":["a"],"_given":[null,{"id":"x"}]}]`), "Patient.name[0].given", CodeStructure, "", "'_given' has 2 items but 'given' has 1"},
		{"primitive extension null on both sides", pat(`"name":[{"given":["a",null],"_given":[{"id":"x"},null]}]`), "Patient.name[0].given[1]", CodeStructure, "", "null is not allowed"},
		{"primitive extension not an object", pat(`"_birthDate":"x"`), "Patient.birthDate", CodeStructure, "", "'_birthDate' must be an object"},
		{"primitive extension of a list not an array", pat(`"name":[{"given":["a"],"_given":{"id":"x"}}]`), "Patient.name[0].given", CodeStructure, "", "must be an array lining up"},
		{"xhtml takes no extensions", pat(`"text":{"status":"generated","div":"` + xdiv + `x</div>","_div":{"extension":[{"url":"http://x","valueString":"y"}]}}`), "Patient.text.div.extension", CodeStructure, "", "cardinality 0..0"},

		// Cardinality.
		{"missing status", `{"resourceType":"Observation","code":{"text":"x"}}`, "Observation.status", CodeRequired, "", "missing required element status (cardinality 1..1)"},
		{"missing code", `{"resourceType":"Observation","status":"final"}`, "Observation.code", CodeRequired, "", "missing required element code"},
		{"missing in backbone", pat(`"link":[{"type":"seealso"}]`), "Patient.link[0].other", CodeRequired, "", ""},
		{"missing in nested data type", obs(`"referenceRange":[{"low":{"value":1}}],"component":[{"valueString":"x"}]`), "Observation.component[0].code", CodeRequired, "", ""},
		{"missing required choice", `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/1"}}`, "MedicationRequest.medication[x]", CodeRequired, "", "missing required element medication[x]"},
		{"extension without url", pat(`"extension":[{"valueString":"x"}]`), "Patient.extension[0].url", CodeRequired, "", ""},
		{"bundle entry request without method", `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"url":"Patient"}}]}`, "Bundle.entry[0].request.method", CodeRequired, "", ""},

		// Empty values.
		{"empty object", pat(`"maritalStatus":{}`), "Patient.maritalStatus", CodeStructure, "", "empty object"},
		{"empty array", pat(`"name":[]`), "Patient.name", CodeStructure, "", "empty array"},
		{"empty object in array", pat(`"name":[{}]`), "Patient.name[0]", CodeStructure, "", "empty object"},
		{"empty string", pat(`"name":[{"family":""}]`), "Patient.name[0].family", CodeValue, "", "empty string"},
		{"empty code", pat(`"gender":""`), "Patient.gender", CodeValue, "", "empty string"},
		{"whitespace-only string", pat(`"name":[{"family":"   "}]`), "Patient.name[0].family", CodeValue, SeverityWarning, "only whitespace"},
		{"control character", pat(`"name":[{"family":"a\u0001b"}]`), "Patient.name[0].family", CodeValue, SeverityWarning, "control character 0x01"},

		// Primitive formats.
		{"id with space", pat(`"id":"a b"`), "Patient.id", CodeValue, "", "'a b' is not a valid id"},
		{"id too long", pat(`"id":"` + long65 + `"`), "Patient.id", CodeValue, "", "65 characters"},
		{"id underscore", pat(`"id":"a_b"`), "Patient.id", CodeValue, "", "only A-Z, a-z, 0-9"},
		{"date month 13", pat(`"birthDate":"1970-13-01"`), "Patient.birthDate", CodeValue, "", "'1970-13-01' is not a valid date (month 13)"},
		{"date day 32", pat(`"birthDate":"1970-01-32"`), "Patient.birthDate", CodeValue, "", "(day 32)"},
		{"date April 31", pat(`"birthDate":"1970-04-31"`), "Patient.birthDate", CodeValue, "", "(month 04 has 30 days)"},
		{"date February 29 non-leap", pat(`"birthDate":"2023-02-29"`), "Patient.birthDate", CodeValue, "", "(2023 is not a leap year)"},
		{"date year 0000", pat(`"birthDate":"0000"`), "Patient.birthDate", CodeValue, "", "year 0000"},
		{"date with a time", pat(`"birthDate":"1970-01-01T00:00:00Z"`), "Patient.birthDate", CodeValue, "", "expected YYYY, YYYY-MM or YYYY-MM-DD"},
		{"date slashes", pat(`"birthDate":"1970/01/01"`), "Patient.birthDate", CodeValue, "", ""},
		{"dateTime without time zone", obs(`"effectiveDateTime":"2020-01-01T10:00:00"`), "Observation.effectiveDateTime", CodeValue, "", "needs a time zone"},
		{"dateTime without seconds", obs(`"effectiveDateTime":"2020-01-01T10:00Z"`), "Observation.effectiveDateTime", CodeValue, "", "expected hh:mm:ss"},
		{"dateTime hour 24", obs(`"effectiveDateTime":"2020-01-01T24:00:00Z"`), "Observation.effectiveDateTime", CodeValue, "", "(hour 24)"},
		{"dateTime zone +15:00", obs(`"effectiveDateTime":"2020-01-01T10:00:00+15:00"`), "Observation.effectiveDateTime", CodeValue, "", "outside -14:00..+14:00"},
		{"instant without time", obs(`"issued":"2020-01-01"`), "Observation.issued", CodeValue, "", "not a valid instant"},
		{"time with zone", obs(`"valueTime":"10:00:00Z"`), "Observation.valueTime", CodeValue, "", "without a time zone"},
		{"time minute 60", obs(`"valueTime":"10:60:00"`), "Observation.valueTime", CodeValue, "", "(minute 60)"},
		{"integer with fraction", obs(`"valueInteger":1.5`), "Observation.valueInteger", CodeValue, "", "integers have no fraction"},
		{"integer with exponent", obs(`"valueInteger":1e3`), "Observation.valueInteger", CodeValue, "", "integers have no fraction"},
		{"integer out of range", obs(`"valueInteger":2147483648`), "Observation.valueInteger", CodeValue, "", "32-bit range"},
		{"positiveInt zero", obs(`"effectiveTiming":{"repeat":{"count":0}}`), "Observation.effectiveTiming.repeat.count", CodeValue, "", "must be 1 or more"},
		{"unsignedInt negative", `{"resourceType":"Bundle","type":"searchset","total":-1}`, "Bundle.total", CodeValue, "", "must be 0 or more"},
		{"uri with space", pat(`"identifier":[{"system":"http://example.org/a b","value":"1"}]`), "Patient.identifier[0].system", CodeValue, "", "must not contain whitespace"},
		{"url with space", pat(`"photo":[{"url":"http://x/a b"}]`), "Patient.photo[0].url", CodeValue, "", "not a valid url"},
		{"canonical with space", pat(`"meta":{"profile":["http://x/a b"]}`), "Patient.meta.profile[0]", CodeValue, "", "not a valid canonical"},
		{"oid without urn", pat(`"extension":[{"url":"http://x","valueOid":"1.2.3"}]`), "Patient.extension[0].valueOid", CodeValue, "", "urn:oid:"},
		{"oid leading zero", pat(`"extension":[{"url":"http://x","valueOid":"urn:oid:1.02"}]`), "Patient.extension[0].valueOid", CodeValue, "", ""},
		{"uuid upper case", pat(`"extension":[{"url":"http://x","valueUuid":"urn:uuid:C757873D-EC9A-4326-A141-556F43239520"}]`), "Patient.extension[0].valueUuid", CodeValue, "", "lowercase UUID"},
		{"code with double space", pat(`"extension":[{"url":"http://x","valueCode":"a  b"}]`), "Patient.extension[0].valueCode", CodeValue, "", "consecutive whitespace"},
		{"code with trailing space", pat(`"extension":[{"url":"http://x","valueCode":"a "}]`), "Patient.extension[0].valueCode", CodeValue, "", "trailing whitespace"},
		{"base64 wrong length", pat(`"photo":[{"data":"abc"}]`), "Patient.photo[0].data", CodeValue, "", "multiple of 4"},
		{"base64 bad character", pat(`"photo":[{"data":"ab*c"}]`), "Patient.photo[0].data", CodeValue, "", "is not base64"},
		{"markdown empty", `{"resourceType":"Questionnaire","status":"draft","description":""}`, "Questionnaire.description", CodeValue, "", "empty string"},

		// Narrative.
		{"narrative not a div", pat(`"text":{"status":"generated","div":"<p>x</p>"}`), "Patient.text.div", CodeValue, "", "must be a single <div>"},
		{"narrative without namespace", pat(`"text":{"status":"generated","div":"<div>x</div>"}`), "Patient.text.div", CodeValue, "", "XHTML namespace"},
		{"narrative script", pat(`"text":{"status":"generated","div":"` + xdiv + `<script>alert(1)</script></div>"}`), "Patient.text.div", CodeValue, "", "<script> is not allowed"},
		{"narrative event handler", pat(`"text":{"status":"generated","div":"` + xdiv + `<p onclick=\"x()\">x</p></div>"}`), "Patient.text.div", CodeValue, "", "event handler attribute onclick"},
		{"narrative javascript link", pat(`"text":{"status":"generated","div":"` + xdiv + `<a href=\" JavaScript:x()\">x</a></div>"}`), "Patient.text.div", CodeValue, "", "script URL"},
		{"narrative unclosed tag", pat(`"text":{"status":"generated","div":"` + xdiv + `<p>x</div>"}`), "Patient.text.div", CodeValue, "", "does not match"},
		{"narrative content after div", pat(`"text":{"status":"generated","div":"` + xdiv + `x</div><p>y</p>"}`), "Patient.text.div", CodeValue, "", "after the closing"},
		{"narrative empty", pat(`"text":{"status":"generated","div":"` + xdiv + ` </div>"}`), "Patient.text.div", CodeValue, "", "txt-2"},
		{"narrative form", pat(`"text":{"status":"generated","div":"` + xdiv + `<form>x</form></div>"}`), "Patient.text.div", CodeValue, "", "<form> is not allowed"},

		// Required bindings.
		{"status not in value set", obs(`"status":"done"`)[0:0] + `{"resourceType":"Observation","status":"done","code":{"text":"x"}}`, "Observation.status", CodeCodeInvalid, "",
			"'done' is not in the required value set http://hl7.org/fhir/ValueSet/observation-status (amended, cancelled, corrected, entered-in-error, final, preliminary, registered, unknown)"},
		{"gender not in value set", pat(`"gender":"M"`), "Patient.gender", CodeCodeInvalid, "", "administrative-gender"},
		{"binding in a backbone element", pat(`"contact":[{"name":{"family":"x"},"gender":"F"}]`), "Patient.contact[0].gender", CodeCodeInvalid, "", ""},
		{"binding in a data type", pat(`"text":{"status":"made-up","div":"` + xdiv + `x</div>"}`), "Patient.text.status", CodeCodeInvalid, "", "narrative-status"},
		{"binding on a CodeableConcept", `{"resourceType":"Condition","subject":{"reference":"Patient/1"},"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"activ"}]}}`, "Condition.clinicalStatus", CodeCodeInvalid, "", "condition-clinical (active, inactive, recurrence, relapse, remission, resolved) (found 'activ')"},
		{"binding case-sensitive", `{"resourceType":"Bundle","type":"Collection"}`, "Bundle.type", CodeCodeInvalid, "", ""},

		// References.
		{"reference unknown type", obs(`"subject":{"reference":"Pateint/1"}`), "Observation.subject.reference", CodeValue, "", "unknown resource type 'Pateint'"},
		{"reference bad id", obs(`"subject":{"reference":"Patient/` + long65 + `"}`), "Observation.subject.reference", CodeValue, "", "invalid id"},
		{"reference bad version", obs(`"subject":{"reference":"Patient/1/_history/a_b"}`), "Observation.subject.reference", CodeValue, "", "invalid version id"},
		{"reference free text", obs(`"subject":{"reference":"John Smith"}`), "Observation.subject.reference", CodeValue, "", "contains whitespace"},
		{"reference bare id", obs(`"subject":{"reference":"12345"}`), "Observation.subject.reference", CodeValue, "", "expected Type/id"},
		{"reference bad uuid", obs(`"subject":{"reference":"urn:uuid:1234"}`), "Observation.subject.reference", CodeValue, "", "lowercase UUID"},
		{"reference bad oid", obs(`"subject":{"reference":"urn:oid:9.1"}`), "Observation.subject.reference", CodeValue, "", "urn:oid:"},
		{"conditional reference unknown type", obs(`"subject":{"reference":"Person2?identifier=1"}`), "Observation.subject.reference", CodeValue, "", "'Person2' is not a resource type"},
		{"reference type mismatch", obs(`"subject":{"reference":"Patient/1","type":"Group"}`), "Observation.subject.type", CodeInvalid, "", "type 'Group' does not match the type of the reference 'Patient/1' (Patient)"},
		{"absolute reference type mismatch", obs(`"subject":{"reference":"https://fhir.example.org/r4/Patient/1/_history/3","type":"Group"}`), "Observation.subject.type", CodeInvalid, "", ""},
		{"reference type unknown", obs(`"subject":{"identifier":{"value":"1"},"type":"Human"}`), "Observation.subject.type", CodeCodeInvalid, "", "'Human' is not a resource type"},
		{"local reference without contained", obs(`"subject":{"reference":"#p1"}`), "Observation.subject.reference", CodeInvariant, "", "ref-1"},

		// Extensions.
		{"extension with value and extensions", pat(`"extension":[{"url":"http://x","valueString":"a","extension":[{"url":"y","valueString":"b"}]}]`), "Patient.extension[0]", CodeInvariant, "", "not both (ext-1)"},
		{"extension with neither", pat(`"extension":[{"url":"http://x"}]`), "Patient.extension[0]", CodeInvariant, "", "(ext-1)"},
		{"modifierExtension without url", pat(`"modifierExtension":[{"valueBoolean":true}]`), "Patient.modifierExtension[0].url", CodeRequired, "", ""},
		{"extension of a primitive without url", pat(`"birthDate":"1970","_birthDate":{"extension":[{"valueString":"x"}]}`), "Patient.birthDate.extension[0].url", CodeRequired, "", ""},
		{"nested extension value invalid", pat(`"extension":[{"url":"http://x","extension":[{"url":"a","valueDate":"2020-02-30"}]}]`), "Patient.extension[0].extension[0].valueDate", CodeValue, "", "(month 02 has 29 days)"},

		// Contained resources.
		{"contained in contained", pat(`"contained":[{"resourceType":"Organization","id":"o","contained":[{"resourceType":"Organization","id":"o2"}]}],"managingOrganization":{"reference":"#o"},"generalPractitioner":[{"reference":"#o2"}]`), "Patient.contained[0].contained", CodeInvariant, "", "dom-2"},
		{"contained with versionId", pat(`"contained":[{"resourceType":"Organization","id":"o","meta":{"versionId":"1"}}],"managingOrganization":{"reference":"#o"}`), "Patient.contained[0].meta.versionId", CodeInvariant, "", "dom-4"},
		{"contained with lastUpdated", pat(`"contained":[{"resourceType":"Organization","id":"o","meta":{"lastUpdated":"2020-01-01T00:00:00Z"}}],"managingOrganization":{"reference":"#o"}`), "Patient.contained[0].meta.lastUpdated", CodeInvariant, "", "dom-4"},
		{"contained with security label", pat(`"contained":[{"resourceType":"Organization","id":"o","meta":{"security":[{"code":"R"}]}}],"managingOrganization":{"reference":"#o"}`), "Patient.contained[0].meta.security", CodeInvariant, "", "dom-5"},
		{"contained not referenced", pat(`"contained":[{"resourceType":"Organization","id":"o"}]`), "Patient.contained[0]", CodeInvariant, "", "dom-3"},
		{"contained with unknown element", pat(`"contained":[{"resourceType":"Organization","id":"o","foo":1}],"managingOrganization":{"reference":"#o"}`), "Patient.contained[0].foo", CodeStructure, "", "Organization has no element"},
		{"contained without resourceType", pat(`"contained":[{"id":"o"}]`), "Patient.contained[0]", CodeStructure, "", "missing resourceType"},
		{"contained unknown type", pat(`"contained":[{"resourceType":"Organisation","id":"o"}],"managingOrganization":{"reference":"#o"}`), "Patient.contained[0]", CodeStructure, "", "unknown resource type 'Organisation'"},
		{"contained bad id", pat(`"contained":[{"resourceType":"Organization","id":"o o"}],"managingOrganization":{"reference":"#o o"}`), "Patient.contained[0].id", CodeValue, "", ""},

		// Bundles and Parameters.
		{"bundle entry missing element", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + obs("") + `},{"resource":{"resourceType":"Observation","code":{"text":"x"}}}]}`, "Bundle.entry[1].resource.status", CodeRequired, "", ""},
		{"bundle entry unknown element", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + pat(`"foo":true`) + `}]}`, "Bundle.entry[0].resource.foo", CodeStructure, "", ""},
		{"bundle entry unknown type", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Foo"}}]}`, "Bundle.entry[0].resource", CodeStructure, "", "unknown resource type 'Foo'"},
		{"bundle entry contained not referenced", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + pat(`"contained":[{"resourceType":"Organization","id":"o"}]`) + `}]}`, "Bundle.entry[0].resource.contained[0]", CodeInvariant, "", "dom-3"},
		{"bundle entry references are per resource", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + pat(`"contained":[{"resourceType":"Organization","id":"o"}],"managingOrganization":{"reference":"#o"}`) + `},{"resource":` + obs(`"performer":[{"reference":"#o"}]`) + `}]}`, "Bundle.entry[1].resource.performer[0].reference", CodeInvariant, "", "ref-1"},
		{"parameters resource", `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Patient","gender":"x"}}]}`, "Parameters.parameter[0].resource.gender", CodeCodeInvalid, "", ""},
		{"bundle entry missing type", `{"resourceType":"Bundle"}`, "Bundle.type", CodeRequired, "", ""},
	}
	v := New()
	names := map[string]bool{}
	for _, tt := range tests {
		if names[tt.name] {
			t.Fatalf("duplicate case name %q", tt.name)
		}
		names[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			issues := v.Resource(mustDecode(t, tt.json))
			want := tt.severity
			if want == "" {
				want = SeverityError
			}
			found := false
			for _, is := range issues {
				if is.Path == tt.path && is.Code == tt.code && is.Severity == want && strings.Contains(is.Message, tt.msg) {
					found = true
					if !strings.HasPrefix(is.Message, is.Path+": ") {
						t.Errorf("message %q does not start with the path", is.Message)
					}
					continue
				}
				if is.Severity == SeverityError || want != SeverityError {
					t.Errorf("unexpected issue: %+v", is)
				}
			}
			if !found {
				t.Errorf("missing %s %s at %s (...%s...); got %+v", want, tt.code, tt.path, tt.msg, issues)
			}
		})
	}
	t.Logf("%d invalid cases", len(tests))
}

// TestValid: resources using the less common but valid forms give no issue.
func TestValid(t *testing.T) {
	tests := []struct{ name, json string }{
		{"minimal", pat("")},
		{"value-less primitives", pat(`"name":[{"given":["a",null,"c"],"_given":[null,{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]},{"id":"g3"}]}]`)},
		{"required element by extension only", `{"resourceType":"Observation","_status":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]},"code":{"text":"x"}}`},
		{"primitive extension only on choice", obs(`"_valueString":{"extension":[{"url":"http://x","valueBoolean":true}]}`)},
		{"contained referenced", obs(`"contained":[{"resourceType":"Patient","id":"p"}],"subject":{"reference":"#p"}`)},
		{"contained referring to container", obs(`"id":"o1","contained":[{"resourceType":"Provenance","id":"pv","target":[{"reference":"#"}],"recorded":"2020-01-01T00:00:00Z","agent":[{"who":{"display":"x"}}]}]`)},
		{"contained referenced by canonical", `{"resourceType":"Questionnaire","status":"draft","contained":[{"resourceType":"ValueSet","id":"vs","status":"draft"}],"item":[{"linkId":"1","type":"choice","answerValueSet":"#vs"}]}`},
		{"reference forms", obs(`"subject":{"reference":"Patient/1/_history/2","type":"Patient"},"performer":[{"reference":"https://fhir.example.org/Practitioner/7"},{"reference":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520"},{"reference":"urn:oid:1.2.3.4"},{"reference":"Organization?identifier=http://x|1"},{"reference":"http://example.org/some/thing"},{"identifier":{"value":"1"},"type":"http://example.org/StructureDefinition/Thing"}]`)},
		{"temporal forms", obs(`"effectivePeriod":{"start":"2024","end":"2024-02-29T23:59:60.123+14:00"},"issued":"2024-02-29T00:00:00.5-05:30","valueTime":"23:59:59.999"`)},
		{"number forms", obs(`"valueQuantity":{"value":-1.50e-3},"referenceRange":[{"low":{"value":0},"high":{"value":1e3}}],"effectiveTiming":{"repeat":{"count":2147483647,"frequency":1}}`)},
		{"narrative", pat(`"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><!-- c --><p class=\"x\" style=\"color:red\">a &amp; b<br/><img src=\"data:image/png;base64,AA==\" alt=\"\"/></p><table><tr><td>1</td></tr></table></div>"}`)},
		{"narrative image only", pat(`"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><img src=\"x.png\"/></div>"}`)},
		{"base64 with whitespace", pat(`"photo":[{"data":"QUJD\nREVG\r\nRw=="}]`)},
		{"bundle", `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520","resource":` + pat(`"id":"x"`) + `,"request":{"method":"POST","url":"Patient"}}]}`},
	}
	v := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if issues := v.Resource(mustDecode(t, tt.json)); len(issues) > 0 {
				t.Errorf("unexpected issues: %+v", issues)
			}
		})
	}
}

// TestConcurrent: one Validator used from several goroutines gives each the
// same answer (run with -race).
func TestConcurrent(t *testing.T) {
	inputs := []string{
		pat(`"gender":"M","name":[{"given":["a",null]}]`),
		obs(`"subject":{"reference":"#x"},"contained":[{"resourceType":"Patient","id":"y"}]`),
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + pat(`"birthDate":"2023-02-29"`) + `}]}`,
	}
	v := New()
	want := make([][]Issue, len(inputs))
	trees := make([]map[string]any, len(inputs))
	for i, in := range inputs {
		trees[i] = mustDecode(t, in)
		want[i] = v.Resource(trees[i])
	}
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			for n := 0; n < 200; n++ {
				i := n % len(inputs)
				got := v.Resource(trees[i]) // shared trees: validation only reads them
				if len(got) != len(want[i]) {
					done <- fmt.Errorf("input %d: %d issues, want %d", i, len(got), len(want[i]))
					return
				}
				for j := range got {
					if got[j] != want[i][j] {
						done <- fmt.Errorf("input %d: %+v, want %+v", i, got[j], want[i][j])
						return
					}
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
