package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/xietong/xietong/server"
)

func fuzzNode(f *testing.F) http.Handler {
	srv, err := server.New(context.Background(), server.Config{
		DB:     filepath.Join(f.TempDir(), "fuzz.db"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	return srv.Handler()
}

// checkAnswer fails on a server error or an error that is not an
// OperationOutcome: whatever a client sends gets a clear 4xx.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: status %d: %s", what, rec.Code, rec.Body.String())
	}
	if rec.Code >= 400 {
		var oo struct{ ResourceType string }
		if err := json.Unmarshal(rec.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" {
			t.Fatalf("%s: status %d without an OperationOutcome: %s", what, rec.Code, rec.Body.String())
		}
	}
}

// FuzzIntake posts arbitrary bodies as a resource and as a Bundle.
func FuzzIntake(f *testing.F) {
	for _, seed := range []string{
		patient,
		`{"resourceType":"Patient","name":[{"family":"x"}],"birthDate":"2020-02-30"}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`,
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient?name=x"}},{"request":{"method":"DELETE","url":"Patient?_id=1"}}]}`,
		`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1e400}}`,
		`[[[[[[[[[[`, `{"a":1,"a":2}`, "\xff\xfe", `{"resourceType":"Patient","contained":[{"resourceType":"Patient","contained":[]}]}`,
	} {
		f.Add([]byte(seed))
	}
	h := fuzzNode(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/fhir/Patient", "/fhir"} {
			req := httptest.NewRequest("POST", path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/fhir+json")
			rec := httptest.NewRecorder()
			withDeadline(t, string(body), func() { h.ServeHTTP(rec, req) })
			checkAnswer(t, rec, "POST "+path)
		}
	})
}

// FuzzSearchQuery sends arbitrary query strings to a type search.
func FuzzSearchQuery(f *testing.F) {
	for _, seed := range []string{
		"name=x", "birthdate=ge2020-01&_count=5", "identifier=a|b,|c,d|&_sort=-birthdate", "_summary=count",
		"general-practitioner:Practitioner=1", "name:contains=%00", "_count=-1", "family:exact=\\,", "birthdate=2020-13",
		"_lastUpdated=gt2020&_total=none", "_has:Observation:patient:code=x", "organization.name=x", "gender:missing=true",
	} {
		f.Add(seed)
	}
	h := fuzzNode(f)
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest("GET", "/fhir/Patient", nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		withDeadline(t, query, func() { h.ServeHTTP(rec, req) })
		checkAnswer(t, rec, "GET /fhir/Patient?"+query)
	})
}

// FuzzSearchModifiers sends arbitrary query strings to the searches with
// composites, near and terminology modifiers (Observation, Location,
// Condition, ValueSet).
func FuzzSearchModifiers(f *testing.F) {
	types := []string{"Observation", "Location", "Condition", "ValueSet"}
	for i, seed := range []string{
		"component-code-value-quantity=8480-6$gt140", "near=39.9|116.6|5|mi", "code:in=http://x/vs", "url:above=http://a/b/c",
		"combo-code-value-quantity=a$1|b|c,d$lt2", "near=91|0", "code:below=s|c&code:not-in=v", "url:below=%00",
		"code-value-concept=a$b|c$d", "near:missing=true", "code:above=|", "_content=x",
	} {
		f.Add(uint8(i), seed)
	}
	h := fuzzNode(f)
	f.Fuzz(func(t *testing.T, which uint8, query string) {
		path := "/fhir/" + types[int(which)%len(types)]
		req := httptest.NewRequest("GET", path, nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		withDeadline(t, query, func() { h.ServeHTTP(rec, req) })
		checkAnswer(t, rec, "GET "+path+"?"+query)
	})
}

// withDeadline fails the fuzz case when one request takes more than ten
// seconds: a hang is a bug as much as a crash.
func withDeadline(t *testing.T, input string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		panic(fmt.Sprintf("request did not finish in 10s; input %q", input))
	}
}
