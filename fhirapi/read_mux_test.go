package fhirapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store/open"
)

var bundleStamp = regexp.MustCompile(`"resourceType":"Bundle","id":"[^"]*","meta":\{"lastUpdated":"[^"]*"\}`)

type eventLog struct {
	mu  sync.Mutex
	evs []access.Event
}

func (l *eventLog) Record(e access.Event) {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	l.mu.Unlock()
}

func (l *eventLog) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.evs {
		fmt.Fprintf(&b, "%+v %v %s;", e.Request, e.Allowed, e.Reason)
	}
	l.evs = nil
	return b.String()
}

// Every request serveRead takes is answered, and audited, exactly as the
// mux answers it; every request it must not take still reaches the mux.
func TestServeReadAnswersAsTheMux(t *testing.T) {
	st, err := open.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), open.WithMigrate())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec := &eventLog{}
	s := New(Config{Base: "/fhir"}, Deps{
		Store:   st,
		Indexer: search.NewIndexer(nil),
		Guard:   &access.Guard{Policy: access.DemoPolicy{}, Recorder: rec, Default: access.Principal{Subject: "t", Role: "admin"}},
		Logger:  log,
	})
	long := strings.Repeat("x", 2000)
	for _, put := range []struct{ path, body string }{
		{"/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","active":true,"name":[{"family":"` + long + `"}]}`},
		{"/fhir/Patient/a.b", `{"resourceType":"Patient","id":"a.b"}`},
		{"/fhir/Patient/.x", `{"resourceType":"Patient","id":".x"}`},
		{"/fhir/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("PUT", put.path, strings.NewReader(put.body))
		r.Header.Set("Content-Type", "application/fhir+json")
		s.ServeHTTP(w, r)
		if w.Code != 201 {
			t.Fatalf("PUT %s: %d %s", put.path, w.Code, w.Body)
		}
	}
	rec.take()
	viaMux := func(w http.ResponseWriter, r *http.Request) {
		// ServeHTTP without serveRead.
		s.mux.ServeHTTP(w, s.trimSlash(r))
	}
	type req struct {
		method, target string
		header         []string // name, value, ...
	}
	var reqs []req
	for _, p := range []string{
		"/fhir/Patient/p1", "/fhir/Patient/p1/", "/fhir/Patient/p1//", "/fhir/Patient/nope", "/fhir/patient/p1", "/fhir/Nope/p1",
		"/fhir/Patient/a.b", "/fhir/Patient/.x", "/fhir/Patient/..", "/fhir/Patient/.", "/fhir/Patient/a%2Eb", "/fhir/Patient/p%31",
		"/fhir/Patient/a%2Fb", "/fhir/Patient/a%20b", "/fhir/Patient/%E4%B8%AD", "/fhir/Patient/" + strings.Repeat("a", 65),
		"/fhir/Patient/$match", "/fhir/Patient/%24match", "/fhir/Patient/$everything", "/fhir/Patient/p1/$everything", "/fhir/Patient/$audit",
		"/fhir/Patient/_history", "/fhir/Patient/_search", "/fhir/Patient/p1/_history", "/fhir/Patient/p1/_history/1", "/fhir/Patient/p1/Observation",
		"/fhir/Patient//p1", "/fhir//Patient/p1", "/fhir/metadata", "/fhir/Patient", "/fhir/", "/fhir/$audit",
		"/fhir/Patient/p1?_summary=true", "/fhir/Patient/p1?_summary=count", "/fhir/Patient/p1?_summary=bogus", "/fhir/Patient/p1?_elements=id,active",
		"/fhir/Patient/p1?_elements=nope", "/fhir/Patient/p1?_format=json", "/fhir/Patient/p1?_format=xml", "/fhir/Patient/p1?_format=text/html",
		"/fhir/Patient/p1?_pretty=true", "/fhir/Patient/p1?_format=application/fhir%2Bjson", "/fhir/Patient/p1?_summary=true&_elements=id",
	} {
		reqs = append(reqs, req{"GET", p, nil}, req{"HEAD", p, nil})
	}
	for _, h := range [][]string{
		{"Accept", "application/fhir+xml"}, {"Accept", "application/json"}, {"Accept", "text/plain"}, {"Accept", "*/*"},
		{"Accept-Encoding", "gzip"}, {"If-None-Match", `W/"1"`}, {"If-None-Match", `W/"2"`}, {"If-None-Match", `*`},
		{"If-Modified-Since", "Sun, 06 Dec 2099 00:00:00 GMT"}, {"If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}, {"If-Modified-Since", "garbage"},
		{"Accept-Encoding", "gzip", "If-None-Match", `W/"1"`},
	} {
		reqs = append(reqs, req{"GET", "/fhir/Patient/p1", h}, req{"HEAD", "/fhir/Patient/p1", h}, req{"GET", "/fhir/Patient/p1?_summary=true", h})
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get", "TRACE"} {
		reqs = append(reqs, req{m, "/fhir/Patient/nope", nil})
	}
	answer := func(h func(http.ResponseWriter, *http.Request), q req) (string, string) {
		r := httptest.NewRequest(q.method, q.target, nil)
		for i := 0; i+1 < len(q.header); i += 2 {
			r.Header.Set(q.header[i], q.header[i+1])
		}
		w := httptest.NewRecorder()
		h(w, r)
		hdr := w.Header().Clone()
		hdr.Del("Date")
		// A Bundle's own id and time differ from one answer to the next.
		body := bundleStamp.ReplaceAllString(w.Body.String(), `"resourceType":"Bundle"`)
		return fmt.Sprintf("%d %v %q", w.Code, hdr, body), rec.take()
	}
	for _, q := range reqs {
		got, gotAudit := answer(s.ServeHTTP, q)
		want, wantAudit := answer(viaMux, q)
		if got != want {
			t.Errorf("%s %s %v:\n got %.400s\nwant %.400s", q.method, q.target, q.header, got, want)
		}
		if gotAudit != wantAudit {
			t.Errorf("%s %s %v: audited\n %s\nwant %s", q.method, q.target, q.header, gotAudit, wantAudit)
		}
	}
}
