package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

var _ store.Reindexer = (*tx)(nil)

const sqlCurrentLive = `SELECT rid, version, deleted FROM resource WHERE type = ? AND id = ?`

// Reindex implements store.Reindexer: the resource's index rows are
// deleted and x's buffered, as an update's are (its rows go in with the
// transaction's others at Commit).
func (t *tx) Reindex(ctx context.Context, typ, id string, version int64, x *store.Index) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ok, err := t.reindex(ctx, typ, id, version, x)
	return ok, sqlstore.WrapErr(ctx, "reindex", err)
}

func (t *tx) reindex(ctx context.Context, typ, id string, version int64, x *store.Index) (bool, error) {
	if t.err != nil {
		return false, t.err
	}
	if t.done {
		return false, fmt.Errorf("reindex: %w: the transaction has ended", store.ErrInvalid)
	}
	key := typ + "/" + id
	_, pending := t.created[key]
	var cur current
	var deleted int
	st, err := t.stmt(ctx, sqlCurrentLive)
	if err != nil {
		return false, err
	}
	// The deletes below write ahead of Commit: inside the savepoint, so
	// a Rollback undoes this transaction's rows alone.
	if err := t.beginWriting(); err != nil {
		return false, err
	}
	if pending {
		// Written or reindexed earlier in this transaction: its rows
		// must be in the table before they are replaced.
		if err := t.flush(); err != nil {
			return false, err
		}
	}
	if err := st.QueryRowContext(ctx, typ, id).Scan(&cur.rid, &cur.version, &deleted); errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if cur.version != version || deleted != 0 {
		return false, nil
	}
	for _, table := range indexTables {
		if _, err := t.exec(deleteIndexSQL(table), cur.rid); err != nil {
			return false, err
		}
	}
	t.created[key] = cur
	t.bufferIndex(cur.rid, typ, x)
	return true, nil
}
