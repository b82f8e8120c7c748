package server_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// If-None-Exist in the forms clients send: the query, Type?query, ?query
// and the full URL all find the existing resource (the full URL read as a
// parameter named "http": 400 "Unknown search parameter").
func TestTrialIfNoneExistForms(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "ine.db"))
	body := `{"resourceType":"Patient","identifier":[{"system":"urn:trial","value":"ine"}]}`
	do(t, "POST", base+"/Patient", fj, body, "If-None-Exist", "identifier=urn:trial|ine").wantStatus(t, 201)
	for _, h := range []string{
		"identifier=urn:trial|ine",
		"Patient?identifier=urn:trial|ine",
		"?identifier=urn:trial|ine",
		base + "/Patient?identifier=urn:trial|ine",
	} {
		do(t, "POST", base+"/Patient", fj, body, "If-None-Exist", h).wantStatus(t, 200)
	}
	// a value that holds a '?' is not cut
	do(t, "POST", base+"/Patient", fj, `{"resourceType":"Patient","identifier":[{"system":"urn:q","value":"a?b"}]}`, "If-None-Exist", "identifier=urn:q|a?b").wantStatus(t, 201)
	do(t, "POST", base+"/Patient", fj, `{"resourceType":"Patient","identifier":[{"system":"urn:q","value":"a?b"}]}`, "If-None-Exist", "identifier=urn:q|a?b").wantStatus(t, 200)
	// another type's URL is still an error
	do(t, "POST", base+"/Patient", fj, body, "If-None-Exist", base+"/Observation?code=x").wantStatus(t, 400)
}

// A batch entry's urn:uuid reference to another entry is refused with the
// reason (entries of a batch stand alone), not "names no entry of this
// Bundle", which it does.
func TestTrialBatchURNReferenceMessage(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "batchurn.db"))
	b := `{"resourceType":"Bundle","type":"batch","entry":[
	 {"fullUrl":"urn:uuid:33333333-1111-4111-8111-111111111111","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:33333333-1111-4111-8111-111111111111"}},"request":{"method":"POST","url":"Observation"}}]}`
	r := do(t, "POST", base, fj, b).wantStatus(t, 200)
	if got := r.str("entry", 0, "response", "status"); got != "201 Created" {
		t.Errorf("entry 0: %s", got)
	}
	if got := r.str("entry", 1, "response", "status"); got != "400 Bad Request" {
		t.Errorf("entry 1: %s", got)
	}
	if d := r.str("entry", 1, "response", "outcome", "issue", 0, "diagnostics"); !strings.Contains(d, "entries of a batch stand alone") {
		t.Errorf("entry 1 says %q", d)
	}
	// in a transaction the same reference resolves
	do(t, "POST", base, fj, strings.Replace(b, `"batch"`, `"transaction"`, 1)).wantStatus(t, 200)
}

// An empty PATCH asks for a JSON Patch document, not "a FHIR resource".
func TestTrialEmptyPatchMessage(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "patch.db"))
	do(t, "PUT", base+"/Patient/pp", fj, `{"resourceType":"Patient","id":"pp"}`).wantStatus(t, 201)
	r := do(t, "PATCH", base+"/Patient/pp", "application/json-patch+json", "").wantStatus(t, 400)
	if d := r.diagnostics(); !strings.Contains(d, "JSON Patch document") {
		t.Errorf("empty PATCH: %s", d)
	}
	if d := do(t, "PUT", base+"/Patient/pp", fj, "").wantStatus(t, 400).diagnostics(); !strings.Contains(d, "a FHIR resource is required") {
		t.Errorf("empty PUT: %s", d)
	}
}

// A Bundle entry's validation issue names the element as a FHIRPath from
// the Bundle (it read Bundle.entry[1].resource.Observation.status).
func TestTrialBundleIssuePath(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "bpath.db"))
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Observation","status":"bogus","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}]}`
	r := do(t, "POST", base, fj, tx).wantStatus(t, 400)
	if got := r.str("issue", 0, "expression", 0); got != "Bundle.entry[1].resource.status" {
		t.Errorf("expression %q, want Bundle.entry[1].resource.status", got)
	}
}
