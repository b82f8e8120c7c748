package sqlite

import (
	"context"
	"strings"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

var _ store.AuditLog = (*DB)(nil)

// Audit records are inserted up to 64 per statement (768 parameters), with
// OR ROLLBACK: no constraint can then abort a statement half-way, so SQLite
// keeps no statement journal for the multi-row INSERT (it was 15 % of an
// append's CPU); a failure rolls the whole batch back, as it must.
var auditChunks = []int{64, 16, 4, 1}

func appendAuditSQL(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", sqlstore.AuditWidth), ", ") + ")"
	return "INSERT OR ROLLBACK INTO audit_log (" + sqlstore.AuditColumns + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// AppendAudit implements store.AuditLog: a write transaction like any
// other (it joins the group commit), so the records are durable
// (synchronous=FULL) when it returns.
func (db *DB) AppendAudit(ctx context.Context, recs []store.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	st, err := db.Begin(ctx)
	if err != nil {
		return sqlstore.WrapErr(ctx, "append audit", err)
	}
	t := st.(*tx)
	if err := t.appendAudit(recs); err != nil {
		t.Rollback()
		return sqlstore.WrapErr(ctx, "append audit", err)
	}
	if err := t.Commit(); err != nil {
		return sqlstore.WrapErr(ctx, "append audit", err)
	}
	return nil
}

func (t *tx) appendAudit(recs []store.AuditRecord) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	args := make([]any, 0, auditChunks[0]*sqlstore.AuditWidth)
	for len(recs) > 0 {
		c := auditChunks[len(auditChunks)-1]
		for _, k := range auditChunks {
			if len(recs) >= k {
				c = k
				break
			}
		}
		args = args[:0]
		for i := range recs[:c] {
			args = sqlstore.AuditArgs(args, &recs[i])
		}
		if _, err := t.exec(appendAuditSQL(c), args...); err != nil {
			return err
		}
		recs = recs[c:]
	}
	return nil
}

// ReadAudit implements store.AuditLog on committed records.
func (db *DB) ReadAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, string, error) {
	return sqlstore.ReadAudit(ctx, sqlQuerier{db: db.reader, stmts: db.rstmts}, sqlstore.SQLite, q)
}
