package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/xietong/xietong/internal/cputime"
)

// BenchmarkEngineInsert: two-row INSERTs into an engine table shaped like
// recognition_result (NOT NULL columns, four indexes) through
// store.EngineTx.ExecSQL, inside the member's savepoint, 100 per
// transaction; plain INSERT (ABORT: a statement journal per statement)
// against INSERT OR IGNORE (decision 017). cpu-ns/op is the process's CPU
// per statement.
//
//	go test -run '^$' -bench EngineInsert -benchtime 4000x -count 3 ./store/sqlite
func BenchmarkEngineInsert(b *testing.B) {
	for _, verb := range []string{"INSERT", "INSERT OR IGNORE"} {
		b.Run(verb, func(b *testing.B) {
			ctx := context.Background()
			db, err := Open(ctx, filepath.Join(b.TempDir(), "e.db"), Options{Migrate: true})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			setup, err := db.Begin(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := setup.(*tx).ExecSQL(ctx, `CREATE TABLE rr (patient TEXT NOT NULL, code TEXT NOT NULL, eff INTEGER NOT NULL,
				rtype TEXT NOT NULL, rid TEXT NOT NULL, issuer TEXT NOT NULL, value TEXT NOT NULL, study TEXT NOT NULL, marked INTEGER NOT NULL);
				CREATE INDEX rr_patient ON rr (patient, code, eff); CREATE INDEX rr_rid ON rr (rid);
				CREATE INDEX rr_issuer ON rr (issuer, code); CREATE INDEX rr_code ON rr (code, eff)`); err != nil {
				b.Fatal(err)
			}
			if err := setup.Commit(); err != nil {
				b.Fatal(err)
			}
			q := verb + ` INTO rr VALUES (?, ?, ?, 'Observation', ?, 'org', 'value 1', '', 0), (?, ?, ?, 'Observation', ?, 'org', 'value 1', '', 0)`
			b.ResetTimer()
			c0 := cputime.Process()
			for i := 0; i < b.N; {
				x, err := db.Begin(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for j := 0; j < 100 && i < b.N; j, i = j+1, i+1 {
					p, code := fmt.Sprint("p", i/100), fmt.Sprint("http://loinc.org|", i%300)
					if err := x.(*tx).ExecSQL(ctx, q, p, code, i, fmt.Sprint("o", i), p, code+"-2", i, fmt.Sprint("o", i)); err != nil {
						b.Fatal(err)
					}
				}
				if err := x.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cputime.Process()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
