package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/internal/cputime"
	"github.com/xietong/xietong/server"
)

// BenchmarkPages measures the server time of each main page: the console
// handler with its in-process API calls, without the network. On the full
// demo region:
//
//	go run ./cmd/xietong serve --demo --db /tmp/demo.db   # once; stop it when "demo region loaded"
//	XIETONG_CONSOLE_BENCH_DB=/tmp/demo.db go test ./console -run '^$' -bench Pages -benchtime 20x
//
// Without XIETONG_CONSOLE_BENCH_DB it runs on the tests' small region.
// The one-code and activity tabs count the whole region (seconds on the
// full region): the console keeps those figures (aggregate.go, decision
// 013), so each page is first requested until its figures are ready (the
// time the first count takes is in docs/BENCHMARKS.md, measured apart),
// then measured like the other pages.
// cpu-ms/op is the process's CPU time per page (all threads: the API's
// work, JSON, templates, GC), steadier than wall time on a shared machine.
// The database is opened read-write (the audit trail grows), so point it
// at a scratch copy.
func BenchmarkPages(b *testing.B) {
	var h http.Handler
	if dsn := os.Getenv("XIETONG_CONSOLE_BENCH_DB"); dsn != "" {
		srv, err := server.New(context.Background(), server.Config{DB: dsn, Demo: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		h = srv.Handler()
	} else {
		node(b)
		h = region.srv.Handler()
	}
	cookie := &http.Cookie{Name: "xt_demo", Value: url.Values{"role": {"admin"}, "org": {"demo-org-110112001"}, "name": {"北京运河医院"}}.Encode()}
	// The first patient's ID number, for the look-up by ID.
	req := httptest.NewRequest("GET", "/fhir/Patient/demo-pat-000001", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("no demo patient: %d", rec.Code)
	}
	pages := []struct{ name, path string }{
		{"home", "/"},
		{"patients-by-name", "/patients?q=" + url.QueryEscape("王")},
		{"patient-timeline", "/patients/demo-pat-000001"},
		{"directory", "/directory"},
		{"directory-filtered", "/directory?kind=general-hospital&city=" + url.QueryEscape("廊坊市")},
		{"institution", "/directory/institutions/demo-org-110112001"},
		{"cooperations", "/directory/cooperations"},
		{"practitioners", "/directory/practitioners"},
		{"pools", "/directory/pools"},
		{"service-finder", "/directory/services?kind=tcm-clinic"},
		{"commission", "/commission"},
		{"commission-onecode", "/commission/onecode"},
		{"commission-activity", "/commission/activity?to=2026-10"},
		{"review", "/review"},
		{"catalogue", "/recognition"},
		{"catalogue-item", "/recognition/items/recognition-jjj-lab-Glu"},
		{"qualifications", "/recognition/qualifications?org=demo-org-110112001"},
		{"recognition-check", "/patients/demo-pat-000001/check?item=Glu"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			start := time.Now()
			for counting := true; counting; {
				req := httptest.NewRequest("GET", p.path, nil)
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				counting = strings.Contains(rec.Body.String(), `id="counting"`)
				if counting && time.Since(start) > 10*time.Minute {
					b.Fatalf("%s still counting after 10 minutes", p.path)
				}
				if counting {
					time.Sleep(50 * time.Millisecond)
				}
			}
			cpu := cputime.Process()
			for b.Loop() {
				req := httptest.NewRequest("GET", p.path, nil)
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("GET %s: %d %.300s", p.path, rec.Code, rec.Body.String())
				}
			}
			b.ReportMetric(float64((cputime.Process()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
