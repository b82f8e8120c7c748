package server_test

import (
	"path/filepath"
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
