package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/xietong/xietong/store"
)

// The point reads inside a transaction (a Put's current row, a read by id)
// are checked for an ended context, not watched: a context that has ended
// is refused before anything is read or buffered, and a live cancellable
// one works as any other. The transaction stays usable after a refusal.
func TestTxPointReadsCheckTheContext(t *testing.T) {
	bg := context.Background()
	db, err := Open(bg, filepath.Join(t.TempDir(), "c.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := func(id string) *store.Write {
		return &store.Write{Type: "Patient", ID: id, VersionID: 1, LastUpdated: time.Now().UTC(), Method: "PUT", Body: []byte(`{}`)}
	}
	ended, cancel := context.WithCancel(bg)
	cancel()
	live, stop := context.WithCancel(bg)
	defer stop()

	tx, err := db.Begin(bg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Put(ended, w("a")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with an ended context: %v, want context.Canceled", err)
	}
	if err := tx.Put(live, w("b")); err != nil {
		t.Fatalf("Put with a live context: %v", err)
	}
	if _, err := tx.Read(ended, "Patient", "c"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with an ended context: %v, want context.Canceled", err)
	}
	if _, err := tx.Read(live, "Patient", "c"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Read of nothing with a live context: %v, want ErrNotFound", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Read(bg, "Patient", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused Put was written: %v", err)
	}
	if _, err := db.Read(bg, "Patient", "b"); err != nil {
		t.Errorf("the Put with a live context: %v", err)
	}
}
