// Package open chooses a store implementation from a data-source name, so
// the rest of the program (the server, `xietong migrate`, the ingest tool)
// names a database with one string:
//
//	postgres://user@host/db?sslmode=disable   PostgreSQL (also postgresql://)
//	/var/lib/xietong/region.db                SQLite file (anything else)
//
// It is the only package that imports both implementations.
package open

import (
	"context"
	"strings"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/postgres"
	"github.com/xietong/xietong/store/sqlite"
)

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Option configures Open.
type Option func(*config)

type config struct {
	migrate bool
	sqlite  sqlite.Options
	pg      postgres.Options
}

// WithMigrate makes Open apply pending migrations instead of refusing a
// database whose schema is older than the binary. Convenient for the
// embedded SQLite default; for a shared PostgreSQL, run Migrate as a
// deliberate step instead.
func WithMigrate() Option { return func(c *config) { c.migrate = true } }

// WithSQLite sets the SQLite options (ignored for PostgreSQL).
func WithSQLite(o sqlite.Options) Option { return func(c *config) { c.sqlite = o } }

// WithPostgres sets the PostgreSQL options (ignored for SQLite).
func WithPostgres(o postgres.Options) Option { return func(c *config) { c.pg = o } }

// Open opens the store dsn names. It fails with store.ErrSchema when the
// database schema is newer than this binary, or older and WithMigrate was
// not given.
func Open(ctx context.Context, dsn string, opts ...Option) (store.Store, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if IsPostgres(dsn) {
		o := c.pg
		o.Migrate = o.Migrate || c.migrate
		return postgres.Open(ctx, dsn, o)
	}
	o := c.sqlite
	o.Migrate = o.Migrate || c.migrate
	return sqlite.Open(ctx, dsn, o)
}

// Migrate applies the pending schema migrations of the database dsn names
// (creating a SQLite file if there is none): the `xietong migrate` command.
// It fails with store.ErrSchema if the database is newer than the binary.
func Migrate(ctx context.Context, dsn string) error {
	if IsPostgres(dsn) {
		return postgres.Migrate(ctx, dsn)
	}
	return sqlite.Migrate(ctx, dsn)
}
