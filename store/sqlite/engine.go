package sqlite

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
func (db *DB) Dialect() string { return "sqlite" }

// QuerySQL implements store.EngineSQL on the read pool (statements are
// prepared once per connection, like the store's own reads).
func (db *DB) QuerySQL(ctx context.Context, query string, args ...any) (store.Rows, error) {
	rows, err := db.read.Q.Query(ctx, query, args...)
	if err != nil {
		return nil, sqlstore.WrapErr(ctx, "engine query", err)
	}
	return rows, nil
}

// Dialect implements store.EngineSQL.
func (t *tx) Dialect() string { return "sqlite" }

// QuerySQL implements store.EngineSQL inside the transaction. It does not
// flush the transaction's buffered rows: engines never read the store's
// tables.
func (t *tx) QuerySQL(ctx context.Context, query string, args ...any) (store.Rows, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, sqlstore.WrapErr(ctx, "engine query", err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, sqlstore.WrapErr(ctx, "engine query", err)
	}
	return rows, nil
}

// ExecSQL implements store.EngineTx. The statement runs inside the
// transaction's savepoint, so that a Rollback undoes it alone; written
// without one, a rollback after it (a later entry of the Bundle failing)
// failed every member of the shared transaction, those that had already
// committed too.
func (t *tx) ExecSQL(ctx context.Context, query string, args ...any) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return t.err
	}
	if err := t.beginWriting(); err != nil {
		return sqlstore.WrapErr(ctx, "engine exec", err)
	}
	_, err := t.exec(query, args...)
	return sqlstore.WrapErr(ctx, "engine exec", err)
}
