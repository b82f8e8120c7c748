package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

// ReadAudit's pages, over legacy rows and chunks with many equal times and
// records out of time order within a chunk, are exactly the filtered trail
// in (time, seq) order, newest first.
func TestAuditFilePagingMatchesBruteForce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := Open(ctx, path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	rec := func() store.AuditRecord {
		return store.AuditRecord{Time: base.Add(time.Duration(rng.IntN(40)) * time.Millisecond), Subject: fmt.Sprint("s", rng.IntN(4)),
			Action: "read", ResourceType: []string{"Patient", "Observation", ""}[rng.IntN(3)], ID: fmt.Sprint("i", rng.IntN(5)), Allowed: rng.IntN(4) != 0}
	}
	var all []store.AuditRecord
	for i := range 300 {
		r := rec()
		r.Seq = int64(i + 1)
		if _, err := db.writer.ExecContext(ctx, `INSERT INTO audit_log (seq, `+sqlstore.AuditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append([]any{r.Seq}, sqlstore.AuditArgs(nil, &r)...)...); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	db.Close()
	if db, err = Open(ctx, path, Options{Migrate: true}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, n := range []int{1, 7, 1500, 3, 600} {
		var recs []store.AuditRecord
		for range n {
			recs = append(recs, rec())
		}
		if err := db.AppendAudit(ctx, recs); err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			recs[i].Seq = int64(len(all) + 1)
			all = append(all, recs[i])
		}
	}
	for i := range all {
		all[i].Time = time.UnixMicro(all[i].Time.UnixMicro()).UTC()
	}
	sortAudit(all)
	yes, no := true, false
	for q := range 60 {
		aq := store.AuditQuery{Count: []int{7, 50, 2000}[rng.IntN(3)]}
		if rng.IntN(2) == 0 {
			aq.Subject = fmt.Sprint("s", rng.IntN(5))
		}
		if rng.IntN(2) == 0 {
			aq.ResourceType = []string{"Patient", "Observation"}[rng.IntN(2)]
			if rng.IntN(2) == 0 {
				aq.ID = fmt.Sprint("i", rng.IntN(5))
			}
		}
		if rng.IntN(3) == 0 {
			aq.Allowed = []*bool{&yes, &no}[rng.IntN(2)]
		}
		if rng.IntN(3) == 0 {
			aq.Since = base.Add(time.Duration(rng.IntN(40)) * time.Millisecond)
		}
		if rng.IntN(3) == 0 {
			aq.Until = base.Add(time.Duration(rng.IntN(40)) * time.Millisecond)
		}
		var want []store.AuditRecord
		for _, r := range all {
			if (aq.Subject == "" || r.Subject == aq.Subject) && (aq.ResourceType == "" || r.ResourceType == aq.ResourceType) &&
				(aq.ID == "" || r.ID == aq.ID) && (aq.Allowed == nil || r.Allowed == *aq.Allowed) &&
				(aq.Since.IsZero() || !r.Time.Before(aq.Since)) && (aq.Until.IsZero() || r.Time.Before(aq.Until)) {
				want = append(want, r)
			}
		}
		var got []store.AuditRecord
		for pages := 0; ; pages++ {
			page, next, err := db.ReadAudit(ctx, aq)
			if err != nil {
				t.Fatal(err)
			}
			if pages > len(all)+1 || len(page) > sqlstore.AuditPageSize(aq.Count) || next != "" && len(page) == 0 {
				t.Fatalf("query %d %+v: bad paging", q, aq)
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			aq.Cursor = next
		}
		if !slices.EqualFunc(got, want, func(x, y store.AuditRecord) bool { return x.Seq == y.Seq && x.Time.Equal(y.Time) }) {
			t.Fatalf("query %d %+v: %d records, want %d", q, aq, len(got), len(want))
		}
	}
}
