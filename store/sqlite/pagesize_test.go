package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/sqlite"
	_ "modernc.org/sqlite"
)

func pageSize(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPageSize: a new database file gets 8 KiB pages (decision 017); a
// file made with SQLite's default 4 KiB pages keeps them, and is written
// and read as before.
func TestPageSize(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	fresh := filepath.Join(dir, "new.db")
	db, err := sqlite.Open(ctx, fresh, sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if n := pageSize(t, fresh); n != 8192 {
		t.Fatalf("a new file's page size is %d, want 8192", n)
	}

	old := filepath.Join(dir, "old.db")
	raw, err := sql.Open("sqlite", old+"?_pragma=page_size(4096)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE before_017 (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err = sqlite.Open(ctx, old, sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"resourceType":"Patient","id":"p1"}`)
	if err := tx.Put(ctx, &store.Write{Type: "Patient", ID: "p1", VersionID: 1, LastUpdated: time.Now(), Method: "PUT", Body: body}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	v, err := db.Read(ctx, "Patient", "p1")
	if err != nil || string(v.Body) != string(body) {
		t.Fatalf("read back %v, %v", v, err)
	}
	if n := pageSize(t, old); n != 4096 {
		t.Fatalf("an existing 4 KiB file's page size is %d after opening, want 4096", n)
	}
}
