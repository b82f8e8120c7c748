package sqlite

import (
	"context"
	"errors"
	"testing"

	"github.com/xietong/xietong/store"
)

// PutFresh stores a first version without looking for the current row;
// what it cannot see (an id that exists after all) the unique index still
// refuses, failing the whole shared transaction rather than overwriting.
func TestPutFresh(t *testing.T) {
	ctx := context.Background()
	db := openGroupTest(t)
	write := func(id string, v int64, body string) *store.Write {
		w := patient(id, v)
		w.Body = []byte(body)
		return w
	}
	fresh := func(st store.Tx, w *store.Write) error { return st.(*tx).PutFresh(ctx, w) }

	tx1, _ := db.Begin(ctx)
	if err := fresh(tx1, write("a", 1, `{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	// The same id again in the same transaction: found in its buffers.
	if err := fresh(tx1, write("a", 1, `{"n":2}`)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutFresh of an id the transaction wrote: %v, want ErrConflict", err)
	}
	if err := fresh(tx1, write("b", 2, `{}`)); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("PutFresh of version 2: %v, want ErrInvalid", err)
	}
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	v, err := db.Read(ctx, "Patient", "a")
	if err != nil || string(v.Body) != `{"n":1}` || v.VersionID != 1 {
		t.Fatalf("read a: %v %+v", err, v)
	}
	entries := func(code string) (n int) {
		t.Helper()
		if err := db.reader.QueryRow(`SELECT count(*) FROM idx_token WHERE code = ?`, code).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := entries("a"); n != 1 {
		t.Fatalf("index entries of the fresh resource: %d, want 1", n)
	}

	// An id that exists: the transaction (and its group) fails at Commit
	// and leaves nothing; the stored resource is untouched.
	tx2, _ := db.Begin(ctx)
	if err := fresh(tx2, write("c", 1, `{}`)); err != nil {
		t.Fatal(err)
	}
	if err := fresh(tx2, write("a", 1, `{"n":3}`)); err != nil {
		t.Fatal(err) // not looked up: only the unique index can tell
	}
	if err := tx2.Commit(); err == nil {
		t.Fatal("Commit of a fresh write under an existing id succeeded")
	}
	if _, err := db.Read(ctx, "Patient", "c"); !errors.Is(err, store.ErrNotFound) || entries("c") != 0 {
		t.Errorf("read c of the failed transaction: %v, want ErrNotFound and no index entries", err)
	}
	if v, err := db.Read(ctx, "Patient", "a"); err != nil || string(v.Body) != `{"n":1}` || entries("a") != 1 {
		t.Errorf("read a after the failed transaction: %v %+v", err, v)
	}
	// The writer is usable again.
	tx3, _ := db.Begin(ctx)
	if err := fresh(tx3, write("d", 1, `{}`)); err != nil {
		t.Fatal(err)
	}
	if err := tx3.Commit(); err != nil {
		t.Fatal(err)
	}
}
