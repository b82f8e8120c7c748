package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

// Write statements, prepared once on the writer connection at Open.
const (
	sqlCurrent       = `SELECT rid, version FROM resource WHERE type = ? AND id = ?`
	sqlMaxIDs        = `SELECT (SELECT coalesce(max(vid), 0) FROM resource_version), (SELECT coalesce(max(rid), 0) FROM resource)`
	sqlUpdateCurrent = `UPDATE resource SET version = ?, vid = ?, last_updated = ?, deleted = ? WHERE rid = ? AND version = ?`
)

// bufferedTables are the tables whose rows a transaction buffers, in the
// order they are flushed.
var bufferedTables = []string{"resource_version", "resource", "idx_string", "idx_token", "idx_reference", "idx_date", "idx_number", "idx_quantity", "idx_uri", "idx_composite"}

var indexTables = []string{"idx_string", "idx_token", "idx_reference", "idx_date", "idx_number", "idx_quantity", "idx_uri", "idx_composite"}

// A transaction's new rows (versions, current rows, index entries) are
// buffered and inserted at Commit, or before the transaction reads (it
// must see its own writes), or before an update (which deletes index
// rows), by multi-row INSERTs of these sizes only: one statement of 128
// rows costs far less than 128 single-row ones (each pays its own
// bind/step/reset round through database/sql and the driver). See
// docs/decisions/003-sqlite-write-path.md.
//
// Index rows go in with OR IGNORE and versions and current rows with OR
// ROLLBACK: either way no constraint can abort a statement half-way, so
// SQLite keeps no statement journal for these multi-row statements (with
// the default ABORT it must, to undo a half-done statement). Index tables
// have no constraint that can fail (NOT NULL only, values bound from Go);
// a duplicate version is a bug that ends the transaction.
var chunks = []int{128, 32, 8, 1}

var indexColumns = map[string]string{
	"resource_version": "vid, type, id, version, last_updated, method, deleted, body",
	"resource":         "rid, type, id, version, vid, last_updated, deleted",
	"idx_string":       "rid, param, norm, exact",
	"idx_token":        "rid, param, system, code, text",
	"idx_reference":    "rid, param, target_type, target_id, url",
	"idx_date":         "rid, param, low, high",
	"idx_number":       "rid, param, value, low, high",
	"idx_quantity":     "rid, param, system, code, low, high, canonical_code, canonical_low, canonical_high",
	"idx_uri":          "rid, param, uri",
	"idx_composite":    "rid, param, system1, code1, low1, high1, system2, code2, low2, high2, system3, code3, low3, high3",
}

// insertSQL is the INSERT of n rows into an index table.
func insertSQL(table string, n int) string {
	cols := indexColumns[table]
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", strings.Count(cols, ",")+1), ", ") + ")"
	verb := "INSERT OR IGNORE INTO "
	if !strings.HasPrefix(table, "idx_") {
		// Versions and current rows must fail on a duplicate (a bug: Put
		// checked the version), never be skipped; OR ROLLBACK ends the
		// transaction instead of the statement, so it too needs no
		// statement journal.
		verb = "INSERT OR ROLLBACK INTO "
	}
	return verb + table + " (" + cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

func deleteIndexSQL(table string) string { return "DELETE FROM " + table + " WHERE rid = ?" }

func (db *DB) prepareWriter(ctx context.Context) error {
	qs := []string{sqlCurrent, sqlMaxIDs, sqlUpdateCurrent, db.read.ReadSQL(), db.read.VReadSQL()}
	for _, t := range indexTables {
		qs = append(qs, deleteIndexSQL(t))
	}
	for _, t := range bufferedTables {
		for _, n := range chunks {
			qs = append(qs, insertSQL(t, n))
		}
	}
	for _, n := range auditChunks {
		qs = append(qs, appendAuditSQL(n))
	}
	for _, q := range qs {
		if _, err := db.wstmts.get(ctx, q); err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", q, err)
		}
	}
	db.wstmts.mu.Lock()
	db.wstmts.frozen = true
	db.wstmts.mu.Unlock()
	return nil
}

// Begin implements store.Store. Write transactions queue for the single
// writer connection (BEGIN IMMEDIATE), so they never fail with SQLITE_BUSY
// against each other; ctx bounds the wait.
func (db *DB) Begin(ctx context.Context) (store.Tx, error) {
	sqltx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, sqlstore.WrapErr(ctx, "begin", err)
	}
	t := &tx{db: db, tx: sqltx, stmts: map[string]*sql.Stmt{},
		pending: map[string][]any{}, rows: map[string]int{}, created: map[string]current{}}
	t.Reader = sqlstore.Reader{Q: flushingQuerier{t: t, q: sqlQuerier{tx: sqltx, stmts: db.wstmts}}, D: sqlstore.SQLite}
	db.mu.Lock()
	db.txs[t] = struct{}{}
	db.mu.Unlock()
	return t, nil
}

type tx struct {
	sqlstore.Reader
	db    *DB
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // the writer's prepared statements bound to this tx

	// Rows not yet inserted, per table, as flat argument lists, and the
	// resources they belong to (type + "/" + id: rid and version).
	pending map[string][]any
	rows    map[string]int
	created map[string]current
	// The last vid and rid used: this transaction assigns them itself (it
	// holds the only write lock from BEGIN IMMEDIATE), so a new version
	// and its current row need not be inserted before the next Put.
	lastVid, lastRid int64
	haveIDs          bool
	err              error // a failed flush: nothing more can be written

	// mu serialises the transaction's methods: the buffers are not safe
	// for concurrent use (database/sql's Tx is, and callers may rely on it).
	mu sync.Mutex
}

type current struct{ rid, version int64 }

// flushingQuerier inserts the pending index rows before every read of
// the transaction, so it sees its own writes.
type flushingQuerier struct {
	t *tx
	q sqlQuerier
}

func (f flushingQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	f.t.mu.Lock()
	err := f.t.flush(ctx)
	f.t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.q.Query(ctx, query, args...)
}

var _ store.Tx = (*tx)(nil)

func (t *tx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := t.stmts[q]; ok {
		return st, nil
	}
	base, err := t.db.wstmts.get(ctx, q)
	if err != nil {
		return nil, err
	}
	var st *sql.Stmt
	if base != nil {
		st = t.tx.StmtContext(ctx, base)
	} else if st, err = t.tx.PrepareContext(ctx, q); err != nil {
		return nil, err
	}
	t.stmts[q] = st
	return st, nil
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// Put implements store.Tx.
func (t *tx) Put(ctx context.Context, w *store.Write) error {
	if err := checkWrite(w); err != nil {
		return err
	}
	t.mu.Lock()
	err := t.put(ctx, w)
	t.mu.Unlock()
	if isUniqueViolation(err) {
		return fmt.Errorf("put %s/%s version %d: %w", w.Type, w.ID, w.VersionID, store.ErrConflict)
	}
	return sqlstore.WrapErr(ctx, "put", err)
}

func checkWrite(w *store.Write) error {
	if w.Type == "" || w.ID == "" || w.VersionID < 1 || w.Method == "" {
		return fmt.Errorf("put: %w: type, id, version >= 1 and method are required", store.ErrInvalid)
	}
	if !w.Delete && w.Body == nil {
		return fmt.Errorf("put %s/%s: %w: no body", w.Type, w.ID, store.ErrInvalid)
	}
	return nil
}

func (t *tx) put(ctx context.Context, w *store.Write) error {
	if t.err != nil {
		return t.err
	}
	if !t.haveIDs {
		st, err := t.stmt(ctx, sqlMaxIDs)
		if err != nil {
			return err
		}
		if err := st.QueryRowContext(ctx).Scan(&t.lastVid, &t.lastRid); err != nil {
			return err
		}
		t.haveIDs = true
	}
	key := w.Type + "/" + w.ID
	cur, pending := t.created[key]
	exists := pending
	if !pending {
		st, err := t.stmt(ctx, sqlCurrent)
		if err != nil {
			return err
		}
		if err := st.QueryRowContext(ctx, w.Type, w.ID).Scan(&cur.rid, &cur.version); errors.Is(err, sql.ErrNoRows) {
			exists = false
		} else if err != nil {
			return err
		} else {
			exists = true
		}
	}
	if w.VersionID != cur.version+1 {
		return fmt.Errorf("put %s/%s: %w: version %d, current %d", w.Type, w.ID, store.ErrConflict, w.VersionID, cur.version)
	}
	lu := sqlstore.Micros(w.LastUpdated)
	deleted := 0
	var body []byte
	if w.Delete {
		deleted = 1
	} else {
		body = w.Body
	}
	vid := t.lastVid + 1
	if exists {
		// An update: the pending rows (this resource's among them) go in
		// first, so the current row and the old entries are in place.
		if err := t.flush(ctx); err != nil {
			return err
		}
		res, err := t.exec(ctx, sqlUpdateCurrent, w.VersionID, vid, lu, deleted, cur.rid, cur.version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("put %s/%s: %w", w.Type, w.ID, store.ErrConflict)
		}
		for _, table := range indexTables {
			if _, err := t.exec(ctx, deleteIndexSQL(table), cur.rid); err != nil {
				return err
			}
		}
	} else {
		t.lastRid++
		cur.rid = t.lastRid
		t.buffer("resource", 1, cur.rid, w.Type, w.ID, w.VersionID, vid, lu, deleted)
	}
	// The version row last: a Put that failed above has buffered nothing.
	t.lastVid = vid
	t.buffer("resource_version", 1, vid, w.Type, w.ID, w.VersionID, lu, w.Method, deleted, body)
	cur.version = w.VersionID
	t.created[key] = cur
	if !w.Delete {
		t.bufferIndex(cur.rid, &w.Index)
	}
	return nil
}

// buffer appends n rows (their arguments flat in args) to table's pending rows.
func (t *tx) buffer(table string, n int, args ...any) {
	t.pending[table] = append(t.pending[table], args...)
	t.rows[table] += n
}

// bufferIndex adds x's rows for rid to the pending inserts.
func (t *tx) bufferIndex(rid int64, x *store.Index) {
	add := func(table string, n int, row func(p []any, i int) []any) {
		if n == 0 {
			return
		}
		p := t.pending[table]
		for i := 0; i < n; i++ {
			p = row(append(p, rid), i)
		}
		t.pending[table] = p
		t.rows[table] += n
	}
	add("idx_string", len(x.Strings), func(p []any, i int) []any {
		e := &x.Strings[i]
		return append(p, e.Param, e.Norm, e.Exact)
	})
	add("idx_token", len(x.Tokens), func(p []any, i int) []any {
		e := &x.Tokens[i]
		return append(p, e.Param, e.System, e.Code, e.Text)
	})
	add("idx_reference", len(x.References), func(p []any, i int) []any {
		e := &x.References[i]
		return append(p, e.Param, e.TargetType, e.TargetID, e.URL)
	})
	add("idx_date", len(x.Dates), func(p []any, i int) []any {
		e := &x.Dates[i]
		return append(p, e.Param, e.Low, e.High)
	})
	add("idx_number", len(x.Numbers), func(p []any, i int) []any {
		e := &x.Numbers[i]
		return append(p, e.Param, e.Value, e.Low, e.High)
	})
	add("idx_quantity", len(x.Quantities), func(p []any, i int) []any {
		e := &x.Quantities[i]
		var cl, ch any
		if e.CanonicalCode != "" {
			cl, ch = e.CanonicalLow, e.CanonicalHigh
		}
		return append(p, e.Param, e.System, e.Code, e.Low, e.High, e.CanonicalCode, cl, ch)
	})
	add("idx_uri", len(x.URIs), func(p []any, i int) []any {
		e := &x.URIs[i]
		return append(p, e.Param, e.URI)
	})
	add("idx_composite", len(x.Composites), func(p []any, i int) []any {
		e := &x.Composites[i]
		p = append(p, e.Param)
		for _, c := range e.Parts {
			p = append(p, c.System, c.Code, c.Low, c.High)
		}
		return p
	})
}

// flush inserts the pending index rows.
func (t *tx) flush(ctx context.Context) error {
	if t.err != nil {
		return t.err
	}
	for _, table := range bufferedTables {
		p, n := t.pending[table], t.rows[table]
		if n == 0 {
			continue
		}
		width := len(p) / n
		for _, c := range chunks {
			for n >= c {
				if _, err := t.exec(ctx, insertSQL(table, c), p[:c*width]...); err != nil {
					// Some rows are in, some not: the transaction can
					// only be rolled back now.
					t.err = fmt.Errorf("%w (the transaction must be rolled back)", err)
					return t.err
				}
				p, n = p[c*width:], n-c
			}
		}
		clear(t.pending[table])
		t.pending[table] = t.pending[table][:0]
		t.rows[table] = 0
	}
	return nil
}

// Commit implements store.Tx. Only when it returns nil is the write durable.
func (t *tx) Commit() error {
	defer t.forget()
	t.mu.Lock()
	err := t.flush(context.Background())
	t.mu.Unlock()
	if err != nil {
		t.tx.Rollback()
		return fmt.Errorf("commit: %w", err)
	}
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Rollback implements store.Tx; after Commit it is a no-op.
func (t *tx) Rollback() error {
	defer t.forget()
	if err := t.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}

func (t *tx) forget() {
	t.db.mu.Lock()
	delete(t.db.txs, t)
	t.db.mu.Unlock()
}
