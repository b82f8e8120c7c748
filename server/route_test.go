package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The node's handler sends clean paths below /fhir/ to the API without the
// mux; every request, taken that way or not, is answered as the mux
// answers it: the same status, headers and body.
func TestHandlerAnswersAsTheMux(t *testing.T) {
	s, err := New(context.Background(), Config{DB: filepath.Join(t.TempDir(), "r.db"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := s.Handler()
	create := httptest.NewRequest("PUT", "/fhir/Patient/p1", strings.NewReader(`{"resourceType":"Patient","id":"p1","active":true}`))
	create.Header.Set("Content-Type", "application/fhir+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, create)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	for _, c := range []struct{ method, target string }{
		{"GET", "/fhir/Patient/p1"},
		{"HEAD", "/fhir/Patient/p1"},
		{"GET", "/fhir/Patient/p1/_history/1"},
		{"GET", "/fhir/Patient/p1/"},                 // trailing slash: the mux
		{"GET", "/fhir/Patient/../Patient/p1"},       // dot segments: the mux redirects
		{"GET", "/fhir/./Patient/p1"},                // likewise
		{"GET", "/fhir//Patient/p1"},                 // an empty segment
		{"GET", "/fhir/Patient%2Fp1"},                // escaped: the mux
		{"GET", "/fhir/Patient/nope"},                // 404 OperationOutcome
		{"GET", "/fhir/patient/p1"},                  // unknown type
		{"GET", "/fhir/metadata"},                    // not a read by id
		{"GET", "/fhir"},                             // the base itself: the mux
		{"GET", "/fhirx/Patient/p1"},                 // not below /fhir/
		{"GET", "/healthz"},                          // the node's own
		{"DELETE", "/fhir/Nope/1"},                   // unknown type, a write
		{"PATCH", "/fhir/Patient/p1"},                // a write without a body
		{"CONNECT", "/fhir/Patient/p1"},              // the mux's own rules
		{"GET", "/.well-known/health-card-keys"},     // another handler
		{"GET", "/fhir/Patient/p1?_elements=active"}, // shaped
	} {
		t.Run(c.method+" "+c.target, func(t *testing.T) {
			serve := func(h http.Handler) *httptest.ResponseRecorder {
				req := httptest.NewRequest(c.method, "http://node"+c.target, nil)
				if c.method == "CONNECT" {
					req.URL.Path = c.target
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec
			}
			got, want := serve(h), serve(s.mux)
			if got.Code != want.Code {
				t.Fatalf("status %d, the mux %d", got.Code, want.Code)
			}
			for _, k := range []string{"Content-Type", "Location", "Etag", "Last-Modified", "Allow", "Content-Length"} {
				if got.Header().Get(k) != want.Header().Get(k) {
					t.Errorf("%s: %q, the mux %q", k, got.Header().Get(k), want.Header().Get(k))
				}
			}
			// A searchset's own id and time differ from one answer to the next.
			if bundleStamp.ReplaceAllString(got.Body.String(), "") != bundleStamp.ReplaceAllString(want.Body.String(), "") {
				t.Errorf("body:\n%s\nthe mux:\n%s", got.Body, want.Body)
			}
		})
	}
}

var bundleStamp = regexp.MustCompile(`^\{"resourceType":"Bundle","id":"[^"]*","meta":\{"lastUpdated":"[^"]*"\}`)
