// Package ingest measures how fast a node takes in data: it posts FHIR
// transaction Bundles (the Synthea set in ../shared/synthea/r4) over HTTP
// with a given concurrency and reports resources per second, beside the
// storage floor: the same resource bytes inserted into the same kind of
// database with no validation and no indexing.
//
// It is used by `xietong bench ingest` and depends only on the standard
// library and the store floor helper.
package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Bundle is one transaction ready to post.
type Bundle struct {
	Name      string
	Body      []byte
	Resources int
	// Bodies are the entries' resource JSON, for the storage floor.
	Bodies [][]byte
}

// LoadDir reads every *.json transaction Bundle in dir (sorted by name);
// limit > 0 keeps the first limit files.
func LoadDir(dir string, limit int) ([]Bundle, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.json bundles in %s", dir)
	}
	sort.Strings(files)
	if limit > 0 && limit < len(files) {
		files = files[:limit]
	}
	out := make([]Bundle, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var b struct {
			Type  string `json:"type"`
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if b.Type != "transaction" {
			return nil, fmt.Errorf("%s: Bundle.type is %q, want transaction", f, b.Type)
		}
		bodies := make([][]byte, len(b.Entry))
		for i, e := range b.Entry {
			bodies[i] = e.Resource
		}
		out = append(out, Bundle{Name: filepath.Base(f), Body: data, Resources: len(b.Entry), Bodies: bodies})
	}
	return out, nil
}

// Result is what one run measured.
type Result struct {
	Bundles, Resources int
	Elapsed            time.Duration
	Failures           []string
	// Latencies of each transaction, sorted.
	Latencies []time.Duration
}

// PerSecond is resources per second.
func (r *Result) PerSecond() float64 { return float64(r.Resources) / r.Elapsed.Seconds() }

// Percentile returns the p-th percentile transaction latency (0 < p <= 100).
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies))*p/100+0.5) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// Post sends every bundle to base (".../fhir") as a transaction, with
// concurrency workers, and measures the whole run.
func Post(ctx context.Context, client *http.Client, base string, bundles []Bundle, concurrency int) *Result {
	if concurrency < 1 {
		concurrency = 1
	}
	res := &Result{}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bundles) || ctx.Err() != nil {
					return
				}
				b := bundles[i]
				t0 := time.Now()
				err := postOne(ctx, client, base, b.Body)
				lat := time.Since(t0)
				mu.Lock()
				if err != nil {
					res.Failures = append(res.Failures, b.Name+": "+err.Error())
				} else {
					res.Bundles++
					res.Resources += b.Resources
					res.Latencies = append(res.Latencies, lat)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	sort.Slice(res.Latencies, func(i, j int) bool { return res.Latencies[i] < res.Latencies[j] })
	return res
}

func postOne(ctx context.Context, client *http.Client, base string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Prefer", "return=minimal")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		msg := string(data)
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(msg))
	}
	return nil
}

// PeakRSS returns the peak resident memory of this process in bytes
// (Linux VmHWM), or 0 when unknown.
func PeakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%d", &kb)
			return kb * 1024
		}
	}
	return 0
}
