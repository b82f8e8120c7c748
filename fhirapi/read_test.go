package fhirapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Reads by id are answered without the mux (serveRead); every other path
// of the same shape still reaches the handler the mux would choose.
func TestReadRoutes(t *testing.T) {
	base, _ := hookNode(t, &tagHook{})
	if code, _ := send(t, "PUT", base+"/Patient/p1", `{"resourceType":"Patient","id":"p1","active":true}`); code != 201 {
		t.Fatalf("PUT: %d", code)
	}
	for _, c := range []struct {
		method, path string
		status       int
		body         string // a substring of the body
	}{
		{"GET", "/Patient/p1", 200, `"active":true`},
		{"HEAD", "/Patient/p1", 200, ""},
		{"GET", "/Patient/p1/", 200, `"id":"p1"`},
		{"GET", "/Patient/p1?_elements=id", 200, `SUBSETTED`},
		{"GET", "/Patient/p1?_pretty=true", 200, "{\n  \"resourceType\": \"Patient\""},
		{"GET", "/Patient/nope", 404, `Patient/nope is not known`},
		{"GET", "/patient/p1", 404, `not a FHIR R4 resource type`},
		{"GET", "/Patient/_history", 200, `"type":"history"`},
		{"GET", "/Patient/p1/_history", 200, `"type":"history"`},
		{"GET", "/Patient/p1/_history/1", 200, `"active":true`},
		{"GET", "/Patient/p%2F1", 400, `not a valid resource id`},
		{"GET", "/Patient/..", 200, `"type":"searchset"`}, // the mux cleans the path: [base]/
		{"GET", "/metadata", 200, `CapabilityStatement`},
		{"DELETE", "/Patient/p1", 204, ``},
		{"GET", "/Patient/p1", 410, `was deleted`},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.body) {
			t.Errorf("%s %s: %d %s, want %d with %q", c.method, c.path, resp.StatusCode, b, c.status, c.body)
		}
		if c.method == "HEAD" && len(b) != 0 {
			t.Errorf("HEAD: a body of %d bytes", len(b))
		}
		if c.status == 200 && c.method != "DELETE" && resp.Header.Get("Content-Type") != "application/fhir+json; charset=utf-8" {
			t.Errorf("%s %s: Content-Type %q", c.method, c.path, resp.Header.Get("Content-Type"))
		}
		if c.path == "/Patient/p1" && c.status == 200 && (resp.Header.Get("ETag") != `W/"1"` || resp.Header.Get("Last-Modified") == "") {
			t.Errorf("read headers: %v", resp.Header)
		}
		if c.status == 200 && c.method == "GET" && strings.HasPrefix(c.path, "/Patient/p1") && resp.ContentLength != int64(len(b)) {
			t.Errorf("%s %s: Content-Length %d, body %d bytes", c.method, c.path, resp.ContentLength, len(b))
		}
	}
}
