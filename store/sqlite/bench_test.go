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

// Corpus size and batch: one run stores 2,000 Synthea resources in
// transactions of 50, like ~40 bundles.
const benchN, benchBatch = 2000, 50

func BenchmarkIngest(b *testing.B) {
	corpus := storetest.Synthea(b, benchN)
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	storetest.BenchmarkIngest(b, db, corpus, benchBatch)
}

// BenchmarkFloor is the storage floor for the same corpus and batch size:
// the bodies alone in a bare table.
func BenchmarkFloor(b *testing.B) {
	bodies := storetest.Bodies(storetest.Synthea(b, benchN))
	path := filepath.Join(b.TempDir(), "x.db")
	b.ResetTimer()
	var total float64
	for n := 0; n < b.N; n++ {
		d, err := sqlite.Floor(context.Background(), path, bodies, benchBatch)
		if err != nil {
			b.Fatal(err)
		}
		total += d.Seconds()
	}
	b.ReportMetric(float64(b.N*len(bodies))/total, "resources/s")
}

func BenchmarkRead(b *testing.B) {
	corpus := storetest.Synthea(b, benchN)
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	storetest.BenchmarkRead(b, db, corpus)
}

// BenchmarkIngestVsFloor: ingest and floor interleaved, with their ratio
// (x-floor). This is the figure docs/BENCHMARKS.md reports.
func BenchmarkIngestVsFloor(b *testing.B) { benchVsFloor(b, "FULL") }

// BenchmarkIngestVsFloorNormal: the same with the store at
// synchronous=NORMAL (the floor stays at FULL), for the record: FULL is
// the default.
func BenchmarkIngestVsFloorNormal(b *testing.B) { benchVsFloor(b, "NORMAL") }

func benchVsFloor(b *testing.B, sync string) {
	corpus := storetest.Synthea(b, benchN)
	storetest.BenchmarkIngestVsFloor(b, corpus, benchBatch, func(b *testing.B) store.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), fmt.Sprint("s", time.Now().UnixNano(), ".db")), sqlite.Options{Migrate: true, Synchronous: sync})
		if err != nil {
			b.Fatal(err)
		}
		return db
	}, func(bodies [][]byte, batch int) (time.Duration, error) {
		return sqlite.Floor(context.Background(), filepath.Join(b.TempDir(), "floor.db"), bodies, batch)
	})
}

// BenchmarkAudit: audit records appended in batches of 1,000.
func BenchmarkAudit(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "audit.db"), sqlite.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	storetest.BenchmarkAudit(b, db)
}

// BenchmarkReadCancellable reads by id with a cancellable context, as an
// HTTP request's is (BenchmarkRead uses context.Background, which
// database/sql and the driver need not watch).
func BenchmarkReadCancellable(b *testing.B) {
	corpus := storetest.Synthea(b, benchN)
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tx, err := db.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range corpus {
		if err := tx.Put(ctx, &store.Write{Type: r.Type, ID: r.ID, VersionID: 1, LastUpdated: time.Now(), Method: "POST", Body: r.Body, Index: storetest.SyntheticIndex(r)}); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	c0 := cputime.Process()
	defer func() { b.ReportMetric(float64((cputime.Process()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op") }()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r := corpus[(i*7919)%len(corpus)]
			i++
			if _, err := db.Read(ctx, r.Type, r.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
