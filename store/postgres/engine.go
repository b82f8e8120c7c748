package postgres

import (
	"context"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

var (
	_ store.EngineSQL = (*DB)(nil)
	_ store.EngineTx  = (*tx)(nil)
)

// Dialect implements store.EngineSQL.
func (db *DB) Dialect() string { return "postgres" }

// QuerySQL implements store.EngineSQL on the pool.
func (db *DB) QuerySQL(ctx context.Context, query string, args ...any) (store.Rows, error) {
	rows, err := db.pool.Query(ctx, store.NumberPlaceholders(query), args...)
	if err != nil {
		return nil, sqlstore.WrapErr(ctx, "engine query", err)
	}
	return pgRows{rows}, nil
}

// Dialect implements store.EngineSQL.
func (t *tx) Dialect() string { return "postgres" }

// QuerySQL implements store.EngineSQL inside the transaction. The caller
// must close the rows before the next statement of the transaction.
func (t *tx) QuerySQL(ctx context.Context, query string, args ...any) (store.Rows, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rows, err := t.tx.Query(ctx, store.NumberPlaceholders(query), args...)
	if err != nil {
		return nil, sqlstore.WrapErr(ctx, "engine query", err)
	}
	return pgRows{rows}, nil
}

// ExecSQL implements store.EngineTx.
func (t *tx) ExecSQL(ctx context.Context, query string, args ...any) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, err := t.tx.Exec(ctx, store.NumberPlaceholders(query), args...)
	return sqlstore.WrapErr(ctx, "engine exec", err)
}
