package fhirjson

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/xietong/xietong/internal/cputime"
)

// benchResources returns the resources of one Synthea bundle, each as the
// bytes a client would send (indented, as Synthea writes them).
func benchResources(b *testing.B) (raw [][]byte, trees []map[string]any, size int) {
	b.Helper()
	path := filepath.Join(sharedDir(b), "synthea", "r4", "Abdul_Koepp_e925b0f3-8006-43f6-aa31-94bd215e55e7.json")
	bundle, err := Decode(readFile(b, path), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range bundle["entry"].([]any) {
		res := e.(map[string]any)["resource"].(map[string]any)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			b.Fatal(err)
		}
		raw = append(raw, buf.Bytes())
		trees = append(trees, res)
		size += buf.Len()
	}
	return raw, trees, size
}

type clock struct {
	wall time.Time
	cpu  time.Duration
}

func startClock() clock { return clock{time.Now(), cputime.Process()} }

// reportPerResource reports wall and CPU time per resource; CPU time
// (process-wide, GC included) is the steadier figure on a busy machine.
func reportPerResource(b *testing.B, n int, start clock) {
	b.ReportMetric(float64(time.Since(start.wall).Nanoseconds())/float64(b.N*n), "ns/resource")
	if start.cpu > 0 {
		b.ReportMetric(float64((cputime.Process()-start.cpu).Nanoseconds())/float64(b.N*n), "cpu-ns/resource")
	}
}

// BenchmarkDecode compares Decode with encoding/json on every resource of a
// Synthea bundle.
func BenchmarkDecode(b *testing.B) {
	raw, _, size := benchResources(b)
	b.Run("fhirjson", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		start := startClock()
		for i := 0; i < b.N; i++ {
			for _, r := range raw {
				if _, err := Decode(r, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportPerResource(b, len(raw), start)
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		start := startClock()
		for i := 0; i < b.N; i++ {
			for _, r := range raw {
				var v any
				if err := json.Unmarshal(r, &v); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportPerResource(b, len(raw), start)
	})
	b.Run("json.Decoder.UseNumber", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		start := startClock()
		for i := 0; i < b.N; i++ {
			for _, r := range raw {
				var v any
				d := json.NewDecoder(bytes.NewReader(r))
				d.UseNumber()
				if err := d.Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportPerResource(b, len(raw), start)
	})
}

// BenchmarkMarshal compares Marshal (canonical order) with json.Marshal
// (sorted keys) on the same trees.
func BenchmarkMarshal(b *testing.B) {
	_, trees, _ := benchResources(b)
	b.Run("fhirjson", func(b *testing.B) {
		b.ReportAllocs()
		start := startClock()
		for i := 0; i < b.N; i++ {
			for _, r := range trees {
				if _, err := Marshal(r); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportPerResource(b, len(trees), start)
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		start := startClock()
		for i := 0; i < b.N; i++ {
			for _, r := range trees {
				if _, err := json.Marshal(r); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportPerResource(b, len(trees), start)
	})
}

// BenchmarkDecodeBundle decodes whole Synthea bundles as a transaction
// arrives at the server (the file's bytes, indented), the first five in
// name order; the per-resource figures divide by their entries.
func BenchmarkDecodeBundle(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(sharedDir(b), "synthea", "r4", "*.json"))
	if len(files) < 5 {
		b.Skip("fewer than five Synthea bundles")
	}
	var docs [][]byte
	size, n := 0, 0
	for _, f := range files[:5] {
		data := readFile(b, f)
		v, err := Decode(data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, data)
		size += len(data)
		n += len(v["entry"].([]any))
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := startClock()
	for i := 0; i < b.N; i++ {
		for _, d := range docs {
			if _, err := Decode(d, Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportPerResource(b, n, start)
	b.ReportMetric(float64(n), "resources/op")
}
