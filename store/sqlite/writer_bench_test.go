package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/xietong/xietong/internal/cputime"
	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/sqlite"
	"github.com/xietong/xietong/store/storetest"
)

// BenchmarkWriterHeld is the store's share of the single writer's time in
// an ingest: Puts of Synthea resources (with their synthetic index
// entries) in transactions of 300, about a bundle's size, each Committed,
// one after the other on one goroutine, so the process CPU per resource
// (cpu-µs/res) is the time the writer is held by the store (Put, the
// inserts at Commit, the COMMIT) without the API's hooks. The fsync's
// wait is not CPU; its count is one per transaction here (no group of
// concurrent members to share it). The synthetic index entries are not
// the extracted ones and every transaction pays a COMMIT of its own, so
// the CPU figure is this benchmark's, not the ingest's (compare builds
// with it, interleaved); allocs/op are the store's allocations for 6,000
// resources. docs/decisions/027-writer-held-time.md.
func BenchmarkWriterHeld(b *testing.B) {
	const n, batch = 6000, 300
	corpus := storetest.Synthea(b, n)
	idx := make([]store.Index, len(corpus))
	for i, r := range corpus {
		idx[i] = storetest.SyntheticIndex(r)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "w.db"), sqlite.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cputime.Process()
	for it := 0; it < b.N; it++ {
		for i := 0; i < len(corpus); i += batch {
			tx, err := db.Begin(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for j := i; j < min(i+batch, len(corpus)); j++ {
				r := corpus[j]
				w := &store.Write{Type: r.Type, ID: fmt.Sprint(r.ID, "-", it), VersionID: 1, LastUpdated: now,
					Method: "POST", Body: r.Body, Index: idx[j]}
				if err := tx.Put(ctx, w); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	cpu := cputime.Process() - c0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*len(corpus)), "cpu-µs/res")
	b.ReportMetric(0, "ns/op")
}
