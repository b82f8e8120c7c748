package postgres

import (
	"context"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

var _ store.AuditLog = (*DB)(nil)

// sqlAppendAudit inserts a whole batch in one statement from column arrays.
const sqlAppendAudit = `INSERT INTO audit_log (` + sqlstore.AuditColumns + `)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::smallint[], $12::text[])`

// AppendAudit implements store.AuditLog: one statement, committed on its
// own (an implicit transaction), durable when it returns.
func (db *DB) AppendAudit(ctx context.Context, recs []store.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	n := len(recs)
	at := make([]int64, n)
	demo, allowed := make([]int16, n), make([]int16, n)
	var subject, role, org, action, rtype, rid, op, source, reason = make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i := range recs {
		r := &recs[i]
		at[i] = sqlstore.Micros(r.Time)
		subject[i], role[i], org[i] = r.Subject, r.Role, r.Organization
		if r.Demo {
			demo[i] = 1
		}
		action[i], rtype[i], rid[i], op[i], source[i] = r.Action, r.ResourceType, r.ID, r.Operation, r.Source
		if r.Allowed {
			allowed[i] = 1
		}
		reason[i] = r.Reason
	}
	if _, err := db.pool.Exec(ctx, sqlAppendAudit, at, subject, role, org, demo, action, rtype, rid, op, source, allowed, reason); err != nil {
		return sqlstore.WrapErr(ctx, "append audit", err)
	}
	return nil
}

// ReadAudit implements store.AuditLog on committed records.
func (db *DB) ReadAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, string, error) {
	return sqlstore.ReadAudit(ctx, querier{db.pool}, sqlstore.Postgres, q)
}
