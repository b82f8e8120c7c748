package postgres_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/postgres"
	"github.com/xietong/xietong/store/postgres/pgtest"
	"github.com/xietong/xietong/store/storetest"
)

func openTest(t *testing.T) store.Store {
	t.Helper()
	dsn := pgtest.Schema(t)
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{Migrate: true})
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
	dsn := os.Getenv("XIETONG_STORETEST_CRASH_DSN")
	if dsn == "" {
		dsn = pgtest.Schema(t)
	}
	storetest.Crash(t, "TestCrashLosesNothing", dsn, func(dsn string) (store.Store, error) {
		return postgres.Open(context.Background(), dsn, postgres.Options{Migrate: true})
	})
}

func TestSchemaVersionChecks(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	if _, err := postgres.Open(ctx, dsn, postgres.Options{}); !errors.Is(err, store.ErrSchema) {
		t.Fatalf("open of an unmigrated database: %v, want ErrSchema", err)
	}
	for i := 0; i < 2; i++ {
		if err := postgres.Migrate(ctx, dsn); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
	}
	db, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if _, err := postgres.Open(ctx, dsn, postgres.Options{Migrate: true}); !errors.Is(err, store.ErrSchema) {
		t.Fatalf("open of a newer schema: %v, want ErrSchema", err)
	}
	if err := postgres.Migrate(ctx, dsn); !errors.Is(err, store.ErrSchema) {
		t.Fatalf("migrate of a newer schema: %v, want ErrSchema", err)
	}
}

// Many nodes starting at once must not trip over each other's migrations.
func TestConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() { errs <- postgres.Migrate(ctx, dsn) }()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
