package sqlstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xietong/xietong/store"
)

// AuditColumns are the audit_log columns an append writes, in the order
// AuditArgs gives their values.
const AuditColumns = "at, subject, role, organization, demo, action, resource_type, resource_id, operation, source, allowed, reason"

// AuditWidth is the number of AuditColumns.
const AuditWidth = 12

// AuditArgs appends the column values of r to args.
func AuditArgs(args []any, r *store.AuditRecord) []any {
	return append(args, Micros(r.Time), r.Subject, r.Role, r.Organization, b2i(r.Demo),
		r.Action, r.ResourceType, r.ID, r.Operation, r.Source, b2i(r.Allowed), r.Reason)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Audit page sizes.
const (
	DefaultAuditCount = 100
	MaxAuditCount     = 1000
)

// ReadAudit implements store.AuditLog's ReadAudit over q.
func ReadAudit(ctx context.Context, q Querier, d Dialect, aq store.AuditQuery) ([]store.AuditRecord, string, error) {
	if aq.ID != "" && aq.ResourceType == "" {
		return nil, "", fmt.Errorf("read audit: %w: an id needs a resource type", store.ErrInvalid)
	}
	n := AuditPageSize(aq.Count)
	b := newBuilder(d)
	b.w("SELECT seq, " + AuditColumns + " FROM audit_log WHERE 1 = 1")
	if !aq.Since.IsZero() {
		b.w(" AND at >= ").arg(Micros(aq.Since))
	}
	if !aq.Until.IsZero() {
		b.w(" AND at < ").arg(Micros(aq.Until))
	}
	if aq.Subject != "" {
		b.w(" AND subject = ").arg(aq.Subject)
	}
	if aq.ResourceType != "" {
		b.w(" AND resource_type = ").arg(aq.ResourceType)
		if aq.ID != "" {
			b.w(" AND resource_id = ").arg(aq.ID)
		}
	}
	if aq.Allowed != nil {
		// Constants, not parameters: the denials' partial index needs
		// the literal "allowed = 0".
		if *aq.Allowed {
			b.w(" AND allowed = 1")
		} else {
			b.w(" AND allowed = 0")
		}
	}
	if aq.Cursor != "" {
		c, err := ParseAuditCursor(aq.Cursor)
		if err != nil {
			return nil, "", err
		}
		b.w(" AND (at < ").arg(c.At).w(" OR (at = ").arg(c.At).w(" AND seq < ").arg(c.Seq).w("))")
	}
	b.w(" ORDER BY at DESC, seq DESC LIMIT ").arg(n + 1)
	rows, err := q.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, "", WrapErr(ctx, "read audit", err)
	}
	defer rows.Close()
	var out []store.AuditRecord
	for rows.Next() {
		var r store.AuditRecord
		var at int64
		var demo, allowed int
		if err := rows.Scan(&r.Seq, &at, &r.Subject, &r.Role, &r.Organization, &demo, &r.Action,
			&r.ResourceType, &r.ID, &r.Operation, &r.Source, &allowed, &r.Reason); err != nil {
			return nil, "", WrapErr(ctx, "read audit", err)
		}
		r.Time, r.Demo, r.Allowed = time.UnixMicro(at).UTC(), demo != 0, allowed != 0
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", WrapErr(ctx, "read audit", err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		next = AuditCursorAfter(&out[n-1])
	}
	return out, next, nil
}

// AuditPageSize is the page size of an audit query's Count.
func AuditPageSize(count int) int {
	if count <= 0 {
		return DefaultAuditCount
	}
	return min(count, MaxAuditCount)
}

// AuditCursor is where a page of the audit trail ends: the next page holds
// the records before (At, Seq), newest first.
type AuditCursor struct{ At, Seq int64 }

// AuditCursorAfter is the cursor of the page that follows r.
func AuditCursorAfter(r *store.AuditRecord) string {
	return base64.RawURLEncoding.EncodeToString([]byte("a" + strconv.FormatInt(Micros(r.Time), 10) + "." + strconv.FormatInt(r.Seq, 10)))
}

// ParseAuditCursor reads a cursor of AuditCursorAfter (nil for ""), or
// fails with ErrInvalid.
func ParseAuditCursor(s string) (*AuditCursor, error) {
	if s == "" {
		return nil, nil
	}
	at, seq, err := decodeAuditCursor(s)
	if err != nil {
		return nil, err
	}
	return &AuditCursor{At: at, Seq: seq}, nil
}

func decodeAuditCursor(s string) (at, seq int64, err error) {
	bad := fmt.Errorf("read audit: %w: not an audit cursor", store.ErrInvalid)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, 0, bad
	}
	rest, ok := strings.CutPrefix(string(raw), "a")
	if !ok {
		return 0, 0, bad
	}
	a, q, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, 0, bad
	}
	if at, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, bad
	}
	if seq, err = strconv.ParseInt(q, 10, 64); err != nil {
		return 0, 0, bad
	}
	return at, seq, nil
}
