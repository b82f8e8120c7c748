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

const (
	// Locks the current row so concurrent writers of one resource queue
	// here and the later ones see the new version (and conflict).
	sqlCurrent = `SELECT rid, version FROM resource WHERE type = $1 AND id = $2 FOR UPDATE`
	// A new resource: ON CONFLICT DO NOTHING waits for a concurrent
	// creator of the same (type, id, version) and then inserts nothing, so
	// the loser sees no row (ErrConflict) and its transaction stays usable.
	sqlCreate = `WITH v AS (
    INSERT INTO resource_version (type, id, version, last_updated, method, deleted, body)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING vid)
INSERT INTO resource (type, id, version, vid, last_updated, deleted)
SELECT $1, $2, $3, v.vid, $4, $6 FROM v RETURNING rid`
	sqlUpdate = `WITH v AS (
    INSERT INTO resource_version (type, id, version, last_updated, method, deleted, body)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING vid)
UPDATE resource SET version = $3, vid = v.vid, last_updated = $4, deleted = $6
FROM v WHERE rid = $8 AND resource.version = $9 RETURNING rid`
	// Index rows go in as one statement per table from parallel arrays.
	sqlInsString    = `INSERT INTO idx_string (rid, param, norm, exact) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])`
	sqlInsToken     = `INSERT INTO idx_token (rid, param, system, code, text) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])`
	sqlInsReference = `INSERT INTO idx_reference (rid, param, target_type, target_id, url) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])`
	sqlInsDate      = `INSERT INTO idx_date (rid, param, low, high) SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::bigint[])`
	sqlInsNumber    = `INSERT INTO idx_number (rid, param, value, low, high) SELECT $1, * FROM unnest($2::text[], $3::float8[], $4::float8[], $5::float8[])`
	sqlInsQuantity  = `INSERT INTO idx_quantity (rid, param, system, code, low, high, canonical_code, canonical_low, canonical_high)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::text[], $8::float8[], $9::float8[])`
	sqlInsURI = `INSERT INTO idx_uri (rid, param, uri) SELECT $1, * FROM unnest($2::text[], $3::text[])`
)

var indexTables = []string{"idx_string", "idx_token", "idx_reference", "idx_date", "idx_number", "idx_quantity", "idx_uri"}

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
	var rid, cur int64
	exists := true
	if err := t.tx.QueryRow(ctx, sqlCurrent, w.Type, w.ID).Scan(&rid, &cur); isNoRows(err) {
		exists = false
	} else if err != nil {
		return err
	}
	conflict := func() error {
		return fmt.Errorf("put %s/%s: %w: version %d, current %d", w.Type, w.ID, store.ErrConflict, w.VersionID, cur)
	}
	if w.VersionID != cur+1 {
		return conflict()
	}
	lu := sqlstore.Micros(w.LastUpdated)
	var deleted int16
	var body []byte
	if w.Delete {
		deleted = 1
	} else {
		body = w.Body
	}
	var err error
	if exists {
		err = t.tx.QueryRow(ctx, sqlUpdate, w.Type, w.ID, w.VersionID, lu, w.Method, deleted, body, rid, cur).Scan(&rid)
	} else {
		err = t.tx.QueryRow(ctx, sqlCreate, w.Type, w.ID, w.VersionID, lu, w.Method, deleted, body).Scan(&rid)
	}
	if isNoRows(err) {
		return conflict()
	} else if err != nil {
		return err
	}
	b := &pgx.Batch{}
	if exists {
		for _, table := range indexTables {
			b.Queue("DELETE FROM "+table+" WHERE rid = $1", rid)
		}
	}
	if !w.Delete {
		queueIndex(b, rid, &w.Index)
	}
	if b.Len() == 0 {
		return nil
	}
	return t.tx.SendBatch(ctx, b).Close()
}

func queueIndex(b *pgx.Batch, rid int64, x *store.Index) {
	if n := len(x.Strings); n > 0 {
		p, a, c := make([]string, n), make([]string, n), make([]string, n)
		for i, e := range x.Strings {
			p[i], a[i], c[i] = e.Param, e.Norm, e.Exact
		}
		b.Queue(sqlInsString, rid, p, a, c)
	}
	if n := len(x.Tokens); n > 0 {
		p, s, c, tx := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		for i, e := range x.Tokens {
			p[i], s[i], c[i], tx[i] = e.Param, e.System, e.Code, e.Text
		}
		b.Queue(sqlInsToken, rid, p, s, c, tx)
	}
	if n := len(x.References); n > 0 {
		p, ty, id, u := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		for i, e := range x.References {
			p[i], ty[i], id[i], u[i] = e.Param, e.TargetType, e.TargetID, e.URL
		}
		b.Queue(sqlInsReference, rid, p, ty, id, u)
	}
	if n := len(x.Dates); n > 0 {
		p, lo, hi := make([]string, n), make([]int64, n), make([]int64, n)
		for i, e := range x.Dates {
			p[i], lo[i], hi[i] = e.Param, e.Low, e.High
		}
		b.Queue(sqlInsDate, rid, p, lo, hi)
	}
	if n := len(x.Numbers); n > 0 {
		p, v, lo, hi := make([]string, n), make([]float64, n), make([]float64, n), make([]float64, n)
		for i, e := range x.Numbers {
			p[i], v[i], lo[i], hi[i] = e.Param, e.Value, e.Low, e.High
		}
		b.Queue(sqlInsNumber, rid, p, v, lo, hi)
	}
	if n := len(x.Quantities); n > 0 {
		p, s, c, cc := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		lo, hi, clo, chi := make([]float64, n), make([]float64, n), make([]*float64, n), make([]*float64, n)
		for i := range x.Quantities {
			e := &x.Quantities[i]
			p[i], s[i], c[i], cc[i], lo[i], hi[i] = e.Param, e.System, e.Code, e.CanonicalCode, e.Low, e.High
			if e.CanonicalCode != "" {
				clo[i], chi[i] = &e.CanonicalLow, &e.CanonicalHigh
			}
		}
		b.Queue(sqlInsQuantity, rid, p, s, c, lo, hi, cc, clo, chi)
	}
	if n := len(x.URIs); n > 0 {
		p, u := make([]string, n), make([]string, n)
		for i, e := range x.URIs {
			p[i], u[i] = e.Param, e.URI
		}
		b.Queue(sqlInsURI, rid, p, u)
	}
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
