package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

// Write statements, prepared once on the writer connection at Open.
const (
	sqlCurrent       = `SELECT rid, version FROM resource WHERE type = ? AND id = ?`
	sqlInsertVersion = `INSERT INTO resource_version (type, id, version, last_updated, method, deleted, body) VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlInsertCurrent = `INSERT INTO resource (type, id, version, vid, last_updated, deleted) VALUES (?, ?, ?, ?, ?, ?)`
	sqlUpdateCurrent = `UPDATE resource SET version = ?, vid = ?, last_updated = ?, deleted = ? WHERE rid = ? AND version = ?`
)

var indexTables = []string{"idx_string", "idx_token", "idx_reference", "idx_date", "idx_number", "idx_quantity", "idx_uri"}

// Index rows are inserted up to maxRows per statement: one multi-row
// INSERT costs far less than that many single-row ones (each statement
// pays its own bind/step/reset round through database/sql and the driver).
const maxRows = 8

var indexColumns = map[string]string{
	"idx_string":    "rid, param, norm, exact",
	"idx_token":     "rid, param, system, code, text",
	"idx_reference": "rid, param, target_type, target_id, url",
	"idx_date":      "rid, param, low, high",
	"idx_number":    "rid, param, value, low, high",
	"idx_quantity":  "rid, param, system, code, low, high, canonical_code, canonical_low, canonical_high",
	"idx_uri":       "rid, param, uri",
}

// insertSQL is the INSERT of n rows into an index table.
func insertSQL(table string, n int) string {
	cols := indexColumns[table]
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", strings.Count(cols, ",")+1), ", ") + ")"
	return "INSERT INTO " + table + " (" + cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

func deleteIndexSQL(table string) string { return "DELETE FROM " + table + " WHERE rid = ?" }

func (db *DB) prepareWriter(ctx context.Context) error {
	qs := []string{sqlCurrent, sqlInsertVersion, sqlInsertCurrent, sqlUpdateCurrent, db.read.ReadSQL(), db.read.VReadSQL()}
	for _, t := range indexTables {
		qs = append(qs, deleteIndexSQL(t))
		for n := 1; n <= maxRows; n++ {
			qs = append(qs, insertSQL(t, n))
		}
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
	t := &tx{db: db, tx: sqltx, stmts: map[string]*sql.Stmt{}}
	t.Reader = sqlstore.Reader{Q: sqlQuerier{tx: sqltx, stmts: db.wstmts}, D: sqlstore.SQLite}
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
	err := t.put(ctx, w)
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
	st, err := t.stmt(ctx, sqlCurrent)
	if err != nil {
		return err
	}
	var rid, cur int64
	exists := true
	if err := st.QueryRowContext(ctx, w.Type, w.ID).Scan(&rid, &cur); errors.Is(err, sql.ErrNoRows) {
		exists = false
	} else if err != nil {
		return err
	}
	if w.VersionID != cur+1 {
		return fmt.Errorf("put %s/%s: %w: version %d, current %d", w.Type, w.ID, store.ErrConflict, w.VersionID, cur)
	}
	lu := sqlstore.Micros(w.LastUpdated)
	deleted := 0
	var body []byte
	if w.Delete {
		deleted = 1
	} else {
		body = w.Body
	}
	res, err := t.exec(ctx, sqlInsertVersion, w.Type, w.ID, w.VersionID, lu, w.Method, deleted, body)
	if err != nil {
		return err
	}
	vid, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if exists {
		res, err := t.exec(ctx, sqlUpdateCurrent, w.VersionID, vid, lu, deleted, rid, cur)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("put %s/%s: %w", w.Type, w.ID, store.ErrConflict)
		}
		for _, table := range indexTables {
			if _, err := t.exec(ctx, deleteIndexSQL(table), rid); err != nil {
				return err
			}
		}
	} else {
		res, err := t.exec(ctx, sqlInsertCurrent, w.Type, w.ID, w.VersionID, vid, lu, deleted)
		if err != nil {
			return err
		}
		if rid, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	if w.Delete {
		return nil
	}
	return t.insertIndex(ctx, rid, &w.Index)
}

func (t *tx) insertIndex(ctx context.Context, rid int64, x *store.Index) error {
	var args []any
	ins := func(table string, n int, row func(i int) []any) error {
		for start := 0; start < n; start += maxRows {
			end := min(start+maxRows, n)
			args = args[:0]
			for i := start; i < end; i++ {
				args = append(append(args, rid), row(i)...)
			}
			if _, err := t.exec(ctx, insertSQL(table, end-start), args...); err != nil {
				return err
			}
		}
		return nil
	}
	if err := ins("idx_string", len(x.Strings), func(i int) []any {
		e := &x.Strings[i]
		return []any{e.Param, e.Norm, e.Exact}
	}); err != nil {
		return err
	}
	if err := ins("idx_token", len(x.Tokens), func(i int) []any {
		e := &x.Tokens[i]
		return []any{e.Param, e.System, e.Code, e.Text}
	}); err != nil {
		return err
	}
	if err := ins("idx_reference", len(x.References), func(i int) []any {
		e := &x.References[i]
		return []any{e.Param, e.TargetType, e.TargetID, e.URL}
	}); err != nil {
		return err
	}
	if err := ins("idx_date", len(x.Dates), func(i int) []any {
		e := &x.Dates[i]
		return []any{e.Param, e.Low, e.High}
	}); err != nil {
		return err
	}
	if err := ins("idx_number", len(x.Numbers), func(i int) []any {
		e := &x.Numbers[i]
		return []any{e.Param, e.Value, e.Low, e.High}
	}); err != nil {
		return err
	}
	if err := ins("idx_quantity", len(x.Quantities), func(i int) []any {
		e := &x.Quantities[i]
		var cl, ch any
		if e.CanonicalCode != "" {
			cl, ch = e.CanonicalLow, e.CanonicalHigh
		}
		return []any{e.Param, e.System, e.Code, e.Low, e.High, e.CanonicalCode, cl, ch}
	}); err != nil {
		return err
	}
	return ins("idx_uri", len(x.URIs), func(i int) []any {
		e := &x.URIs[i]
		return []any{e.Param, e.URI}
	})
}

// Commit implements store.Tx. Only when it returns nil is the write durable.
func (t *tx) Commit() error {
	defer t.forget()
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
