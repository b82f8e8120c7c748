package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// rawInserts run the buffered multi-row INSERTs of a transaction's Commit
// (tx.flush) on the writer connection's SQLite handle directly, below
// database/sql and the driver, as the point readers do for reads
// (pointread.go). Through database/sql each statement converted its
// arguments (driverArgsConnLocked) and the driver looked up every
// parameter's name and copied every string and blob into memory of its
// own allocated per argument (conn.bind): ~25 % of the inserts' time, all
// of it inside the single writer (docs/decisions/027-writer-held-time.md).
// Here every text and blob of a statement is copied once into one buffer
// of C memory kept across statements and bound from it (SQLITE_STATIC).
//
// The handle is the driver's own connection (the pool's only writer
// connection), found once at Open through sql.Conn.Raw; the statements
// are prepared on it, so they run inside the group's SQLite transaction
// exactly as the database/sql statements did (same connection, same
// transaction, same OR IGNORE / OR ROLLBACK SQL). Calls use a TLS of
// their own: the handle is opened with SQLITE_OPEN_FULLMUTEX, so SQLite
// serialises them with any database/sql call on the same connection, and
// the driver's per-connection state (its TLS among it) is never touched.
// Only the holder of the writer token inserts (tx.go), so there is one
// inserter at a time.
//
// Safety checks, each a refusal rather than a write in the wrong place:
//   - every group checks that the pool's connection is still the one the
//     statements were prepared on (verify, from openGroup);
//   - every statement checks that the handle is inside a transaction: an
//     INSERT outside one would commit on its own, and a transaction can
//     end under a member (OR ROLLBACK, Close);
//   - Close finalises the statements under mu before the connection
//     closes, and an insert after that fails.
type rawInserts struct {
	mu     sync.RWMutex // read-held while inserting; Close takes it
	closed bool
	tls    *libc.TLS
	db     uintptr     // sqlite3* of the writer connection
	stmts  [][]uintptr // [index in bufferedTables][index in chunks]
	buf    uintptr     // C memory the texts and blobs of a statement are bound from
	size   int
}

// driverHandle returns the sqlite3* of a modernc.org/sqlite driver
// connection (the value sql.Conn.Raw passes). The driver does not export
// it; its connection type keeps it in the field db, which this reads
// without changing anything. A driver version that changed that fails
// here, at Open, and in the tests.
func driverHandle(dc any) (uintptr, error) {
	v := reflect.ValueOf(dc)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return 0, fmt.Errorf("sqlite: writer: unexpected driver connection %T", dc)
	}
	s := v.Elem()
	f, ok := s.Type().FieldByName("db")
	if !ok || f.Type.Kind() != reflect.Uintptr || s.Type().PkgPath() != "modernc.org/sqlite" {
		return 0, fmt.Errorf("sqlite: writer: driver connection %T has no SQLite handle field (a changed modernc.org/sqlite?)", dc)
	}
	h := uintptr(s.FieldByIndex(f.Index).Uint())
	if h == 0 {
		return 0, errors.New("sqlite: writer: the driver connection is closed")
	}
	return h, nil
}

// writerHandle borrows the writer pool's connection and returns its handle.
// The caller holds the writer token (or is Open), so the connection is free.
func writerHandle(ctx context.Context, writer *sql.DB) (uintptr, error) {
	c, err := writer.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var h uintptr
	var herr error
	// f returns nil: an error returned from Raw's function that is (or
	// wraps) driver.ErrBadConn would close the connection.
	if err := c.Raw(func(dc any) error { h, herr = driverHandle(dc); return nil }); err != nil {
		return 0, err
	}
	return h, herr
}

// openRawInserts prepares the INSERTs of every buffered table and chunk
// size on the writer connection's handle.
func openRawInserts(ctx context.Context, writer *sql.DB) (_ *rawInserts, err error) {
	h, err := writerHandle(ctx, writer)
	if err != nil {
		return nil, err
	}
	r := &rawInserts{tls: libc.NewTLS(), db: h}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	// These calls share the handle with database/sql's (a transaction may
	// be used from two goroutines): that is safe only while SQLite
	// serialises calls on it, as the driver's SQLITE_OPEN_FULLMUTEX makes
	// it. A driver that stopped doing so must fail here, not race later.
	if sqlite3.Xsqlite3_db_mutex(r.tls, h) == 0 {
		return nil, errors.New("sqlite: writer: the driver's connection has no mutex (not opened SQLITE_OPEN_FULLMUTEX); the writer's direct inserts cannot share it")
	}
	if err := r.prepareAll(); err != nil {
		return nil, err
	}
	return r, nil
}

// prepareAll prepares the INSERTs of every buffered table and chunk size
// on r.db. The caller is openRawInserts or holds r.mu.
func (r *rawInserts) prepareAll() error {
	for _, table := range bufferedTables {
		row := make([]uintptr, len(chunks))
		r.stmts = append(r.stmts, row) // before preparing: close finalises what was
		for i, n := range chunks {
			var err error
			if row[i], err = r.prepare(insertSQL(table, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// finalize finalises the statements (the caller holds r.mu).
func (r *rawInserts) finalize() {
	for _, row := range r.stmts {
		for _, st := range row {
			if st != 0 {
				sqlite3.Xsqlite3_finalize(r.tls, st)
			}
		}
	}
	r.stmts = nil
}

// prepare compiles q on the writer's handle (prepareOn, pointread.go).
func (r *rawInserts) prepare(q string) (uintptr, error) {
	return prepareOn(r.tls, r.db, q, "writer", func(rc int32) error { return r.errorf(rc, "prepare %q", q) })
}

// verify checks that the writer pool's connection is the one the
// statements were prepared on, and prepares them again on it if database/sql
// replaced it (the driver reports a connection bad when it was left
// interrupted, not only once closed); it runs once per group, before the
// group's transaction begins, by the holder of the writer token.
func (r *rawInserts) verify(ctx context.Context, writer *sql.DB) error {
	h, err := writerHandle(ctx, writer)
	if err != nil {
		return err
	}
	if h == r.db {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errClosed
	}
	// The old handle is a zombie (sqlite3_close_v2) until its statements
	// are finalised: this frees it.
	r.finalize()
	r.db = h
	if err := r.prepareAll(); err != nil {
		r.finalize()
		r.db = 0
		return err
	}
	return nil
}

// rawError is a failed call on the writer's handle; code is SQLite's
// extended result code (isUniqueViolation reads it).
type rawError struct {
	code int32
	msg  string
}

func (e *rawError) Error() string { return e.msg }

func (r *rawInserts) errorf(rc int32, format string, args ...any) error {
	code := rc
	msg := "no handle"
	if r.db != 0 {
		code = sqlite3.Xsqlite3_extended_errcode(r.tls, r.db)
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(r.tls, r.db))
	}
	return &rawError{code: code, msg: fmt.Sprintf("sqlite: writer: %s: %s (%d)", fmt.Sprintf(format, args...), msg, code)}
}

// insert runs the INSERT of chunks[ci] rows into bufferedTables[ti] with
// args (the rows' values, flat). The caller holds the writer token.
func (r *rawInserts) insert(ti, ci int, args []val) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return errClosed
	}
	if r.stmts == nil { // a failed re-prepare (verify)
		return errors.New("sqlite: writer: the inserts are not prepared")
	}
	// Outside a transaction the INSERT would commit on its own: the
	// group's transaction has ended (rolled back by OR ROLLBACK, or by
	// Close) and this member must fail, never write.
	if sqlite3.Xsqlite3_get_autocommit(r.tls, r.db) != 0 {
		return errNoTransaction
	}
	st := r.stmts[ti][ci]
	// Deferred calls run last first: the statement is reset (after the
	// error, with SQLite's message, was read), then the buffer shrunk.
	defer r.shrink(st)
	defer sqlite3.Xsqlite3_reset(r.tls, st)
	if err := r.bind(st, args); err != nil {
		return err
	}
	if rc := sqlite3.Xsqlite3_step(r.tls, st); rc != sqlite3.SQLITE_DONE {
		return r.errorf(rc, "insert into %s", bufferedTables[ti])
	}
	return nil
}

// inTransaction reports whether the writer's handle is inside a
// transaction. The caller holds the writer token.
func (r *rawInserts) inTransaction() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return !r.closed && r.db != 0 && sqlite3.Xsqlite3_get_autocommit(r.tls, r.db) == 0
}

// errNoTransaction: the group's SQLite transaction has ended under it
// (SQLite rolls back on its own after SQLITE_IOERR, SQLITE_NOMEM, ...).
var errNoTransaction = errors.New("sqlite: writer: no write transaction is open (the shared transaction was rolled back)")

// val is one column value of a buffered row, typed so that buffering a
// row allocates nothing per value (an int64, float64 or string in an any
// is a heap allocation each: ~100 per resource inside the writer).
type val struct {
	kind valKind
	i    int64 // kindInt; kindReal: the float64's bits
	s    string
	b    []byte
}

type valKind uint8

const (
	kindNull valKind = iota
	kindInt
	kindReal
	kindText
	kindBlob
)

var vNull = val{}

func vInt(i int64) val    { return val{kind: kindInt, i: i} }
func vReal(f float64) val { return val{kind: kindReal, i: int64(math.Float64bits(f))} }
func vText(s string) val  { return val{kind: kindText, s: s} }

// vBlob is a blob, or NULL for a nil b (as database/sql binds a nil []byte).
func vBlob(b []byte) val {
	if b == nil {
		return vNull
	}
	return val{kind: kindBlob, b: b}
}

// bind binds args to st's parameters: texts and blobs from r.buf, where
// each is copied once (SQLITE_STATIC). Bindings are left in place after
// the step (the next use binds every parameter again before it steps);
// the buffer is only freed at close.
func (r *rawInserts) bind(st uintptr, args []val) error {
	if int(sqlite3.Xsqlite3_bind_parameter_count(r.tls, st)) != len(args) {
		return fmt.Errorf("sqlite: writer: %d values for %d parameters", len(args), sqlite3.Xsqlite3_bind_parameter_count(r.tls, st))
	}
	need := 0
	for i := range args {
		n := len(args[i].s) + len(args[i].b)
		if n > math.MaxInt32 { // SQLite's limit is per value, not per statement
			return fmt.Errorf("sqlite: writer: value %d too large", i+1)
		}
		need += n
	}
	if need > r.size || r.buf == 0 {
		size := max(need, 2*r.size, 64<<10)
		p := libc.Xmalloc(r.tls, libc.Tsize_t(size))
		if p == 0 {
			return errors.New("sqlite: writer: out of memory")
		}
		if r.buf != 0 {
			libc.Xfree(r.tls, r.buf)
		}
		r.buf, r.size = p, size
	}
	off := r.buf
	for i := range args {
		a := &args[i]
		n := int32(i + 1)
		var rc int32
		switch a.kind {
		case kindInt:
			rc = sqlite3.Xsqlite3_bind_int64(r.tls, st, n, a.i)
		case kindReal:
			rc = sqlite3.Xsqlite3_bind_double(r.tls, st, n, math.Float64frombits(uint64(a.i)))
		case kindText:
			// A zero-length text is bound from a non-nil pointer: a nil
			// one would bind NULL.
			copy(libc.GoBytes(off, len(a.s)), a.s)
			rc = sqlite3.Xsqlite3_bind_text(r.tls, st, n, off, int32(len(a.s)), sqlite3.SQLITE_STATIC)
			off += uintptr(len(a.s))
		case kindBlob:
			copy(libc.GoBytes(off, len(a.b)), a.b)
			rc = sqlite3.Xsqlite3_bind_blob(r.tls, st, n, off, int32(len(a.b)), sqlite3.SQLITE_STATIC)
			off += uintptr(len(a.b))
		default:
			rc = sqlite3.Xsqlite3_bind_null(r.tls, st, n)
		}
		if rc != sqlite3.SQLITE_OK {
			return r.errorf(rc, "bind parameter %d", n)
		}
	}
	return nil
}

// rawBufKeep is the most C memory the buffer keeps between statements: a
// larger one (a statement with large bodies) is freed after its statement.
const rawBufKeep = 1 << 20

// shrink frees a buffer grown past rawBufKeep once st has run (and was
// reset); st's bindings into it are cleared. Other statements' bindings
// may point into it too: as after a growth, they are bound again before
// they next step.
func (r *rawInserts) shrink(st uintptr) {
	if r.size <= rawBufKeep {
		return
	}
	sqlite3.Xsqlite3_clear_bindings(r.tls, st)
	libc.Xfree(r.tls, r.buf)
	r.buf, r.size = 0, 0
}

// close finalises the statements and frees the buffer; later inserts fail.
// It runs before the writer connection closes (Close), or on a failed open.
func (r *rawInserts) close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	r.finalize()
	if r.buf != 0 {
		libc.Xfree(r.tls, r.buf)
		r.buf = 0
	}
	r.tls.Close()
}
