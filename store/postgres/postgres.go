// Package postgres is the store for regions that outgrow one machine:
// PostgreSQL through pgx v5 and a connection pool. Write transactions run
// concurrently; Put's version check is race-free because an update only
// changes the current row WHERE version = new - 1 (under the row lock, which
// PG re-checks after a concurrent writer commits) and a new resource's first
// version is guarded by the unique (type, id, version) constraint. Each Put
// is one statement, so one round trip (see tx.go).
//
// It uses the same logical schema as store/sqlite and the same read-side
// SQL (store/internal/sqlstore). It depends only on store, that package
// and pgx.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options tune a database; the zero value is the production default.
type Options struct {
	// MaxConns is the pool size (default: pgxpool's, max(4, NumCPU)).
	MaxConns int32
	// Migrate applies pending migrations on Open instead of refusing an
	// out-of-date schema.
	Migrate bool
}

// DB is a PostgreSQL store.
type DB struct {
	pool *pgxpool.Pool
	read sqlstore.Reader

	mu  sync.Mutex
	txs map[*tx]struct{} // open transactions, rolled back by Close
}

var _ store.Store = (*DB)(nil)

// Open connects to the database named by a postgres:// URL (or key=value
// DSN). A search_path parameter in the URL selects the schema. It refuses
// a schema newer than this binary, and an older one unless o.Migrate.
func Open(ctx context.Context, dsn string, o Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{pool: pool, read: sqlstore.Reader{Q: querier{pool}, D: sqlstore.Postgres}, txs: map[*tx]struct{}{}}
	if err := db.checkSchema(ctx, o.Migrate); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close implements store.Store: open transactions are rolled back first
// (the pool would otherwise wait for them forever).
func (db *DB) Close() error {
	db.mu.Lock()
	txs := db.txs
	db.txs = map[*tx]struct{}{}
	db.mu.Unlock()
	for t := range txs {
		t.Rollback()
	}
	db.pool.Close()
	return nil
}

// Read implements store.Reader on committed data.
func (db *DB) Read(ctx context.Context, typ, id string) (*store.Version, error) {
	return db.read.Read(ctx, typ, id)
}

// VRead implements store.Reader on committed data.
func (db *DB) VRead(ctx context.Context, typ, id string, versionID int64) (*store.Version, error) {
	return db.read.VRead(ctx, typ, id, versionID)
}

// History implements store.Reader on committed data.
func (db *DB) History(ctx context.Context, q store.HistoryQuery) (*store.HistoryPage, error) {
	return db.read.History(ctx, q)
}

// Search implements store.Reader on committed data.
func (db *DB) Search(ctx context.Context, q *store.Query) (*store.SearchResult, error) {
	return db.read.Search(ctx, q)
}

// queryer is what a pool and a transaction have in common.
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// querier adapts pgx to sqlstore. pgx caches prepared statements per
// connection by SQL text, so hot queries are parsed and planned once;
// searches are not (SearchQuery).
type querier struct{ q queryer }

func (q querier) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	rows, err := q.q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgRows{rows}, nil
}

// SearchQuery implements sqlstore.SearchQuerier: a search is sent as an
// unnamed statement (QueryExecModeDescribeExec), which PostgreSQL plans
// with the values bound, never with a generic plan cached for the text.
// Searches are skewed (a code carried by 20,000 entries or by 3; a
// patient key that narrows the code's entries to one): after five
// executions a cached statement may switch to a generic plan, which drove
// one patient's code search from every entry of the code (2 s instead of
// 2 ms at a million resources). The cost is one more round trip and a
// plan per search.
func (q querier) SearchQuery(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	return q.Query(ctx, sql, append([]any{pgx.QueryExecModeDescribeExec}, args...)...)
}

type pgRows struct{ pgx.Rows }

func (r pgRows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}

func fsSub() (fs.FS, error) { return fs.Sub(migrationFS, "migrations") }

var errNoRows = pgx.ErrNoRows

func isNoRows(err error) bool { return errors.Is(err, errNoRows) }
