// Command scale measures FHIR search at scale (issue 4): it replicates the
// Synthea transaction bundles with new ids and consistent references until
// the requested number of resources, bulk-loads them in-process through the
// store's write path (the real indexer and JSON marshalling, no HTTP), and
// then times the query kinds through the real HTTP handler
// in-process, reporting p50 and p99 per kind.
//
//	go run ./bench/scale -db /tmp/scale.db -resources 1000000 -load
//	go run ./bench/scale -db /tmp/scale.db -resources 1000000 -query
//
// On PostgreSQL the load ends with VACUUM (ANALYZE) (see vacuum).
//
// -resources must be the same in both phases only in that the query phase
// draws patients from the generation order; it counts the patients loaded.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/server"
)

func main() {
	var (
		dsn       = flag.String("db", "/tmp/xietong-scale.db", "database: a SQLite path or a postgres:// URL")
		srcDir    = flag.String("src", "../shared/synthea/r4", "directory of Synthea transaction Bundles")
		resources = flag.Int("resources", 1_000_000, "generate at least this many resources (whole copies of the set once past it; a smaller number stops at a bundle boundary)")
		doLoad    = flag.Bool("load", false, "generate and load the resources")
		doQuery   = flag.Bool("query", false, "run the query benchmark")
		workers   = flag.Int("workers", runtime.NumCPU(), "goroutines preparing resources (decode, index, marshal)")
		batch     = flag.Int("batch", 500, "resources per write transaction")
		n         = flag.Int("n", 200, "measured requests per query kind (_summary=count: n/10)")
		warm      = flag.Int("warm", 20, "unmeasured warm-up requests per kind")
		seed      = flag.Uint64("seed", 1, "random seed of the query parameters")
		only      = flag.String("only", "", "comma-separated query kinds to run (a,b,c,d,e1,e2,f,g); empty: all")
		doExplain = flag.Bool("explain", false, "print the plan and time of the SQL the store runs for kinds a-d and f (straight on the database)")
		tz        = flag.String("tz", "", "time zone of zone-less dates, as the server's setting (empty: Asia/Shanghai)")
		cpuprof   = flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
		slowest   = flag.Int("slowest", 0, "print the requests of this many highest CPU times per kind")
	)
	flag.Parse()
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	if !*doLoad && !*doQuery && !*doExplain {
		fmt.Fprintln(os.Stderr, "give -load, -query, -explain")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	src, err := loadSource(*srcDir)
	if err != nil {
		fail(err)
	}
	if *doLoad {
		zone, err := server.LoadZone(*tz)
		if err != nil {
			fail(err)
		}
		units, total := plan(src, *resources)
		copies := units[len(units)-1].Copy + 1
		fmt.Printf("generating %d resources (%d bundles, %d copies of %d source bundles) into %s; %d workers, %d per transaction; load average %s\n",
			total, len(units), copies, len(src), redact(*dsn), *workers, *batch, loadavg())
		if err := load(ctx, *dsn, units, total, *workers, *batch, search.NewIndexer(zone)); err != nil {
			fail(err)
		}
	}
	if *doQuery {
		t0 := time.Now()
		if _, err := runQueries(ctx, *dsn, *tz, src, *n, *warm, *seed, *only, *slowest); err != nil {
			fail(err)
		}
		fmt.Printf("queries took %s\n", time.Since(t0).Round(time.Second))
	}
	if *doExplain {
		if err := explain(ctx, *dsn, src, *seed, *only); err != nil {
			fail(err)
		}
	}
}

func redact(dsn string) string { return dsn }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scale:", err)
	os.Exit(1)
}
