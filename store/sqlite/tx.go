package sqlite

import (
	"bytes"
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
	// Index rows: rid and seq first (bufferIndex), then the entry's fields.
	"idx_string":    "rid, seq, param, norm, exact",
	"idx_token":     "rid, seq, param, system, code, text, pat",
	"idx_reference": "rid, seq, param, target_type, target_id, url, source_type",
	"idx_date":      "rid, seq, param, low, high",
	"idx_number":    "rid, seq, param, value, low, high",
	"idx_quantity":  "rid, seq, param, system, code, low, high, canonical_code, canonical_low, canonical_high",
	"idx_uri":       "rid, seq, param, uri",
	"idx_composite": "rid, seq, param, system1, code1, low1, high1, system2, code2, low2, high2, system3, code3, low3, high3",
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
	for _, q := range qs {
		if _, err := db.wstmts.get(ctx, q); err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", q, err)
		}
	}
	db.wstmts.mu.Lock()
	db.wstmts.frozen = true
	db.wstmts.mu.Unlock()
	// The buffered rows' INSERTs run on the handle directly (rawinsert.go).
	if db.raw == nil {
		r, err := openRawInserts(ctx, db.writer)
		if err != nil {
			return err
		}
		db.raw = r
	}
	return nil
}

// Begin implements store.Store. Write transactions queue for the writer
// (the token, handed on in arrival order), so they never fail with
// SQLITE_BUSY against each other; ctx bounds the wait.
//
// Group commit (docs/decisions/006-write-and-audit-durability.md): the
// transactions of this process run one after the other inside one SQLite
// transaction (BEGIN IMMEDIATE ... COMMIT) that stays open while others
// are queued. Commit inserts the transaction's rows, hands the writer on
// and waits until the shared COMMIT (one fsync for the whole group) has
// returned: only then is the transaction acknowledged, and a failed
// shared COMMIT fails every member. A member that rolls back undoes only
// its own rows: it buffers them until Commit, and if it must write
// earlier (an update, a read of its own writes) it opens a SAVEPOINT
// first and rolls back to it.
func (db *DB) Begin(ctx context.Context) (store.Tx, error) {
	if err := db.acquire(ctx); err != nil {
		return nil, sqlstore.WrapErr(ctx, "begin", err)
	}
	g, err := db.openGroup()
	if err != nil {
		db.release()
		return nil, sqlstore.WrapErr(ctx, "begin", err)
	}
	t := &tx{db: db, g: g, pending: pendingPool.Get().(map[string][]val), rows: map[string]int{}, created: map[string]current{}, unflushed: map[string]*store.Version{}}
	t.Reader = sqlstore.Reader{Q: flushingQuerier{t: t, q: sqlQuerier{tx: g.tx, stmts: db.wstmts}}, D: sqlstore.SQLite}
	t.direct = sqlstore.Reader{Q: sqlQuerier{tx: g.tx, stmts: db.wstmts}, D: sqlstore.SQLite}
	db.mu.Lock()
	db.txs[t] = struct{}{}
	db.mu.Unlock()
	return t, nil
}

// acquire takes the writer token, in arrival order.
func (db *DB) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-db.token:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-db.closed:
		return errClosed
	}
}

// release hands the writer token to the next in line.
func (db *DB) release() { db.token <- struct{}{} }

var errClosed = errors.New("sqlite: database closed")

// group is one SQLite transaction shared by the write transactions that
// ran in it. Only the holder of the writer token touches it.
type group struct {
	tx      *sql.Tx
	stmts   map[string]*sql.Stmt // the writer's prepared statements bound to tx
	members int                  // transactions waiting for the COMMIT
	err     error                // set before done is closed
	done    chan struct{}
}

// openGroup returns the open group, starting one if none is open. The
// caller holds the token.
func (db *DB) openGroup() (*group, error) {
	db.gmu.Lock()
	defer db.gmu.Unlock()
	if db.g != nil {
		return db.g, nil
	}
	// The buffered inserts run on the connection's handle: it must still
	// be the one they were prepared on.
	if err := db.raw.verify(context.Background(), db.writer); err != nil {
		return nil, err
	}
	// Not the caller's context: the SQLite transaction outlives it, and
	// database/sql rolls a transaction back when its context ends.
	sqltx, err := db.writer.BeginTx(context.Background(), nil)
	if err != nil {
		return nil, err
	}
	db.g = &group{tx: sqltx, stmts: map[string]*sql.Stmt{}, done: make(chan struct{})}
	return db.g, nil
}

// endGroup commits (or, with a cause, rolls back) the open group and
// tells its members. The caller holds the token.
func (db *DB) endGroup(cause error) {
	db.gmu.Lock()
	g := db.g
	db.g = nil
	db.gmu.Unlock()
	if g == nil {
		return
	}
	err := cause
	if err == nil && g.members == 0 {
		// Nothing was committed in it: members that rolled back undid
		// their rows already.
		err = g.tx.Rollback()
		if errors.Is(err, sql.ErrTxDone) {
			err = nil
		}
	} else if err == nil {
		db.commits.Add(1)
		// The generation is odd while the COMMIT is in flight and even
		// again before any member is acknowledged: a point reader that
		// sees it odd, or changed, takes a fresh snapshot (pointread.go).
		// One bump after the COMMIT alone left a window in which another
		// connection already saw the rows and a point reader, seeing the
		// old generation, answered from its older snapshot.
		db.generation.Add(1)
		err = g.tx.Commit()
		db.generation.Add(1)
		if err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	} else {
		g.tx.Rollback()
		err = fmt.Errorf("commit: the shared write transaction failed: %w", err)
	}
	g.err = err
	close(g.done)
}

// committer ends a group when asked (kick), after the transactions that
// were already queued for the writer have joined it: the token is handed
// on in arrival order, so they get it first.
func (db *DB) committer() {
	defer close(db.committerDone)
	for {
		select {
		case <-db.kick:
		case <-db.closed:
			return
		}
		select {
		case <-db.token:
		case <-db.closed:
			return
		}
		db.endGroup(nil)
		db.release()
	}
}

// wake asks the committer to end the open group.
func (db *DB) wake() {
	select {
	case db.kick <- struct{}{}:
	default: // already asked
	}
}

type tx struct {
	sqlstore.Reader                 // History and Search: they flush the pending rows first
	direct          sqlstore.Reader // the same SQLite transaction, without flushing
	db              *DB
	g               *group // the shared SQLite transaction this one runs in

	// Rows not yet inserted, per table, as flat argument lists, and the
	// resources they belong to (type + "/" + id: rid and version).
	pending map[string][]val
	rows    map[string]int
	created map[string]current
	// The versions among the pending rows, by type + "/" + id: a read of
	// one is answered from here, and a read of anything else needs no
	// flush (see Read).
	unflushed map[string]*store.Version
	// The last vid and rid used: this transaction assigns them itself (it
	// holds the only write lock), so a new version and its current row
	// need not be inserted before the next Put.
	lastVid, lastRid int64
	haveIDs          bool
	savepoint        bool  // a SAVEPOINT was opened before this transaction first wrote to SQLite
	wrote            bool  // rows of this transaction are in the SQLite transaction
	done             bool  // committed or rolled back: the token is released
	err              error // a failed write: nothing more can be written

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
	err := f.t.flushEarly()
	f.t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.q.Query(ctx, query, args...)
}

var _ store.Tx = (*tx)(nil)

func (t *tx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := t.g.stmts[q]; ok {
		return st, nil
	}
	base, err := t.db.wstmts.get(ctx, q)
	if err != nil {
		return nil, err
	}
	var st *sql.Stmt
	if base != nil {
		st = t.g.tx.StmtContext(ctx, base)
	} else if st, err = t.g.tx.PrepareContext(ctx, q); err != nil {
		return nil, err
	}
	t.g.stmts[q] = st
	return st, nil
}

// exec runs a statement that writes. It does not take the caller's
// context: SQLite answers an interrupted INSERT, UPDATE or DELETE by
// rolling back the whole transaction, which here is shared. A failure
// fails the transaction: if it opened a savepoint the group survives,
// otherwise the group is rolled back at Commit or Rollback.
func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	ctx := context.Background()
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	t.wrote = true
	// Outside the group's transaction the statement would commit on its own.
	if !t.db.raw.inTransaction() {
		t.err = fmt.Errorf("%w (the transaction must be rolled back)", errNoTransaction)
		return nil, t.err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		t.err = fmt.Errorf("%w (the transaction must be rolled back)", err)
	}
	return res, err
}

// beginWriting opens this transaction's savepoint before it first writes
// to SQLite ahead of Commit, so that a Rollback can undo its rows alone.
func (t *tx) beginWriting() error {
	if t.savepoint {
		return nil
	}
	// Outside a transaction SAVEPOINT would start one of its own, which
	// RELEASE then commits: the group's transaction has ended under it.
	if !t.db.raw.inTransaction() {
		t.err = errNoTransaction
		return t.err
	}
	if _, err := t.g.tx.ExecContext(context.Background(), "SAVEPOINT member"); err != nil {
		t.err = err
		return err
	}
	t.savepoint = true
	return nil
}

// flushEarly inserts the pending rows before Commit (for a read of the
// transaction's own writes), inside the savepoint.
func (t *tx) flushEarly() error {
	if t.err != nil {
		return t.err
	}
	if !t.hasPending() {
		return nil
	}
	if err := t.beginWriting(); err != nil {
		return err
	}
	return t.flush()
}

func (t *tx) hasPending() bool {
	for _, n := range t.rows {
		if n > 0 {
			return true
		}
	}
	return false
}

// Put implements store.Tx.
func (t *tx) Put(ctx context.Context, w *store.Write) error {
	if err := checkWrite(w); err != nil {
		return err
	}
	t.mu.Lock()
	err := t.put(ctx, w, false)
	t.mu.Unlock()
	return putErr(ctx, w, err)
}

// PutFresh is Put for the first version of a resource whose id the
// caller has just minted (the API's server-assigned ids: a time-ordered
// UUID with 62 random bits), so that no row can have it: it skips the
// current-row lookup, a query through database/sql inside the serial
// writer (~6 µs per resource; docs/decisions/022-ingest-index-tables.md,
// round 2). A resource this transaction wrote is still found in its
// buffers. Should the id exist after all, the unique index on (type, id)
// still refuses the row at Commit (INSERT OR ROLLBACK): the shared
// transaction fails and none of its members is acknowledged, so nothing
// is lost or overwritten.
func (t *tx) PutFresh(ctx context.Context, w *store.Write) error {
	if err := checkWrite(w); err != nil {
		return err
	}
	if w.VersionID != 1 || w.Delete {
		return fmt.Errorf("put %s/%s: %w: a fresh resource starts at version 1 and is not a deletion", w.Type, w.ID, store.ErrInvalid)
	}
	t.mu.Lock()
	err := t.put(ctx, w, true)
	t.mu.Unlock()
	return putErr(ctx, w, err)
}

func putErr(ctx context.Context, w *store.Write, err error) error {
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

// put stores w; fresh skips the lookup of the current row (PutFresh).
func (t *tx) put(ctx context.Context, w *store.Write, fresh bool) error {
	if t.err != nil {
		return t.err
	}
	if t.done {
		return fmt.Errorf("put: %w: the transaction has ended", store.ErrInvalid)
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
	if !pending && !fresh {
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
		if err := t.beginWriting(); err != nil {
			return err
		}
		if err := t.flush(); err != nil {
			return err
		}
		res, err := t.exec(sqlUpdateCurrent, w.VersionID, vid, lu, deleted, cur.rid, cur.version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("put %s/%s: %w", w.Type, w.ID, store.ErrConflict)
		}
		for _, table := range indexTables {
			if _, err := t.exec(deleteIndexSQL(table), cur.rid); err != nil {
				return err
			}
		}
	} else {
		t.lastRid++
		cur.rid = t.lastRid
		t.buffer("resource", 1, vInt(cur.rid), vText(w.Type), vText(w.ID), vInt(w.VersionID), vInt(vid), vInt(lu), vInt(int64(deleted)))
	}
	// The version row last: a Put that failed above has buffered nothing.
	t.lastVid = vid
	t.buffer("resource_version", 1, vInt(vid), vText(w.Type), vText(w.ID), vInt(w.VersionID), vInt(lu), vText(w.Method), vInt(int64(deleted)), vBlob(body))
	cur.version = w.VersionID
	t.created[key] = cur
	t.unflushed[key] = &store.Version{Type: w.Type, ID: w.ID, VersionID: w.VersionID, LastUpdated: sqlstore.FromMicros(lu), Method: w.Method, Deleted: w.Delete, Body: body}
	if !w.Delete {
		t.bufferIndex(cur.rid, w.Type, &w.Index)
	}
	return nil
}

// buffer appends n rows (their arguments flat in args) to table's pending rows.
func (t *tx) buffer(table string, n int, args ...val) {
	t.pending[table] = append(t.pending[table], args...)
	t.rows[table] += n
}

// bufferIndex adds x's rows for rid (of type typ) to the pending inserts.
// Each row's key is (rid, param, seq) (migration 0008: the index tables
// are clustered on it); seq is the entry's position among the resource's
// entries of its table, so the key is unique however many entries repeat
// a parameter, or repeat each other.
func (t *tx) bufferIndex(rid int64, typ string, x *store.Index) {
	add := func(table string, n int, row func(p []val, i int) []val) {
		if n == 0 {
			return
		}
		p := t.pending[table]
		for i := 0; i < n; i++ {
			p = row(append(p, vInt(rid), vInt(int64(i))), i)
		}
		t.pending[table] = p
		t.rows[table] += n
	}
	add("idx_string", len(x.Strings), func(p []val, i int) []val {
		e := &x.Strings[i]
		return append(p, vText(e.Param), vText(e.Norm), vText(e.Exact))
	})
	pat := x.PatientKey(typ) // migration 0004
	add("idx_token", len(x.Tokens), func(p []val, i int) []val {
		e := &x.Tokens[i]
		return append(p, vText(e.Param), vText(e.System), vText(e.Code), vText(e.Text), vText(pat))
	})
	add("idx_reference", len(x.References), func(p []val, i int) []val {
		e := &x.References[i]
		return append(p, vText(e.Param), vText(e.TargetType), vText(e.TargetID), vText(e.URL), vText(typ)) // source_type: migration 0007
	})
	add("idx_date", len(x.Dates), func(p []val, i int) []val {
		e := &x.Dates[i]
		return append(p, vText(e.Param), vInt(e.Low), vInt(e.High))
	})
	add("idx_number", len(x.Numbers), func(p []val, i int) []val {
		e := &x.Numbers[i]
		return append(p, vText(e.Param), vReal(e.Value), vReal(e.Low), vReal(e.High))
	})
	add("idx_quantity", len(x.Quantities), func(p []val, i int) []val {
		e := &x.Quantities[i]
		cl, ch := vNull, vNull
		if e.CanonicalCode != "" {
			cl, ch = vReal(e.CanonicalLow), vReal(e.CanonicalHigh)
		}
		return append(p, vText(e.Param), vText(e.System), vText(e.Code), vReal(e.Low), vReal(e.High), vText(e.CanonicalCode), cl, ch)
	})
	add("idx_uri", len(x.URIs), func(p []val, i int) []val {
		e := &x.URIs[i]
		return append(p, vText(e.Param), vText(e.URI))
	})
	add("idx_composite", len(x.Composites), func(p []val, i int) []val {
		e := &x.Composites[i]
		p = append(p, vText(e.Param))
		for _, c := range e.Parts {
			p = append(p, vText(c.System), vText(c.Code), vReal(c.Low), vReal(c.High))
		}
		return p
	})
}

// flush inserts the pending rows.
func (t *tx) flush() error {
	if t.err != nil {
		return t.err
	}
	for ti, table := range bufferedTables {
		p, n := t.pending[table], t.rows[table]
		if n == 0 {
			continue
		}
		width := len(p) / n
		for ci, c := range chunks {
			for n >= c {
				// Some rows may be in, some not: the transaction has
				// failed (as exec marks it). The INSERTs run on the
				// writer's handle below database/sql (rawinsert.go).
				t.wrote = true
				if err := t.db.raw.insert(ti, ci, p[:c*width]); err != nil {
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
	clear(t.unflushed)
	return nil
}

// Read implements store.Reader inside the transaction without flushing
// its pending rows: a resource this transaction wrote and has not
// inserted yet is answered from its buffer, and any other resource's rows
// are in SQLite already (pending rows are only this transaction's). Hooks
// read inside the write (recognition reads a result's Encounter, usually
// created earlier in the same Bundle); flushing for each such read cost a
// savepoint and a few small INSERTs per resource, most of a Bundle's
// store time (docs/decisions/016-read-and-ingest-cpu.md).
func (t *tx) Read(ctx context.Context, typ, id string) (*store.Version, error) {
	return t.point(ctx, "read", typ, id, 0)
}

// VRead implements store.Reader inside the transaction, as Read does.
func (t *tx) VRead(ctx context.Context, typ, id string, versionID int64) (*store.Version, error) {
	if versionID < 1 { // 0 means "current" to point: no version has it
		return nil, fmt.Errorf("vread %s/%s/_history/%d: %w", typ, id, versionID, store.ErrNotFound)
	}
	return t.point(ctx, "vread", typ, id, versionID)
}

func (t *tx) point(ctx context.Context, op, typ, id string, versionID int64) (*store.Version, error) {
	t.mu.Lock()
	err, v := t.err, t.unflushed[typ+"/"+id]
	if t.done {
		err = fmt.Errorf("%s: %w", op, sql.ErrTxDone)
	}
	t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if v != nil && (versionID == 0 || versionID == v.VersionID) {
		c := *v
		c.Body = bytes.Clone(v.Body)
		if c.Deleted {
			return &c, fmt.Errorf("%s %s/%s: %w", op, typ, id, store.ErrGone)
		}
		return &c, nil
	}
	// Not among the pending rows (or an older version of one, inserted
	// when this transaction updated it): SQLite has it, if anyone has.
	if versionID == 0 {
		return t.direct.Read(ctx, typ, id)
	}
	return t.direct.VRead(ctx, typ, id, versionID)
}

// Commit implements store.Tx. Only when it returns nil is the write
// durable: it waits for the COMMIT of the group it ran in.
func (t *tx) Commit() error {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return fmt.Errorf("commit: %w", sql.ErrTxDone)
	}
	// The savepoint is released before the final flush, not after: inside
	// a savepoint SQLite copies every page a statement first touches into
	// a statement sub-journal (in memory, 1 KiB chunks), and a transaction
	// that had to write early (a hook's search flushed its rows) would pay
	// that for all of its rows, 8 % of the ingest CPU in a profile
	// (docs/decisions/016-read-and-ingest-cpu.md). A transaction that
	// commits no longer needs to undo its rows alone: should the flush
	// fail now, the whole group is rolled back, as for the transactions
	// that never wrote early (decision 006), and none is acknowledged.
	if t.savepoint && t.err == nil {
		if _, err := t.g.tx.ExecContext(context.Background(), "RELEASE member"); err != nil {
			t.err = err
		} else {
			t.savepoint = false
		}
	}
	err := t.flush()
	if err != nil {
		t.end(err)
		t.mu.Unlock()
		return fmt.Errorf("commit: %w", err)
	}
	g := t.g
	g.members++
	t.done = true
	t.recycle()
	t.mu.Unlock()
	t.forget()
	t.db.release()
	t.db.wake()
	<-g.done
	return g.err
}

// Rollback implements store.Tx; after Commit it is a no-op.
func (t *tx) Rollback() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return nil
	}
	return t.end(nil)
}

// end rolls the transaction back and releases the writer: its rows are
// discarded from the buffers and, if it wrote any, rolled back to its
// savepoint; a transaction that wrote without one (a failed insert at
// Commit), or whose savepoint cannot be restored, takes the whole group
// with it. The caller holds t.mu.
func (t *tx) end(cause error) error {
	t.done = true
	for table, p := range t.pending {
		clear(p)
		t.pending[table] = p[:0]
		t.rows[table] = 0
	}
	t.recycle()
	var err error
	switch {
	case !t.wrote:
	case t.savepoint:
		bg := context.Background()
		if _, err = t.g.tx.ExecContext(bg, "ROLLBACK TO member"); err == nil {
			_, err = t.g.tx.ExecContext(bg, "RELEASE member")
		}
	default:
		err = cause
		if err == nil {
			err = t.err
		}
		if err == nil {
			err = errors.New("rows written without a savepoint")
		}
	}
	if err != nil {
		t.db.endGroup(err)
		err = fmt.Errorf("rollback: %w", err)
	} else if t.g.members == 0 {
		// The group is empty: end it now rather than hold the database's
		// write lock while no one uses it.
		t.db.endGroup(nil)
	}
	t.forget()
	t.db.release()
	return err
}

// pendingPool keeps finished transactions' row buffers (emptied, their
// capacity kept) for the next ones: grown afresh for every transaction,
// their appends cost ~5 % of the serial writer's time in allocation and
// copying (docs/decisions/022-ingest-index-tables.md, round 2).
var pendingPool = sync.Pool{New: func() any { return map[string][]val{} }}

// recycle hands the emptied buffers back; the transaction has ended and
// holds t.mu.
func (t *tx) recycle() {
	if t.pending != nil && !t.hasPending() {
		pendingPool.Put(t.pending)
	}
	t.pending = nil
}

func (t *tx) forget() {
	t.db.mu.Lock()
	delete(t.db.txs, t)
	t.db.mu.Unlock()
}
