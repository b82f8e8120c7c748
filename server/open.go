package server

import (
	"context"
	"strings"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/postgres"
	"github.com/xietong/xietong/store/sqlite"
)

// IsPostgres reports whether a DSN names a PostgreSQL database (a
// postgres:// or postgresql:// URL); anything else is a SQLite file path.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// OpenStore opens the store a DSN names, applying pending migrations.
func OpenStore(ctx context.Context, dsn string) (store.Store, error) {
	if IsPostgres(dsn) {
		return postgres.Open(ctx, dsn, postgres.Options{Migrate: true})
	}
	return sqlite.Open(ctx, dsn, sqlite.Options{Migrate: true})
}

// Migrate brings the schema of the database a DSN names up to date.
func Migrate(ctx context.Context, dsn string) error {
	if IsPostgres(dsn) {
		return postgres.Migrate(ctx, dsn)
	}
	return sqlite.Migrate(ctx, dsn)
}
