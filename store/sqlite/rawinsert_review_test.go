package sqlite

import (
	"context"
	"errors"
	"fmt"
	"github.com/xietong/xietong/store"
	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
	"testing"
)

// The driver reports driver.ErrBadConn from ResetSession (and false from
// IsValid) whenever sqlite3_is_interrupted is set on the handle, not only
// once the connection is closed; database/sql then closes the connection
// and opens a new one. verify must prepare the raw INSERTs again on the
// new handle (found in review: it used to refuse every group from then
// on, and the store could not write again until reopened).
func TestReplacedWriterConnectionKeepsWriting(t *testing.T) {
	ctx := context.Background()
	db := openGroupTest(t)
	tx1, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx1.Put(ctx, patient("a", 1)); err != nil {
		t.Fatal(err)
	}
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	// A stray interrupt on the idle writer connection (as a cancelled
	// context's interrupt can leave it): the driver now calls it bad.
	tls := libc.NewTLS()
	sqlite3.Xsqlite3_interrupt(tls, db.raw.db)
	tls.Close()
	for i, id := range []string{"b", "c", "d"} {
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Errorf("Begin %d after the writer connection was replaced: %v", i, err)
			continue
		}
		if err := tx.Put(ctx, patient(id, 1)); err != nil {
			t.Errorf("Put %d: %v", i, err)
		}
		if err := tx.Commit(); err != nil {
			t.Errorf("Commit %d: %v", i, err)
		}
	}
	if v, err := db.Read(ctx, "Patient", "d"); err != nil || v.VersionID != 1 {
		t.Errorf("Patient/d: %v", err)
	}
}

// One transaction used from two goroutines (tx.mu says callers may): a
// History (database/sql, the driver's TLS, outside tx.mu once flushed)
// beside Puts whose updates flush through the raw handle.
func TestConcurrentUseOfOneTx(t *testing.T) {
	ctx := context.Background()
	db := openGroupTest(t)
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(done)
		for i := 0; i < 300; i++ {
			if _, err := tx.History(ctx, store.HistoryQuery{Type: "Patient", ID: "p0"}); err != nil && !errors.Is(err, store.ErrNotFound) {
				errs <- err
				return
			}
		}
	}()
	for v := int64(1); v <= 60; v++ {
		for i := 0; i < 5; i++ {
			w := patient(fmt.Sprintf("p%d", i), v)
			for k := 0; k < 40; k++ {
				w.Index.Strings = append(w.Index.Strings, store.StringEntry{Param: "name", Norm: fmt.Sprint(k), Exact: fmt.Sprint(k)})
			}
			if err := tx.Put(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
	}
	<-done
	select {
	case err := <-errs:
		t.Error(err)
	default:
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n int
	db.reader.QueryRow(`SELECT count(*) FROM idx_string`).Scan(&n)
	if n != 5*40 {
		t.Errorf("idx_string rows: %d, want %d", n, 5*40)
	}
}

// The C buffer grows to the largest statement's texts and blobs (doubling)
// outside the Go heap (GOMEMLIMIT does not see it): a buffer grown past
// rawBufKeep by one large body must be freed after its statement, not
// kept for the store's life (found in review).
func TestRawBufferShrinksAfterALargeStatement(t *testing.T) {
	ctx := context.Background()
	db := openGroupTest(t)
	tx, _ := db.Begin(ctx)
	w := patient("big", 1)
	w.Body = make([]byte, 48<<20)
	if err := tx.Put(ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // small writes after it
		tx, _ := db.Begin(ctx)
		tx.Put(ctx, patient(fmt.Sprint("s", i), 1))
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if db.raw.size > 1<<20 {
		t.Errorf("C buffer still %d MiB after the large write", db.raw.size>>20)
	}
}

// a commits into the group; b, next in it, hits OR ROLLBACK on its raw
// flush (a PutFresh of an existing id, then an update flushes): the
// shared transaction is gone, so a must not be acknowledged, nothing of
// a or b may be in the file, and c (next) starts a clean group.
func TestOrRollbackMidGroupFailsEarlierMember(t *testing.T) {
	ctx := context.Background()
	db := openGroupTest(t)
	setup, _ := db.Begin(ctx)
	for _, id := range []string{"dup", "old"} {
		if err := setup.Put(ctx, patient(id, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := setup.Commit(); err != nil {
		t.Fatal(err)
	}
	a, _ := db.Begin(ctx)
	bStarted, bc := make(chan struct{}), make(chan store.Tx, 1)
	go func() { close(bStarted); tx, _ := db.Begin(ctx); bc <- tx }()
	waitQueued(t, bStarted)
	if err := a.Put(ctx, patient("a", 1)); err != nil {
		t.Fatal(err)
	}
	aDone := make(chan error, 1)
	go func() { aDone <- a.Commit() }()
	b := <-bc
	if err := b.(*tx).PutFresh(ctx, patient("dup", 1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, patient("old", 2)); err == nil {
		t.Fatal("b's flush succeeded")
	}
	// b tries to go on: refused.
	if err := b.Put(ctx, patient("b2", 1)); err == nil {
		t.Error("b wrote after its transaction failed")
	}
	b.Rollback()
	if err := <-aDone; err == nil {
		t.Error("a acknowledged although the shared transaction was rolled back")
	}
	c, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, patient("c", 1)); err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"a": false, "b2": false, "c": true} {
		_, err := db.Read(ctx, "Patient", id)
		if (err == nil) != want {
			t.Errorf("Patient/%s: %v, want present=%v", id, err, want)
		}
	}
	if v, err := db.Read(ctx, "Patient", "old"); err != nil || v.VersionID != 1 {
		t.Errorf("Patient/old: %v %v", v, err)
	}
}

// SQLite rolls the whole transaction back on its own when a statement,
// even a SELECT, fails with SQLITE_IOERR or SQLITE_NOMEM (sqlite3VdbeHalt:
// "isSpecialError" -> sqlite3RollbackAll); put's lookups and the
// transaction's reads do not fail the transaction for such an error, so
// the group carries on without its SQLite transaction. A member that
// writes early opens "SAVEPOINT member" first, which outside a
// transaction would start one of its own that Commit's RELEASE commits,
// while the member is told its commit failed (found in review): the
// member must fail before writing anything. Simulated here by a ROLLBACK
// on the handle.
func TestSavepointAfterSilentRollbackLeavesNothing(t *testing.T) {
	ctx := context.Background()
	db := openGroupTest(t)
	setup, _ := db.Begin(ctx)
	if err := setup.Put(ctx, patient("old", 1)); err != nil {
		t.Fatal(err)
	}
	if err := setup.Commit(); err != nil {
		t.Fatal(err)
	}
	b, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The shared transaction ends under the group (as after a read's
	// SQLITE_IOERR); database/sql does not know.
	tls := libc.NewTLS()
	z, _ := libc.CString("ROLLBACK")
	if rc := sqlite3.Xsqlite3_exec(tls, db.raw.db, z, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		t.Fatal(rc)
	}
	libc.Xfree(tls, z)
	tls.Close()
	// b updates "old" (SAVEPOINT, flush, UPDATE, DELETEs) and adds "new".
	if err := b.Put(ctx, patient("old", 2)); err != nil {
		t.Logf("update: %v", err)
	}
	if err := b.Put(ctx, patient("new", 1)); err != nil {
		t.Logf("put: %v", err)
	}
	cerr := b.Commit()
	t.Logf("b.Commit: %v", cerr)
	var cur, versions int
	db.reader.QueryRow(`SELECT version FROM resource WHERE id = 'old'`).Scan(&cur)
	db.reader.QueryRow(`SELECT count(*) FROM resource_version WHERE id = 'old'`).Scan(&versions)
	if cerr != nil && (cur != 1 || versions != 1) {
		t.Errorf("b's Commit failed, yet Patient/old's current row is version %d with %d version rows in the file", cur, versions)
	}
}
