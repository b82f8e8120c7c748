package sqlite

import (
	"context"
	"fmt"
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

// AppendAudit implements store.AuditLog: one write transaction on the
// writer connection (queued behind resource writes like any other), so the
// records are durable (synchronous=FULL) when it returns.
func (db *DB) AppendAudit(ctx context.Context, recs []store.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	sqltx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return sqlstore.WrapErr(ctx, "append audit", err)
	}
	defer sqltx.Rollback()
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
		q := appendAuditSQL(c)
		base, err := db.wstmts.get(ctx, q)
		if err != nil {
			return sqlstore.WrapErr(ctx, "append audit", err)
		}
		if base == nil {
			return fmt.Errorf("append audit: statement %d not prepared", c)
		}
		if _, err := sqltx.StmtContext(ctx, base).ExecContext(ctx, args...); err != nil {
			return sqlstore.WrapErr(ctx, "append audit", err)
		}
		recs = recs[c:]
	}
	if err := sqltx.Commit(); err != nil {
		return sqlstore.WrapErr(ctx, "append audit: commit", err)
	}
	return nil
}

// ReadAudit implements store.AuditLog on committed records.
func (db *DB) ReadAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, string, error) {
	return sqlstore.ReadAudit(ctx, sqlQuerier{db: db.reader, stmts: db.rstmts}, sqlstore.SQLite, q)
}
