package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/xietong/xietong/store"
)

func openGroupTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "g.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func patient(id string, v int64) *store.Write {
	return &store.Write{Type: "Patient", ID: id, VersionID: v, LastUpdated: time.Unix(1700000000, 0), Method: "PUT",
		Body:  []byte(`{"resourceType":"Patient","id":"` + id + `"}`),
		Index: store.Index{Tokens: []store.TokenEntry{{Param: "identifier", System: "s", Code: id}}}}
}

// waitQueued waits until n goroutines are queued for the writer token.
func waitQueued(t *testing.T, started <-chan struct{}) {
	t.Helper()
	<-started
	time.Sleep(50 * time.Millisecond) // let it block on the token
}

// Transactions queued behind one another share one SQLite COMMIT; one
// that rolls back after writing (an update, inside its savepoint) leaves
// the others' rows intact and its own absent.
func TestGroupCommitSharesCommitAndIsolatesRollback(t *testing.T) {
	ctx := context.Background()
	db := openGroupTest(t)
	setup, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := setup.Put(ctx, patient("old", 1)); err != nil {
		t.Fatal(err)
	}
	if err := setup.Commit(); err != nil {
		t.Fatal(err)
	}
	before := db.commits.Load()

	a, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// b and c queue for the writer while a holds it.
	type began struct {
		tx  store.Tx
		err error
	}
	bStarted, bc := make(chan struct{}), make(chan began, 1)
	go func() { close(bStarted); tx, err := db.Begin(ctx); bc <- began{tx, err} }()
	waitQueued(t, bStarted)
	cStarted, cc := make(chan struct{}), make(chan began, 1)
	go func() { close(cStarted); tx, err := db.Begin(ctx); cc <- began{tx, err} }()
	waitQueued(t, cStarted)

	if err := a.Put(ctx, patient("a", 1)); err != nil {
		t.Fatal(err)
	}
	aDone := make(chan error, 1)
	go func() { aDone <- a.Commit() }()

	b := <-bc
	if b.err != nil {
		t.Fatal(b.err)
	}
	// b sees a's rows (same SQLite transaction, a ran first), updates
	// "old" (written to SQLite before Commit, in b's savepoint), reads
	// its own write, then rolls back.
	if _, err := b.tx.Read(ctx, "Patient", "a"); err != nil {
		t.Fatalf("b reads a's committed-in-group write: %v", err)
	}
	if err := b.tx.Put(ctx, patient("b", 1)); err != nil {
		t.Fatal(err)
	}
	if err := b.tx.Put(ctx, patient("old", 2)); err != nil {
		t.Fatal(err)
	}
	if v, err := b.tx.Read(ctx, "Patient", "old"); err != nil || v.VersionID != 2 {
		t.Fatalf("b reads its own update: %v %v", v, err)
	}
	if err := b.tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-aDone:
		t.Fatalf("a was acknowledged (%v) before the shared COMMIT", err)
	default:
	}

	c := <-cc
	if c.err != nil {
		t.Fatal(c.err)
	}
	if err := c.tx.Put(ctx, patient("c", 1)); err != nil {
		t.Fatal(err)
	}
	if err := c.tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	if n := db.commits.Load() - before; n != 1 {
		t.Errorf("a and c took %d COMMITs, want 1 shared", n)
	}
	for id, want := range map[string]int64{"a": 1, "c": 1, "old": 1} {
		v, err := db.Read(ctx, "Patient", id)
		if err != nil || v.VersionID != want {
			t.Errorf("Patient/%s: %v %v, want version %d", id, v, err, want)
		}
	}
	if _, err := db.Read(ctx, "Patient", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Patient/b of the rolled-back member: %v", err)
	}
	res, err := db.Search(ctx, &store.Query{Types: []string{"Patient"}, Where: []store.Clause{{store.Predicate{Param: "identifier", Type: store.TypeToken, AnySystem: true, Code: "old"}}}, Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 1 || res.Matches[0].VersionID != 1 {
		t.Errorf("the index of Patient/old after b's rollback: %v", res.Matches)
	}
}

// A failed write without a savepoint (here: the shared transaction
// ended under it by Close) fails the members of its group: none is
// acknowledged.
func TestGroupCommitCloseFailsWaitingMembers(t *testing.T) {
	ctx := context.Background()
	db := openGroupTest(t)
	a, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, patient("a", 1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := a.Commit(); err == nil {
		t.Fatal("commit after Close succeeded")
	}
	if _, err := db.Begin(ctx); err == nil {
		t.Fatal("Begin after Close succeeded")
	}
}

// A member that wrote engine rows (store.EngineTx.ExecSQL, as the
// recognition hook does for each result) and then rolls back undoes them
// alone: they were written inside its savepoint. Without one, its
// rollback failed the whole group, and with it a member that had already
// committed and was waiting for the shared COMMIT.
func TestEngineRowsRollBackAlone(t *testing.T) {
	ctx := context.Background()
	db := openGroupTest(t)
	setup, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := setup.(*tx).ExecSQL(ctx, `CREATE TABLE engine_rows (x TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if err := setup.Commit(); err != nil {
		t.Fatal(err)
	}

	a, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bStarted, bc := make(chan struct{}), make(chan store.Tx, 1)
	go func() {
		close(bStarted)
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Error(err)
		}
		bc <- tx
	}()
	waitQueued(t, bStarted)
	if err := a.Put(ctx, patient("a", 1)); err != nil {
		t.Fatal(err)
	}
	if err := a.(*tx).ExecSQL(ctx, `INSERT INTO engine_rows (x) VALUES ('a')`); err != nil {
		t.Fatal(err)
	}
	aDone := make(chan error, 1)
	go func() { aDone <- a.Commit() }()

	b := <-bc
	if b == nil {
		t.FailNow()
	}
	if err := b.Put(ctx, patient("b", 1)); err != nil {
		t.Fatal(err)
	}
	if err := b.(*tx).ExecSQL(ctx, `INSERT OR IGNORE INTO engine_rows (x) VALUES ('b'), ('b2')`); err != nil {
		t.Fatal(err)
	}
	if err := b.Rollback(); err != nil {
		t.Fatalf("rollback after engine rows: %v", err)
	}
	if err := <-aDone; err != nil {
		t.Fatalf("a, committed before b rolled back: %v", err)
	}
	if _, err := db.Read(ctx, "Patient", "a"); err != nil {
		t.Errorf("Patient/a: %v", err)
	}
	if _, err := db.Read(ctx, "Patient", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Patient/b of the rolled-back member: %v", err)
	}
	rows, err := db.QuerySQL(ctx, `SELECT x FROM engine_rows ORDER BY x`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var x string
		if err := rows.Scan(&x); err != nil {
			t.Fatal(err)
		}
		got = append(got, x)
	}
	rows.Close()
	if len(got) != 1 || got[0] != "a" {
		t.Errorf("engine rows after b's rollback: %q, want [a]", got)
	}
}
