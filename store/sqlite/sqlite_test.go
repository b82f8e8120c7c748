package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/sqlite"
	"github.com/xietong/xietong/store/storetest"
)

func openTest(t *testing.T) store.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, openTest)
}

func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a writer process and kills it")
	}
	path := os.Getenv("XIETONG_STORETEST_CRASH_DSN")
	if path == "" {
		path = filepath.Join(t.TempDir(), "crash.db")
	}
	storetest.Crash(t, "TestCrashLosesNothing", path, func(dsn string) (store.Store, error) {
		return sqlite.Open(context.Background(), dsn, sqlite.Options{Migrate: true})
	})
}

func TestSchemaVersionChecks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	if _, err := sqlite.Open(ctx, path, sqlite.Options{}); !errors.Is(err, store.ErrSchema) {
		t.Fatalf("open of an unmigrated database: %v, want ErrSchema", err)
	}
	for i := 0; i < 2; i++ { // idempotent
		if err := sqlite.Migrate(ctx, path); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
	}
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	// A database migrated by a newer binary is refused, not damaged.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := sqlite.Open(ctx, path, sqlite.Options{Migrate: true}); !errors.Is(err, store.ErrSchema) {
		t.Fatalf("open of a newer schema: %v, want ErrSchema", err)
	}
	if err := sqlite.Migrate(ctx, path); !errors.Is(err, store.ErrSchema) {
		t.Fatalf("migrate of a newer schema: %v, want ErrSchema", err)
	}
}

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mode string
	if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q, %v", mode, err)
	}
	if _, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: "OFF"}); err == nil {
		t.Fatal("synchronous=OFF accepted")
	}
}
