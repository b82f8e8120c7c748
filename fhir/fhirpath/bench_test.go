package fhirpath

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"testing"
	"time"
)

// searchWorkload is the benchmark workload: every R4 search parameter
// expression evaluated over every Synthea resource whose type is one of
// the parameter's bases.
type searchWorkload struct {
	exprs []*Expression
	pairs []evalPair
}

type evalPair struct {
	expr     int32
	resource map[string]any
}

func loadSyntheaResources(t testing.TB, limit int) []map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sharedDir(t), "synthea", "r4", "*.json"))
	if err != nil || len(files) == 0 {
		t.Skip("no Synthea bundles")
	}
	sort.Strings(files)
	if limit > 0 && limit < len(files) {
		files = files[:limit]
	}
	var out []map[string]any
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var b map[string]any
		if err := d.Decode(&b); err != nil {
			t.Fatal(err)
		}
		entries, _ := b["entry"].([]any)
		for _, e := range entries {
			if em, ok := e.(map[string]any); ok {
				if r, ok := em["resource"].(map[string]any); ok {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

func buildWorkload(t testing.TB) *searchWorkload {
	limit := 0
	if s := os.Getenv("FHIRPATH_BENCH_BUNDLES"); s != "" {
		limit, _ = strconv.Atoi(s)
	}
	sps := loadSearchParams(t)
	resources := loadSyntheaResources(t, limit)
	w := &searchWorkload{}
	byType := map[string][]int32{}
	for _, sp := range sps {
		e, err := Compile(sp.Expression)
		if err != nil {
			continue // none in R4 (see TestSearchParamExpressionsCompile)
		}
		w.exprs = append(w.exprs, e)
		for _, b := range sp.Base {
			byType[b] = append(byType[b], int32(len(w.exprs)-1))
		}
	}
	for _, r := range resources {
		rt, _ := r["resourceType"].(string)
		seen := map[int32]bool{}
		for _, base := range []string{rt, "Resource", "DomainResource"} {
			for _, i := range byType[base] {
				if !seen[i] {
					seen[i] = true
					w.pairs = append(w.pairs, evalPair{expr: i, resource: r})
				}
			}
		}
	}
	return w
}

// BenchmarkSearchParams measures one evaluation (ns/op and allocs/op are
// per evaluation), cycling through all (expression, resource) pairs.
// FHIRPATH_BENCH_BUNDLES=n limits the number of bundles loaded.
func BenchmarkSearchParams(b *testing.B) {
	w := buildWorkload(b)
	if len(w.pairs) == 0 {
		b.Skip("empty workload")
	}
	opts := &EvalOptions{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	errs := 0
	for i := 0; i < b.N; i++ {
		p := w.pairs[i%len(w.pairs)]
		if _, err := w.exprs[p.expr].Evaluate(p.resource, opts); err != nil {
			errs++
		}
	}
	b.ReportMetric(float64(len(w.pairs)), "pairs")
	if errs > 0 {
		b.ReportMetric(float64(errs)/float64(b.N), "errors/op")
	}
}

// BenchmarkCompileSearchParams measures compiling all R4 expressions.
func BenchmarkCompileSearchParams(b *testing.B) {
	sps := loadSearchParams(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, sp := range sps {
			if _, err := Compile(sp.Expression); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDistinct measures distinct() over 10,000 JSON objects of which
// 70 are different.
func BenchmarkDistinct(b *testing.B) {
	items := make([]any, 0, 10000)
	for i := 0; i < 10000; i++ {
		items = append(items, map[string]any{"code": string(rune('a' + i%7)), "i": json.Number(strconv.Itoa(i % 10))})
	}
	e := MustCompile("%items.distinct().count()")
	opts := &EvalOptions{Variables: map[string]any{"items": items}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := e.Evaluate(nil, opts); err != nil {
			b.Fatal(err)
		}
	}
}
