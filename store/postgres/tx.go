package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

// Put is one statement, so one round trip: data-modifying CTEs store the
// version, move the current-row pointer and replace the index rows. PG runs
// every CTE exactly once. (The index tables have no foreign keys: only
// this statement writes them, for the rid it has just written.)
//
// The version check is race-free without a separate SELECT ... FOR UPDATE:
//   - a create (version 1) inserts with ON CONFLICT DO NOTHING on the
//     unique (type, id, version), which waits for a concurrent creator and
//     then inserts nothing; everything else hangs off its RETURNING row, so
//     the loser changes nothing and sees no row (ErrConflict), and its
//     transaction stays usable;
//   - an update changes the current row only WHERE version = new - 1; a
//     concurrent updater holds the row lock until it commits, after which
//     PG re-checks the condition, finds it false and updates nothing.
const (
	// replaceIndexCTEs deletes the index rows of the rid in CTE r and
	// inserts the new ones (an update, a reindex).
	replaceIndexCTEs = `x1 AS (DELETE FROM idx_string WHERE rid IN (SELECT rid FROM r)),
x2 AS (DELETE FROM idx_token WHERE rid IN (SELECT rid FROM r)),
x3 AS (DELETE FROM idx_reference WHERE rid IN (SELECT rid FROM r)),
x4 AS (DELETE FROM idx_date WHERE rid IN (SELECT rid FROM r)),
x5 AS (DELETE FROM idx_number WHERE rid IN (SELECT rid FROM r)),
x6 AS (DELETE FROM idx_quantity WHERE rid IN (SELECT rid FROM r)),
x7 AS (DELETE FROM idx_uri WHERE rid IN (SELECT rid FROM r)),
x8 AS (DELETE FROM idx_composite WHERE rid IN (SELECT rid FROM r))` + indexCTEs

	indexCTEs = `,
s AS (INSERT INTO idx_string (rid, param, norm, exact) SELECT r.rid, u.* FROM r, unnest($8::text[], $9::text[], $10::text[]) u),
t AS (INSERT INTO idx_token (rid, param, system, code, text, pat) SELECT r.rid, u.*, $49::text FROM r, unnest($11::text[], $12::text[], $13::text[], $14::text[]) u),
f AS (INSERT INTO idx_reference (rid, param, target_type, target_id, url, source_type) SELECT r.rid, u.*, $1::text FROM r, unnest($15::text[], $16::text[], $17::text[], $18::text[]) u),
d AS (INSERT INTO idx_date (rid, param, low, high) SELECT r.rid, u.* FROM r, unnest($19::text[], $20::bigint[], $21::bigint[]) u),
n AS (INSERT INTO idx_number (rid, param, value, low, high) SELECT r.rid, u.* FROM r, unnest($22::text[], $23::float8[], $24::float8[], $25::float8[]) u),
q AS (INSERT INTO idx_quantity (rid, param, system, code, low, high, canonical_code, canonical_low, canonical_high)
      SELECT r.rid, u.* FROM r, unnest($26::text[], $27::text[], $28::text[], $29::float8[], $30::float8[], $31::text[], $32::float8[], $33::float8[]) u),
i AS (INSERT INTO idx_uri (rid, param, uri) SELECT r.rid, u.* FROM r, unnest($34::text[], $35::text[]) u),
c AS (INSERT INTO idx_composite (rid, param, system1, code1, low1, high1, system2, code2, low2, high2, system3, code3, low3, high3)
      SELECT r.rid, u.* FROM r, unnest($36::text[], $37::text[], $38::text[], $39::float8[], $40::float8[], $41::text[], $42::text[], $43::float8[], $44::float8[],
      $45::text[], $46::text[], $47::float8[], $48::float8[]) u)
SELECT rid FROM r`

	sqlCreate = `WITH v AS (
    INSERT INTO resource_version (type, id, version, last_updated, method, deleted, body)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING vid),
r AS (
    INSERT INTO resource (type, id, version, vid, last_updated, deleted)
    SELECT $1, $2, $3, v.vid, $4, $6 FROM v RETURNING rid)` + indexCTEs

	// nextval in its own CTE (volatile, so evaluated once, never inlined)
	// gives the new version's vid before the row exists, so the current
	// row can point at it in the same statement.
	sqlUpdate = `WITH nv AS (SELECT nextval(pg_get_serial_sequence('resource_version', 'vid')) AS vid),
r AS (
    UPDATE resource SET version = $3, vid = nv.vid, last_updated = $4, deleted = $6 FROM nv
    WHERE type = $1 AND id = $2 AND version = $3 - 1 RETURNING rid, nv.vid),
v AS (
    INSERT INTO resource_version (vid, type, id, version, last_updated, method, deleted, body) OVERRIDING SYSTEM VALUE
    SELECT r.vid, $1, $2, $3, $4, $5, $6, $7 FROM r),
` + replaceIndexCTEs
)

// Begin implements store.Store.
func (db *DB) Begin(ctx context.Context) (store.Tx, error) {
	ptx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, sqlstore.WrapErr(ctx, "begin", err)
	}
	t := &tx{r: sqlstore.Reader{Q: querier{ptx}, D: sqlstore.Postgres}, tx: ptx, db: db}
	db.mu.Lock()
	db.txs[t] = struct{}{}
	db.mu.Unlock()
	return t, nil
}

// tx serialises its calls with mu: a pgx connection runs one statement at
// a time, and Close may roll a transaction back from another goroutine.
type tx struct {
	mu sync.Mutex
	r  sqlstore.Reader
	tx pgx.Tx
	db *DB
}

// Read implements store.Reader inside the transaction.
func (t *tx) Read(ctx context.Context, typ, id string) (*store.Version, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.r.Read(ctx, typ, id)
}

// VRead implements store.Reader inside the transaction.
func (t *tx) VRead(ctx context.Context, typ, id string, versionID int64) (*store.Version, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.r.VRead(ctx, typ, id, versionID)
}

// History implements store.Reader inside the transaction.
func (t *tx) History(ctx context.Context, q store.HistoryQuery) (*store.HistoryPage, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.r.History(ctx, q)
}

// Search implements store.Reader inside the transaction.
func (t *tx) Search(ctx context.Context, q *store.Query) (*store.SearchResult, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.r.Search(ctx, q)
}

func (t *tx) forget() {
	t.db.mu.Lock()
	delete(t.db.txs, t)
	t.db.mu.Unlock()
}

var _ store.Tx = (*tx)(nil)

// Put implements store.Tx.
func (t *tx) Put(ctx context.Context, w *store.Write) error {
	if w.Type == "" || w.ID == "" || w.VersionID < 1 || w.Method == "" {
		return fmt.Errorf("put: %w: type, id, version >= 1 and method are required", store.ErrInvalid)
	}
	if !w.Delete && w.Body == nil {
		return fmt.Errorf("put %s/%s: %w: no body", w.Type, w.ID, store.ErrInvalid)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return sqlstore.WrapErr(ctx, "put", t.put(ctx, w))
}

func (t *tx) put(ctx context.Context, w *store.Write) error {
	var deleted int16
	var body []byte
	if w.Delete {
		deleted = 1
	} else {
		body = w.Body
	}
	args := []any{w.Type, w.ID, w.VersionID, sqlstore.Micros(w.LastUpdated), w.Method, deleted, body}
	var empty store.Index
	if w.Delete {
		args = indexArgs(args, w.Type, &empty)
	} else {
		args = indexArgs(args, w.Type, &w.Index)
	}
	q := sqlUpdate
	if w.VersionID == 1 {
		q = sqlCreate
	}
	var rid int64
	if err := t.tx.QueryRow(ctx, q, args...).Scan(&rid); isNoRows(err) {
		return fmt.Errorf("put %s/%s version %d: %w", w.Type, w.ID, w.VersionID, store.ErrConflict)
	} else if err != nil {
		return err
	}
	return nil
}

// indexArgs appends the index entries as parallel arrays, $8 to $48,
// and the token entries' patient key, $49 (typ is the resource type).
func indexArgs(args []any, typ string, x *store.Index) []any {
	n := len(x.Strings)
	sp, sn, se := make([]string, n), make([]string, n), make([]string, n)
	for i, e := range x.Strings {
		sp[i], sn[i], se[i] = e.Param, e.Norm, e.Exact
	}
	n = len(x.Tokens)
	tp, ts, tc, tt := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range x.Tokens {
		tp[i], ts[i], tc[i], tt[i] = e.Param, e.System, e.Code, e.Text
	}
	n = len(x.References)
	rp, rt, ri, ru := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range x.References {
		rp[i], rt[i], ri[i], ru[i] = e.Param, e.TargetType, e.TargetID, e.URL
	}
	n = len(x.Dates)
	dp, dl, dh := make([]string, n), make([]int64, n), make([]int64, n)
	for i, e := range x.Dates {
		dp[i], dl[i], dh[i] = e.Param, e.Low, e.High
	}
	n = len(x.Numbers)
	np, nv, nl, nh := make([]string, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, e := range x.Numbers {
		np[i], nv[i], nl[i], nh[i] = e.Param, e.Value, e.Low, e.High
	}
	n = len(x.Quantities)
	qp, qs, qc, qcc := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ql, qh, qcl, qch := make([]float64, n), make([]float64, n), make([]*float64, n), make([]*float64, n)
	for i := range x.Quantities {
		e := &x.Quantities[i]
		qp[i], qs[i], qc[i], qcc[i], ql[i], qh[i] = e.Param, e.System, e.Code, e.CanonicalCode, e.Low, e.High
		if e.CanonicalCode != "" {
			qcl[i], qch[i] = &e.CanonicalLow, &e.CanonicalHigh
		}
	}
	n = len(x.URIs)
	up, uu := make([]string, n), make([]string, n)
	for i, e := range x.URIs {
		up[i], uu[i] = e.Param, e.URI
	}
	n = len(x.Composites)
	cp := make([]string, n)
	var cs, cc [store.MaxComponents][]string
	var cl, ch [store.MaxComponents][]float64
	for k := 0; k < store.MaxComponents; k++ {
		cs[k], cc[k], cl[k], ch[k] = make([]string, n), make([]string, n), make([]float64, n), make([]float64, n)
	}
	for i := range x.Composites {
		e := &x.Composites[i]
		cp[i] = e.Param
		for k, part := range e.Parts {
			cs[k][i], cc[k][i], cl[k][i], ch[k][i] = part.System, part.Code, part.Low, part.High
		}
	}
	return append(args, sp, sn, se, tp, ts, tc, tt, rp, rt, ri, ru, dp, dl, dh, np, nv, nl, nh,
		qp, qs, qc, ql, qh, qcc, qcl, qch, up, uu,
		cp, cs[0], cc[0], cl[0], ch[0], cs[1], cc[1], cl[1], ch[1], cs[2], cc[2], cl[2], ch[2],
		x.PatientKey(typ)) // $49: idx_token.pat (migration 0004)
}

// Commit implements store.Tx. Only when it returns nil is the write durable.
func (t *tx) Commit() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.forget()
	if err := t.tx.Commit(context.Background()); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Rollback implements store.Tx; after Commit it is a no-op.
func (t *tx) Rollback() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.forget()
	if err := t.tx.Rollback(context.Background()); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}
