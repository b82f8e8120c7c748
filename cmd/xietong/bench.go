package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/xietong/xietong/bench/ingest"
	"github.com/xietong/xietong/internal/cputime"
	"github.com/xietong/xietong/internal/profile"
	"github.com/xietong/xietong/server"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "bare" {
		return runBare(ctx, args[1:], stderr)
	}
	if len(args) == 0 || args[0] != "ingest" {
		fmt.Fprintln(stderr, "usage: xietong bench ingest [flags]   (see xietong bench ingest --help)\n       xietong bench bare --addr HOST:PORT --size N")
		return 2
	}
	fs := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("bundles", "../shared/synthea/r4", "folder of FHIR transaction Bundles (*.json)")
	limit := fs.Int("limit", 0, "use only the first N bundles (0: all)")
	conc := fs.Int("concurrency", 4, "concurrent HTTP clients")
	db := fs.String("db", "", "database to ingest into: a SQLite file path or a postgres:// URL of an empty database (default: a fresh SQLite file in a temporary folder)")
	url := fs.String("url", "", "post to this FHIR base instead of an in-process node (the floor is then not measured)")
	floor := fs.Bool("floor", true, "also measure the storage floor in the same run")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the ingest phase to this file")
	traceFile := fs.String("trace", "", "write a runtime/trace of the ingest phase to this file (go tool trace; the writer's phases are the regions xt.tx.*)")
	memProfile := fs.String("memprofile", "", "write the allocations of the ingest phase (pprof allocs profile, -sample_index=alloc_space) to this file")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	bundles, err := ingest.LoadDir(*dir, *limit)
	if err != nil {
		fmt.Fprintf(stderr, "xietong bench ingest: %v\n", err)
		return 1
	}
	total := 0
	for _, b := range bundles {
		total += b.Resources
	}
	fmt.Fprintf(stdout, "bundles: %d transactions, %d resources, from %s\n", len(bundles), total, *dir)
	fmt.Fprintf(stdout, "machine: %d CPUs (GOMAXPROCS %d), %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())

	base := *url
	dsn := *db
	if base == "" {
		if dsn == "" {
			tmp, err := os.MkdirTemp("", "xietong-bench-")
			if err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
			defer os.RemoveAll(tmp)
			dsn = filepath.Join(tmp, "ingest.db")
		}
		srv, err := server.New(ctx, server.Config{DB: dsn, Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			fmt.Fprintf(stderr, "xietong bench ingest: %v\n", err)
			return 1
		}
		defer srv.Close()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		go srv.Serve(sctx, ln)
		base = "http://" + ln.Addr().String() + "/fhir"
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc}, Timeout: 5 * time.Minute}
	stopCPU, err := profile.CPU(*cpuProfile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	stopTrace, err := profile.Trace(*traceFile)
	if err != nil {
		stopCPU()
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *memProfile != "" {
		// Every allocation is sampled from here on, so the profile counts
		// the ingest and not the loading of the bundles before it (whose
		// samples at the default rate are few): compare alloc_space, not
		// the CPU figures, of a run with this flag.
		runtime.MemProfileRate = 4096
	}
	mem0 := memProfileBase(*memProfile)
	cpu0 := cputime.Process()
	res := ingest.Post(ctx, client, base, bundles, *conc)
	cpu := cputime.Process() - cpu0
	ingestRSS := ingest.PeakRSS() // before the floor's database adds its own caches
	// Both are stopped before either error is reported.
	errCPU := stopCPU()
	if err := errors.Join(errCPU, stopTrace()); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *memProfile != "" {
		if err := writeMemProfile(stdout, *memProfile, mem0); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	for _, f := range res.Failures {
		fmt.Fprintf(stdout, "FAILED %s\n", f)
	}
	fmt.Fprintf(stdout, "ingest: %d resources in %d transactions in %.2fs = %.0f resources/s (concurrency %d; transaction p50 %s, p99 %s)\n",
		res.Resources, res.Bundles, res.Elapsed.Seconds(), res.PerSecond(), *conc,
		res.Percentile(50).Round(time.Millisecond), res.Percentile(99).Round(time.Millisecond))
	if res.Resources > 0 {
		fmt.Fprintf(stdout, "cpu:    %.0f µs of process CPU per resource (server and clients), %.2f cores busy on average\n",
			float64(cpu.Microseconds())/float64(res.Resources), cpu.Seconds()/res.Elapsed.Seconds())
	}
	if *url == "" && *floor {
		fl, err := measureFloor(ctx, dsn, bundles)
		if err != nil {
			fmt.Fprintf(stderr, "floor: %v\n", err)
			return 1
		}
		perSec := float64(total) / fl.Seconds()
		fmt.Fprintf(stdout, "floor:  %d resources in %.2fs = %.0f resources/s (same bytes, same kind of database, one transaction per bundle, no validation, no indexing)\n",
			total, fl.Seconds(), perSec)
		fmt.Fprintf(stdout, "ratio:  ingest is %.1f%% of the floor\n", 100*res.PerSecond()/perSec)
	}
	fmt.Fprintf(stdout, "peak memory (RSS of this process, server and clients together): %.0f MiB during the ingest, %.0f MiB in all\n",
		float64(ingestRSS)/(1<<20), float64(ingest.PeakRSS())/(1<<20))
	if len(res.Failures) > 0 {
		return 1
	}
	return 0
}

// runBare serves a bare net/http handler that answers every request with
// size bytes of FHIR JSON: the reference the read benchmark compares the
// server with (bench/read.sh).
func runBare(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench bare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:18081", "listen address")
	size := fs.Int("size", 2000, "response body size in bytes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	body := []byte(`{"resourceType":"Basic","id":"bare","code":{"text":"`)
	for len(body) < *size-3 {
		body = append(body, 'x')
	}
	body = append(body, `"}}`...)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	hs := &http.Server{Addr: *addr, Handler: h}
	go func() { <-ctx.Done(); hs.Close() }()
	if err := hs.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// memProfileBase notes the bytes allocated before the ingest, so that the
// report can say how many the ingest allocated per resource.
func memProfileBase(path string) uint64 {
	if path == "" {
		return 0
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// writeMemProfile writes the allocs profile (the sampled allocations since
// the start of the process; those of the loading before the ingest were
// sampled at the default rate) and prints the bytes the ingest allocated.
func writeMemProfile(stdout io.Writer, path string, before uint64) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "memory: %.0f MB allocated during the ingest (GC cycles so far: %d)\n", float64(ms.TotalAlloc-before)/1e6, ms.NumGC)
	return nil
}
