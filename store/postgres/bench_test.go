package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/postgres"
	"github.com/xietong/xietong/store/postgres/pgtest"
	"github.com/xietong/xietong/store/storetest"
)

// Corpus size and batch: one run stores 2,000 Synthea resources in
// transactions of 50, like ~40 bundles.
const benchN, benchBatch = 2000, 50

func BenchmarkIngest(b *testing.B) {
	corpus := storetest.Synthea(b, benchN)
	db, err := postgres.Open(context.Background(), pgtest.Schema(b), postgres.Options{Migrate: true})
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
	dsn := pgtest.Schema(b)
	b.ResetTimer()
	var total float64
	for n := 0; n < b.N; n++ {
		d, err := postgres.Floor(context.Background(), dsn, bodies, benchBatch)
		if err != nil {
			b.Fatal(err)
		}
		total += d.Seconds()
	}
	b.ReportMetric(float64(b.N*len(bodies))/total, "resources/s")
}

func BenchmarkRead(b *testing.B) {
	corpus := storetest.Synthea(b, benchN)
	db, err := postgres.Open(context.Background(), pgtest.Schema(b), postgres.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	storetest.BenchmarkRead(b, db, corpus)
}

// BenchmarkIngestVsFloor: ingest and floor interleaved, with their ratio
// (x-floor). This is the figure docs/BENCHMARKS.md reports.
func BenchmarkIngestVsFloor(b *testing.B) {
	corpus := storetest.Synthea(b, benchN)
	dsn := pgtest.Schema(b)
	storetest.BenchmarkIngestVsFloor(b, corpus, benchBatch, func(b *testing.B) store.Store {
		db, err := postgres.Open(context.Background(), pgtest.Schema(b), postgres.Options{Migrate: true})
		if err != nil {
			b.Fatal(err)
		}
		return db
	}, func(bodies [][]byte, batch int) (time.Duration, error) {
		return postgres.Floor(context.Background(), dsn, bodies, batch)
	})
}

// BenchmarkAudit: audit records appended in batches of 1,000.
func BenchmarkAudit(b *testing.B) {
	db, err := postgres.Open(context.Background(), pgtest.Schema(b), postgres.Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	storetest.BenchmarkAudit(b, db)
}
