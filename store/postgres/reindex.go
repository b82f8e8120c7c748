package postgres

import (
	"context"
	"fmt"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

var _ store.Reindexer = (*tx)(nil)

// sqlReindex replaces the index rows of the current version, when it is
// still version $3 and not a deletion, in one statement as Put does; the
// row lock (FOR UPDATE) makes a concurrent Put of the resource wait.
// $4 to $7 are Put's version columns, unused here (NULL), so that the
// index rows keep Put's parameter numbers ($8 on).
const sqlReindex = `WITH r AS (
    SELECT rid FROM resource WHERE type = $1 AND id = $2 AND version = $3 AND deleted = 0
    AND $4::bigint IS NULL AND $5::text IS NULL AND $6::smallint IS NULL AND $7::bytea IS NULL FOR UPDATE),
` + replaceIndexCTEs

// Reindex implements store.Reindexer.
func (t *tx) Reindex(ctx context.Context, typ, id string, version int64, x *store.Index) (bool, error) {
	if typ == "" || id == "" || x == nil {
		return false, fmt.Errorf("reindex: %w: type, id and index are required", store.ErrInvalid)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	args := indexArgs([]any{typ, id, version, nil, nil, nil, nil}, typ, x)
	var rid int64
	err := t.tx.QueryRow(ctx, sqlReindex, args...).Scan(&rid)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, sqlstore.WrapErr(ctx, "reindex", err)
	}
	return true, nil
}
