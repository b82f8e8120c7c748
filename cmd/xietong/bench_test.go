package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/xietong/xietong/internal/sharedtest"
)

// TestBenchIngestProfiles runs the ingest benchmark on one Synthea bundle
// with both profiles and the trace: every resource is written, the CPU
// profile, the allocations (--memprofile, decision 028) and the trace are
// written, and the bytes the ingest allocated are reported.
func TestBenchIngestProfiles(t *testing.T) {
	dir := sharedtest.Path(t, "synthea", "r4")
	tmp := t.TempDir()
	cpu, mem, tr := filepath.Join(tmp, "cpu.prof"), filepath.Join(tmp, "mem.prof"), filepath.Join(tmp, "trace.out")
	var out, errb bytes.Buffer
	code := runBench(context.Background(), []string{"ingest", "--bundles", dir, "--limit", "1", "--floor=false",
		"--db", filepath.Join(tmp, "x.db"), "--cpuprofile", cpu, "--memprofile", mem, "--trace", tr}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	bundles := regexp.MustCompile(`bundles: 1 transactions, (\d+) resources`).FindStringSubmatch(out.String())
	ingested := regexp.MustCompile(`ingest: (\d+) resources in 1 transactions`).FindStringSubmatch(out.String())
	if bundles == nil || ingested == nil || bundles[1] != ingested[1] {
		t.Errorf("not every resource was ingested:\n%s", out.String())
	}
	if !regexp.MustCompile(`memory: [1-9]\d* MB allocated during the ingest`).MatchString(out.String()) {
		t.Errorf("no allocation figure:\n%s", out.String())
	}
	for _, f := range []string{cpu, mem, tr} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v (empty or missing)", filepath.Base(f), err)
		}
	}
}
