package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/xietong/xietong/store"
)

// Reads by id inside a transaction see its own writes without inserting
// its pending rows first (no savepoint, no early INSERTs), and see
// everything else as SQLite has it.
func TestTxReadsOwnWritesWithoutFlushing(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "r.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	put := func(tx store.Tx, typ, id string, version int64, body string, del bool) {
		t.Helper()
		w := &store.Write{Type: typ, ID: id, VersionID: version, LastUpdated: now, Method: "PUT", Delete: del}
		if !del {
			w.Body = []byte(body)
		}
		if err := tx.Put(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	// Committed before: Encounter e0 at version 2.
	tx0, _ := db.Begin(ctx)
	put(tx0, "Encounter", "e0", 1, `{"v":1}`, false)
	put(tx0, "Encounter", "e0", 2, `{"v":2}`, false)
	if err := tx0.Commit(); err != nil {
		t.Fatal(err)
	}

	st, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx := st.(*tx)
	put(tx, "Encounter", "e1", 1, `{"new":true}`, false)
	put(tx, "Patient", "p1", 1, `{}`, false)
	put(tx, "Observation", "o1", 1, `{}`, false)

	cases := []struct {
		name    string
		typ, id string
		version int64
		body    string
		wantVer int64
		wantErr error
	}{
		{"created in this transaction", "Encounter", "e1", 0, `{"new":true}`, 1, nil},
		{"its version read", "Encounter", "e1", 1, `{"new":true}`, 1, nil},
		{"a version it does not have", "Encounter", "e1", 2, "", 0, store.ErrNotFound},
		{"committed before", "Encounter", "e0", 0, `{"v":2}`, 2, nil},
		{"an older version committed before", "Encounter", "e0", 1, `{"v":1}`, 1, nil},
		{"nobody has it", "Encounter", "nope", 0, "", 0, store.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v *store.Version
			var err error
			if c.version == 0 {
				v, err = tx.Read(ctx, c.typ, c.id)
			} else {
				v, err = tx.VRead(ctx, c.typ, c.id, c.version)
			}
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.VersionID != c.wantVer || string(v.Body) != c.body || v.Type != c.typ || v.ID != c.id || !v.LastUpdated.Equal(now) || v.Method != "PUT" {
				t.Fatalf("got %+v (body %s)", v, v.Body)
			}
		})
	}
	// Version 0 is no version, inside a transaction as on the DB.
	if _, err := tx.VRead(ctx, "Encounter", "e1", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("vread of version 0: %v, want ErrNotFound", err)
	}
	if tx.savepoint || tx.wrote {
		t.Fatalf("reads of ids wrote to SQLite early (savepoint %v, wrote %v)", tx.savepoint, tx.wrote)
	}

	// A deletion buffered in this transaction reads as gone.
	put(tx, "Observation", "o1", 2, "", true)
	if _, err := tx.Read(ctx, "Observation", "o1"); !errors.Is(err, store.ErrGone) {
		t.Fatalf("read of a deletion: %v, want ErrGone", err)
	}
	// A search still sees the pending rows (it flushes them).
	if _, err := tx.History(ctx, store.HistoryQuery{Type: "Encounter", ID: "e1"}); err != nil {
		t.Fatal(err)
	}
	if !tx.wrote {
		t.Fatal("history did not flush the pending rows")
	}
	if v, err := tx.Read(ctx, "Encounter", "e1"); err != nil || string(v.Body) != `{"new":true}` {
		t.Fatalf("read after the flush: %v %v", v, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Read(ctx, "Encounter", "e1"); err == nil {
		t.Fatal("read after Rollback succeeded")
	}
	if _, err := db.Read(ctx, "Encounter", "e1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled-back create: %v, want ErrNotFound", err)
	}
}

// A transaction that wrote early (a search flushed its rows inside its
// savepoint) releases the savepoint before its final flush, and all of
// its rows, early and late, are committed.
func TestCommitAfterEarlyFlush(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx := st.(*tx)
	w := func(id string) *store.Write {
		return &store.Write{Type: "Patient", ID: id, VersionID: 1, LastUpdated: time.Now(), Method: "POST", Body: []byte(`{"id":"` + id + `"}`)}
	}
	if err := tx.Put(ctx, w("early")); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.History(ctx, store.HistoryQuery{Type: "Patient"}); err != nil {
		t.Fatal(err)
	}
	if !tx.savepoint {
		t.Fatal("the early flush opened no savepoint")
	}
	for _, id := range []string{"late1", "late2"} {
		if err := tx.Put(ctx, w(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if tx.savepoint {
		t.Fatal("savepoint still open after Commit")
	}
	for _, id := range []string{"early", "late1", "late2"} {
		if v, err := db.Read(ctx, "Patient", id); err != nil || string(v.Body) != `{"id":"`+id+`"}` {
			t.Fatalf("Patient/%s after commit: %v %v", id, v, err)
		}
	}
}
