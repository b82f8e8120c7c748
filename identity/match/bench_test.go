package match_test

import (
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/xietong/xietong/identity/match"
	"github.com/xietong/xietong/identity/match/synth"
	"github.com/xietong/xietong/internal/cputime"
)

// bench1M is an index of 1,000,000 generated records (about 700,000
// master patients, each with its records as its truth says) and 10,000
// further records of the same population to look up.
var bench1M struct {
	once    sync.Once
	ix      *match.Index
	queries []match.Record
}

func load1M(b *testing.B) (*match.Index, []match.Record) {
	bench1M.once.Do(func() {
		const n = 1_000_000
		start := time.Now()
		ds := synth.Generate(synth.Config{Seed: 3, Persons: 700_000, Records: n + 10_000, Noise: synth.DefaultNoise(), Now: benchNow})
		gen := time.Since(start)
		ix := match.NewIndex(defaultModel())
		masters := map[int]match.MasterID{}
		start = time.Now()
		for i := range n {
			m, ok := masters[ds.Person[i]]
			if !ok {
				m = ix.NewMaster()
				masters[ds.Person[i]] = m
			}
			ix.Add(ds.Records[i], m)
		}
		build := time.Since(start)
		queries := slices.Clone(ds.Records[n:])
		ds = synth.Dataset{} // let the generated records go: the heap figure is the index's
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.Logf("generated %d records in %v; indexed %d in %v; heap %d MB; %+v",
			n+len(queries), gen.Round(time.Millisecond), n, build.Round(time.Millisecond), ms.HeapAlloc>>20, ix.Stats())
		bench1M.ix, bench1M.queries = ix, queries
	})
	return bench1M.ix, bench1M.queries
}

// BenchmarkMatch1M is the $match candidate search: blocking, comparison
// and ranking for one record against 1,000,000 indexed records. It reports
// latency percentiles besides the mean (the bar is p99 < 20 ms).
func BenchmarkMatch1M(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 1,000,000-record index")
	}
	ix, queries := load1M(b)
	// Candidates compared per query (untimed): every master returned.
	candidates := 0
	for _, q := range queries[:1000] {
		candidates += len(ix.Match(q, 0))
	}
	lat := make([]time.Duration, 0, 1<<16)
	i := 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	for b.Loop() {
		t0 := time.Now()
		ix.Match(queries[i%len(queries)], 10)
		lat = append(lat, time.Since(t0))
		i++
	}
	b.StopTimer()
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(len(lat)), "cpu-ns/op")
	b.ReportMetric(float64(candidates)/1000, "candidates/op")
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(pct(1), "max-µs")
}

// BenchmarkLink is Link (match and add) into an index that grows from
// 100,000 records.
func BenchmarkLink(b *testing.B) {
	ds := synth.Generate(synth.Config{Seed: 4, Persons: 200_000, Records: 500_000, Noise: synth.DefaultNoise(), Now: benchNow})
	ix := match.NewIndex(defaultModel())
	for _, r := range ds.Records[:100_000] {
		ix.Link(r)
	}
	rest := ds.Records[100_000:]
	i := 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	for b.Loop() {
		ix.Link(rest[i%len(rest)])
		i++
	}
	b.ReportMetric(float64(cputime.Process()-cpu0)/float64(i), "cpu-ns/op")
}
