// Command fhirpath-bench runs the search-parameter FHIRPath workload
// through the Go engine and compares it with the fhirpath.js results
// written by bench.js (see run.sh).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/xietong/xietong/fhir/fhirpath"
)

type jsResult struct {
	Engine             string   `json:"engine"`
	Evaluations        int      `json:"evaluations_per_pass"`
	MeanNs             float64  `json:"mean_ns_per_eval"`
	BestNs             float64  `json:"best_ns_per_eval"`
	EvalErrors         int      `json:"eval_errors_per_pass"`
	FailingExpressions []string `json:"failing_expressions"`
	Rejected           []struct {
		URL string `json:"url"`
	} `json:"rejected"`
}

type param struct {
	URL        string   `json:"url"`
	Base       []string `json:"base"`
	Expression string   `json:"expression"`
}

func main() {
	shared := flag.String("shared", "../shared", "the shared data folder")
	jsPath := flag.String("js", "", "fhirpath.js results (bench.js --out)")
	bundles := flag.Int("bundles", 0, "number of Synthea bundles (0 = all)")
	passes := flag.Int("passes", 2, "timed passes")
	flag.Parse()
	if err := run(*shared, *jsPath, *bundles, *passes); err != nil {
		fmt.Fprintln(os.Stderr, "fhirpath-bench:", err)
		os.Exit(1)
	}
}

func run(shared, jsPath string, bundles, passes int) error {
	var js *jsResult
	skip := map[string]bool{}
	if jsPath != "" {
		raw, err := os.ReadFile(jsPath)
		if err != nil {
			return err
		}
		js = &jsResult{}
		if err := json.Unmarshal(raw, js); err != nil {
			return err
		}
		for _, r := range js.Rejected {
			skip[r.URL] = true
		}
	}
	raw, err := os.ReadFile(filepath.Join(shared, "fhir/r4/definitions/Bundle-searchParams.json"))
	if err != nil {
		return err
	}
	var b struct {
		Entry []struct {
			Resource param `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return err
	}
	var exprs []*fhirpath.Expression
	byType := map[string][]int{}
	goRejected := 0
	for _, e := range b.Entry {
		p := e.Resource
		if p.Expression == "" || skip[p.URL] {
			continue
		}
		x, err := fhirpath.Compile(p.Expression)
		if err != nil {
			goRejected++
			continue
		}
		exprs = append(exprs, x)
		for _, base := range p.Base {
			byType[base] = append(byType[base], len(exprs)-1)
		}
	}
	files, err := filepath.Glob(filepath.Join(shared, "synthea/r4/*.json"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	if bundles > 0 && bundles < len(files) {
		files = files[:bundles]
	}
	var resources []map[string]any
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var bundle map[string]any
		if err := d.Decode(&bundle); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		entries, _ := bundle["entry"].([]any)
		for _, e := range entries {
			if em, ok := e.(map[string]any); ok {
				if r, ok := em["resource"].(map[string]any); ok {
					resources = append(resources, r)
				}
			}
		}
	}
	type pair struct {
		e int
		r map[string]any
	}
	var pairs []pair
	for _, r := range resources {
		rt, _ := r["resourceType"].(string)
		seen := map[int]bool{}
		for _, base := range []string{rt, "Resource", "DomainResource"} {
			for _, i := range byType[base] {
				if !seen[i] {
					seen[i] = true
					pairs = append(pairs, pair{i, r})
				}
			}
		}
	}
	opts := &fhirpath.EvalOptions{Now: time.Now()}
	pass := func() int {
		errs := 0
		for _, p := range pairs {
			if _, err := exprs[p.e].Evaluate(p.r, opts); err != nil {
				errs++
			}
		}
		return errs
	}
	pass() // warm-up, as for fhirpath.js
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	var total time.Duration
	best := time.Duration(1<<63 - 1)
	errs := 0
	for i := 0; i < passes; i++ {
		t0 := time.Now()
		errs = pass()
		d := time.Since(t0)
		total += d
		best = min(best, d)
	}
	runtime.ReadMemStats(&ms1)
	n := float64(len(pairs))
	meanNs := float64(total.Nanoseconds()) / float64(passes) / n
	bestNs := float64(best.Nanoseconds()) / n
	allocs := float64(ms1.Mallocs-ms0.Mallocs) / float64(passes) / n
	bytesPer := float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(passes) / n
	fmt.Printf("go fhirpath:  %d expressions (%d skipped as rejected by fhirpath.js, %d rejected by Go), %d evaluations/pass over %d resources, mean %.3f µs/eval (best pass %.3f), %.2f allocs/eval, %.0f B/eval, %d evaluation errors/pass\n",
		len(exprs), len(skip), goRejected, len(pairs), len(resources), meanNs/1000, bestNs/1000, allocs, bytesPer, errs)
	if js != nil {
		if js.Evaluations != len(pairs) {
			fmt.Printf("warning: fhirpath.js counted %d evaluations per pass, Go %d\n", js.Evaluations, len(pairs))
		}
		fmt.Printf("ratio: Go is %.1fx faster per evaluation than %s (mean %.3f vs %.3f µs; best passes %.1fx)\n",
			js.MeanNs/meanNs, js.Engine, meanNs/1000, js.MeanNs/1000, js.BestNs/bestNs)
	}
	return nil
}
