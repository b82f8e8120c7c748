package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/xietong/xietong/store"
)

// The audit file's WAL is checkpointed in the background while the node
// runs, not only by the writer's backstop at 16,384 pages (inside an
// append, which a write's Sync waits for: decision 029). Appends that
// leave the file itself untouched until the backstop would keep it at
// its size here.
func TestAuditFileCheckpointsInTheBackground(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "n.db")
	db, err := Open(ctx, path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	apath := AuditPath(path)
	// Let a checkpoint of the schema pass first.
	time.Sleep(3 * checkpointEvery)
	before := fileSize(t, apath)
	base := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	for a := range 20 {
		var recs []store.AuditRecord
		for i := range 200 {
			recs = append(recs, store.AuditRecord{Time: base.Add(time.Duration(a*200+i) * time.Millisecond), Subject: fmt.Sprint("s", i%7),
				Role: "clinician", Action: "read", ResourceType: "Patient", ID: fmt.Sprint("p", a*200+i), Allowed: true})
		}
		if err := db.AppendAudit(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	if w := fileSize(t, apath+"-wal"); w == 0 {
		t.Fatal("the appends left no WAL")
	}
	deadline := time.Now().Add(5 * time.Second)
	for fileSize(t, apath) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("the audit file stayed at %d bytes (WAL %d) for 5 s after 4,000 records: nothing checkpoints it", before, fileSize(t, apath+"-wal"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Every record is still read back after the checkpoint.
	n := 0
	q := store.AuditQuery{ResourceType: "Patient", Count: 1000}
	for {
		recs, next, err := db.ReadAudit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		n += len(recs)
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if n != 4000 {
		t.Fatalf("read back %d records, want 4000", n)
	}
}
