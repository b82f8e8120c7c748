package sqlstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/xietong/xietong/store"
)

// Micros converts a time to the stored form: Unix microseconds, UTC.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros converts the stored form back.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

const versionCols = "v.type, v.id, v.version, v.last_updated, v.method, v.deleted, v.body"

func scanVersion(rows Rows, extra ...any) (*store.Version, error) {
	var (
		v       store.Version
		lu      int64
		deleted int64
		body    []byte
	)
	dest := append([]any{&v.Type, &v.ID, &v.VersionID, &lu, &v.Method, &deleted, &body}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	v.LastUpdated = FromMicros(lu)
	v.Deleted = deleted != 0
	if !v.Deleted {
		v.Body = body
	}
	return &v, nil
}

func (r Reader) one(ctx context.Context, op, sql string, args ...any) (*store.Version, error) {
	rows, err := r.Q.Query(ctx, sql, args...)
	if err != nil {
		return nil, WrapErr(ctx, op, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, WrapErr(ctx, op, err)
		}
		return nil, fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	v, err := scanVersion(rows)
	if err != nil {
		return nil, WrapErr(ctx, op, err)
	}
	if err := rows.Close(); err != nil {
		return nil, WrapErr(ctx, op, err)
	}
	if v.Deleted {
		return v, fmt.Errorf("%s %s/%s: %w", op, v.Type, v.ID, store.ErrGone)
	}
	return v, nil
}

// ReadSQL and VReadSQL are the hot point reads; stores may prepare them.
//
// ReadSQL compares the type as CAST(? AS TEXT) for the reason
// store/sqlite/pointread.go gives (decision 023): with a bare parameter,
// SQLite's plan depends on the bound value through the partial index
// resource_patient_live, and the statement is parsed and planned again
// whenever another type is bound: on every read inside a write transaction
// (the hooks' reads of Encounters, Patients and masters).
func (r Reader) ReadSQL() string {
	return "SELECT " + versionCols + " FROM resource r JOIN resource_version v ON v.vid = r.vid WHERE r.type = CAST(" +
		r.ph(1) + " AS TEXT) AND r.id = " + r.ph(2)
}

func (r Reader) VReadSQL() string {
	return "SELECT " + versionCols + " FROM resource_version v WHERE v.type = " + r.ph(1) +
		" AND v.id = " + r.ph(2) + " AND v.version = " + r.ph(3)
}

func (r Reader) ph(n int) string {
	if r.D == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// Read implements store.Reader.
func (r Reader) Read(ctx context.Context, typ, id string) (*store.Version, error) {
	return r.one(ctx, "read", r.ReadSQL(), typ, id)
}

// VRead implements store.Reader.
func (r Reader) VRead(ctx context.Context, typ, id string, versionID int64) (*store.Version, error) {
	return r.one(ctx, "vread", r.VReadSQL(), typ, id, versionID)
}

// History implements store.Reader: keyset paging on the version row id,
// which only grows, so a page boundary never moves when new versions land.
func (r Reader) History(ctx context.Context, q store.HistoryQuery) (*store.HistoryPage, error) {
	if q.ID != "" && q.Type == "" {
		return nil, fmt.Errorf("history: %w: an id needs a type", store.ErrInvalid)
	}
	count := q.Count
	if count <= 0 {
		count = DefaultCount
	}
	var after int64
	if q.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err == nil {
			after, err = strconv.ParseInt(string(b), 10, 64)
		}
		if err != nil || after <= 0 {
			return nil, fmt.Errorf("history: %w: bad cursor", store.ErrInvalid)
		}
	}
	where := func(b *builder) {
		b.w("TRUE")
		if q.Type != "" {
			b.w(" AND v.type = ").arg(q.Type)
		}
		if q.ID != "" {
			b.w(" AND v.id = ").arg(q.ID)
		}
		if !q.Since.IsZero() {
			b.w(" AND v.last_updated >= ").arg(Micros(q.Since))
		}
		if !q.At.IsZero() {
			at := Micros(q.At)
			b.w(" AND v.last_updated <= ").arg(at)
			b.w(" AND NOT EXISTS (SELECT 1 FROM resource_version n WHERE n.type = v.type AND n.id = v.id AND n.version = v.version + 1 AND n.last_updated <= ").arg(at).w(")")
		}
	}
	page := &store.HistoryPage{}

	cb := newBuilder(r.D)
	cb.w("SELECT count(*) FROM resource_version v WHERE ")
	where(cb)
	if err := r.scalar(ctx, cb, &page.Total); err != nil {
		return nil, WrapErr(ctx, "history count", err)
	}
	if page.Total == 0 && q.ID != "" {
		var n int
		eb := newBuilder(r.D)
		eb.w("SELECT count(*) FROM resource WHERE type = ").arg(q.Type).w(" AND id = ").arg(q.ID)
		if err := r.scalar(ctx, eb, &n); err != nil {
			return nil, WrapErr(ctx, "history", err)
		}
		if n == 0 {
			return nil, fmt.Errorf("history %s/%s: %w", q.Type, q.ID, store.ErrNotFound)
		}
	}

	b := newBuilder(r.D)
	b.w("SELECT " + versionCols + ", v.vid FROM resource_version v WHERE ")
	where(b)
	if after > 0 {
		b.w(" AND v.vid < ").arg(after)
	}
	b.w(" ORDER BY v.vid DESC LIMIT ").arg(count + 1)
	rows, err := r.Q.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, WrapErr(ctx, "history", err)
	}
	defer rows.Close()
	var last int64
	for rows.Next() {
		if len(page.Versions) == count {
			page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last, 10)))
			break
		}
		var vid int64
		v, err := scanVersion(rows, &vid)
		if err != nil {
			return nil, WrapErr(ctx, "history", err)
		}
		page.Versions = append(page.Versions, v)
		last = vid
	}
	if err := rows.Err(); err != nil {
		return nil, WrapErr(ctx, "history", err)
	}
	return page, nil
}

func (r Reader) scalar(ctx context.Context, b *builder, dest any) error {
	rows, err := r.Q.Query(ctx, b.String(), b.args...)
	return scanScalar(rows, err, dest)
}

func scanScalar(rows Rows, err error, dest any) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return fmt.Errorf("no row")
	}
	if err := rows.Scan(dest); err != nil {
		return err
	}
	return rows.Close()
}
