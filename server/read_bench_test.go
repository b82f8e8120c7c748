package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/internal/cputime"
	"github.com/xietong/xietong/server"
)

// BenchmarkRead measures GET [base]/Patient/{id} through the node's whole
// handler chain (routing, access guard, store read, response), in process,
// beside a bare handler writing the same bytes.
func BenchmarkRead(b *testing.B) {
	srv, err := server.New(context.Background(), server.Config{
		DB:     filepath.Join(b.TempDir(), "read.db"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	h := srv.Handler()
	var ids []string
	for i := 0; i < 200; i++ {
		req := httptest.NewRequest("POST", "/fhir/Patient", strings.NewReader(strings.Replace(patient, "110101199003077774", residentID(i), 1)))
		req.Header.Set("Content-Type", fj)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 201 {
			b.Fatalf("create: %d %s", rec.Code, rec.Body)
		}
		ids = append(ids, strings.Split(rec.Header().Get("Location"), "/")[5])
	}
	req := httptest.NewRequest("GET", "/fhir/Patient/"+ids[0], nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
		w.Write(body)
	})
	b.Run("xietong", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cputime.Process()
		defer func() {
			// The audit trail of the last reads is appended within the
			// writer's flush window (1 s): count its CPU too.
			b.StopTimer()
			time.Sleep(1500 * time.Millisecond)
			b.ReportMetric(float64((cputime.Process()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				req := httptest.NewRequest("GET", "/fhir/Patient/"+ids[i%len(ids)], nil)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("read: %d", rec.Code)
				}
				i++
			}
		})
	})
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cputime.Process()
		defer func() {
			b.ReportMetric(float64((cputime.Process()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest("GET", "/fhir/Patient/x", nil)
				rec := httptest.NewRecorder()
				bare.ServeHTTP(rec, req)
			}
		})
	})
}
