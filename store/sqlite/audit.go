package sqlite

import (
	"context"
	"fmt"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

var _ store.AuditLog = (*DB)(nil)

// AppendAudit implements store.AuditLog: one transaction on the audit
// trail's own file (auditfile.go), durable (synchronous=FULL) when it
// returns.
func (db *DB) AppendAudit(ctx context.Context, recs []store.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if err := db.audit.append(ctx, recs); err != nil {
		return sqlstore.WrapErr(ctx, "append audit", err)
	}
	return nil
}

// ReadAudit implements store.AuditLog on committed records: the audit
// file's, merged with those an earlier version kept in the resources'
// file (audit_log, no longer appended to).
func (db *DB) ReadAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, string, error) {
	if q.ID != "" && q.ResourceType == "" {
		return nil, "", fmt.Errorf("read audit: %w: an id needs a resource type", store.ErrInvalid)
	}
	n := sqlstore.AuditPageSize(q.Count)
	cur, err := sqlstore.ParseAuditCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	out, err := db.audit.read(ctx, q, cur, n)
	if err != nil {
		return nil, "", sqlstore.WrapErr(ctx, "read audit", err)
	}
	more := false
	if db.audit.legacy > 0 {
		lq := q
		lq.Count = n
		old, next, err := sqlstore.ReadAudit(ctx, sqlQuerier{db: db.reader, stmts: db.rstmts}, sqlstore.SQLite, lq)
		if err != nil {
			return nil, "", err
		}
		out = append(out, old...)
		sortAudit(out)
		more = next != ""
	}
	if len(out) > n {
		out, more = out[:n], true
	}
	next := ""
	if more {
		next = sqlstore.AuditCursorAfter(&out[len(out)-1])
	}
	return out, next, nil
}
