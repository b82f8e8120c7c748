// Package pgtest gives tests a private PostgreSQL schema on the test
// server, or skips them with a message when there is none (fails them
// when XIETONG_POSTGRES_REQUIRED=1, as in CI).
package pgtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xietong/xietong/store/postgres"
)

// DSNEnv names the server the tests use; CI sets RequiredEnv=1 so an
// unreachable server fails the run instead of skipping it.
const (
	DSNEnv      = "XIETONG_TEST_POSTGRES"
	RequiredEnv = "XIETONG_POSTGRES_REQUIRED"
	DefaultDSN  = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// Schema creates a fresh schema with a random name on the test server
// and returns a DSN whose search_path selects it; the schema is dropped
// when tb ends. Parallel test packages therefore never see each other's
// tables. It skips tb (or fails it, when XIETONG_POSTGRES_REQUIRED=1) if
// the server cannot be reached.
func Schema(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(DSNEnv)
	if dsn == "" {
		dsn = DefaultDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if os.Getenv(RequiredEnv) == "1" {
			tb.Fatalf("PostgreSQL required (%s=1) but unreachable at %s: %v", RequiredEnv, dsn, err)
		}
		tb.Skipf("PostgreSQL unreachable at %s (set %s to point at a server): %v", dsn, DSNEnv, err)
	}
	defer conn.Close(context.Background())
	schema, err := postgres.NewSchema(ctx, conn, "xt_test_")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return postgres.WithSearchPath(dsn, schema)
}
