package sqlite

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

// pointReaders serve Read and VRead, the hottest queries of the node (every
// GET [base]/[type]/[id]), below database/sql and below the driver: each
// connection of the pool is a SQLite handle opened with the library itself
// (modernc.org/sqlite/lib), holding its statements prepared. Through
// database/sql a point read paid for the pool, its locking, the argument
// conversion and the Rows wrapper about as much as the lookup itself
// (docs/decisions/016-read-and-ingest-cpu.md); through the driver's own
// connections it still paid about twenty allocations and two microseconds
// per read for its Rows (column names and declared types fetched on every
// query, each value boxed): a third of the read (decision 023). Here a read
// binds the type and id, steps, and copies the body once.
//
// The connections are opened like the search pool's (the reader DSN's
// settings: query_only, the file memory-mapped). Without mmap_size they
// were measured far slower as soon as anything commits: every commit
// empties a WAL reader's page cache, and reloading pages into it
// (allocating, pread, freeing at the next commit) cost more than parsing
// mapped pages again.
//
// A connection keeps its read transaction (its snapshot) open across reads
// for at most snapshotHold, as long as nothing was committed meanwhile
// (the store's commit generation: odd while a COMMIT is in flight, even
// and changed once it returned, before any of its writes is
// acknowledged): beginning and ending a WAL read
// transaction (a read-mark lock and unlock, two fcntl calls, and an fstat)
// was half of a point read's CPU (decision 018). So a read sees every
// write this process acknowledged before it began; a write by another
// process on the same file (a tool) within snapshotHold. A connection left
// idle with a snapshot ends it within snapshotHold (release timer), so a
// snapshot never holds back checkpoints for longer.
//
// Reads never watch the caller's cancellation (a primary-key lookup takes
// microseconds), as decision 006 established for the pool before.
type pointReaders struct {
	// A connection is taken from the top of a stack (last returned, first
	// reused): at the usual concurrency the same one or two connections
	// serve every read, and their pages stay mapped and parsed, where a
	// FIFO queue rotated through all of them. sem admits at most len(all)
	// readers; closed ends waiting.
	sem    chan struct{}
	closed chan struct{}
	mu     sync.Mutex
	free   []*pointConn
	all    []*pointConn
	once   sync.Once

	gen   func() int64 // the store's commit generation
	timer *time.Timer  // ends idle snapshots; armed while a free connection holds one (under mu)
}

// snapshotHold is the longest a point-read connection reuses a snapshot
// when nothing was committed in this process meanwhile.
const snapshotHold = 2 * time.Millisecond

// pointConn is one SQLite handle of the pool. It is used by one goroutine
// at a time (the pool hands it out), so it is opened without SQLite's
// mutexes, and its TLS (the library's per-thread state) is its own.
type pointConn struct {
	tls                     *libc.TLS
	db                      uintptr // sqlite3*
	read, vread, begin, end uintptr // sqlite3_stmt*: point read, versioned read, BEGIN, COMMIT
	stmts                   []uintptr
	arg                     uintptr // C memory (pointArgSize) the type and id are bound from

	inTx    bool // a read transaction is open
	txGen   int64
	txStart time.Time
}

// Point reads select only what the caller does not know already.
//
// The type is compared as CAST(? AS TEXT), not as a bare parameter, so that
// the statement's plan does not depend on the value bound to it. With a
// bare "r.type = ?", SQLite checks whether the term implies the partial
// index resource_patient_live (WHERE type = 'Patient' AND deleted = 0,
// migration 0007) by looking at the bound value, marks the parameter as
// one the plan depends on, and then expires the statement whenever a new
// value is bound to it: every point read parsed and planned its SQL again
// (sqlite3Reprepare, a third of a read's CPU in the node; decision 023).
// The cast is a constant expression: the (type, id) key still answers.
const (
	pointReadSQL  = `SELECT v.version, v.last_updated, v.method, v.deleted, v.body FROM resource r JOIN resource_version v ON v.vid = r.vid WHERE r.type = CAST(? AS TEXT) AND r.id = ?`
	pointVReadSQL = `SELECT version, last_updated, method, deleted, body FROM resource_version WHERE type = ? AND id = ? AND version = ?`
)

func openPointReaders(dsn string, n int, gen func() int64) (*pointReaders, error) {
	p := &pointReaders{sem: make(chan struct{}, n), closed: make(chan struct{}), gen: gen}
	path, pragmas, err := pointSettings(dsn)
	if err != nil {
		return nil, err
	}
	for range n {
		c, err := openPointConn(path, pragmas)
		if err != nil {
			p.close()
			return nil, err
		}
		p.all = append(p.all, c)
		p.free = append(p.free, c)
	}
	return p, nil
}

// pointSettings turns a reader DSN of this package (dsn: a path, then the
// driver's parameters) into the path and the PRAGMAs that give a handle
// opened with the library the same settings as the driver would. A
// parameter it does not know is an error, so that a setting added to the
// reader DSN cannot silently miss the point readers.
func pointSettings(dsn string) (path string, pragmas []string, err error) {
	path, query, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", nil, fmt.Errorf("sqlite: point readers: %w", err)
	}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[k] {
			switch k {
			case "_pragma":
				pragmas = append(pragmas, "PRAGMA "+v)
			case "_busy_timeout", "_foreign_keys", "_synchronous", "_query_only":
				pragmas = append(pragmas, "PRAGMA "+k[1:]+" = "+v)
			default:
				return "", nil, fmt.Errorf("sqlite: point readers: unknown setting %s in the reader DSN", k)
			}
		}
	}
	return path, pragmas, nil
}

// openPointConn opens one handle. The connection is a local, not the
// named result: every error path returns nil for it, and the cleanup must
// still close the half-opened one (a nil result here made it panic).
func openPointConn(path string, pragmas []string) (_ *pointConn, err error) {
	pc := &pointConn{tls: libc.NewTLS()}
	defer func() {
		if err != nil {
			pc.close()
		}
	}()
	name, err := libc.CString(path)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(pc.tls, name)
	if pc.arg = libc.Xmalloc(pc.tls, pointArgSize); pc.arg == 0 {
		return nil, errors.New("sqlite: point readers: out of memory")
	}
	pdb := pc.tls.Alloc(8)
	defer pc.tls.Free(8)
	rc := sqlite3.Xsqlite3_open_v2(pc.tls, name, pdb, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_URI|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	pc.db = cPointer(pdb) // a handle even on failure, to be closed
	if rc != sqlite3.SQLITE_OK {
		return nil, pc.errorf("open %s", rc, path)
	}
	for _, q := range pragmas {
		if err := pc.exec(q); err != nil {
			return nil, err
		}
	}
	for _, q := range []string{pointReadSQL, pointVReadSQL, "BEGIN", "COMMIT"} {
		st, err := pc.prepare(q)
		if err != nil {
			return nil, err
		}
		pc.stmts = append(pc.stmts, st)
	}
	pc.read, pc.vread, pc.begin, pc.end = pc.stmts[0], pc.stmts[1], pc.stmts[2], pc.stmts[3]
	return pc, nil
}

// cPointer reads the pointer the library stored at p (an out parameter).
func cPointer(p uintptr) uintptr {
	return uintptr(binary.NativeEndian.Uint64(libc.GoBytes(p, 8)))
}

// prepareOn compiles q on the library handle db (persistent: it lives as
// long as db), for the point readers and the writer's inserts
// (rawinsert.go). refused describes SQLite's refusal (its code) with the
// caller's handle; who names the caller in the other errors.
func prepareOn(tls *libc.TLS, db uintptr, q, who string, refused func(rc int32) error) (uintptr, error) {
	z, err := libc.CString(q)
	if err != nil {
		return 0, err
	}
	defer libc.Xfree(tls, z)
	pst := tls.Alloc(8)
	defer tls.Free(8)
	if rc := sqlite3.Xsqlite3_prepare_v3(tls, db, z, -1, sqlite3.SQLITE_PREPARE_PERSISTENT, pst, 0); rc != sqlite3.SQLITE_OK {
		return 0, refused(rc)
	}
	st := cPointer(pst)
	if st == 0 {
		return 0, fmt.Errorf("sqlite: %s: %q is no statement", who, q)
	}
	return st, nil
}

// prepare compiles q on c (persistent: it lives as long as c).
func (c *pointConn) prepare(q string) (uintptr, error) {
	return prepareOn(c.tls, c.db, q, "point readers", func(rc int32) error { return c.errorf("prepare %q", rc, q) })
}

// exec runs a statement that returns no rows (a PRAGMA) once.
func (c *pointConn) exec(q string) error {
	st, err := c.prepare(q)
	if err != nil {
		return err
	}
	defer sqlite3.Xsqlite3_finalize(c.tls, st)
	for {
		switch rc := sqlite3.Xsqlite3_step(c.tls, st); rc {
		case sqlite3.SQLITE_ROW: // PRAGMA x = y answers with the new value
		case sqlite3.SQLITE_DONE:
			return nil
		default:
			return c.errorf("%s", rc, q)
		}
	}
}

// run steps a statement that returns no rows (BEGIN, COMMIT) and resets it.
func (c *pointConn) run(st uintptr) error {
	rc := sqlite3.Xsqlite3_step(c.tls, st)
	sqlite3.Xsqlite3_reset(c.tls, st)
	if rc != sqlite3.SQLITE_DONE {
		return c.errorf("%s", rc, libc.GoString(sqlite3.Xsqlite3_sql(c.tls, st)))
	}
	return nil
}

// errorf describes a failed call with SQLite's message for the handle.
func (c *pointConn) errorf(format string, rc int32, args ...any) error {
	msg := "no handle"
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	}
	return fmt.Errorf("sqlite: point read: %s: %s (%d)", fmt.Sprintf(format, args...), msg, rc)
}

// snapshot makes sure c reads in a transaction that began after the store's
// commit generation was gen, and not more than snapshotHold ago. An odd
// gen means a COMMIT is in flight: rows it writes may already be visible
// to other connections, so the snapshot taken now is used for this read
// and never reused.
func (c *pointConn) snapshot(gen int64, now time.Time) error {
	if c.inTx {
		if gen%2 == 0 && c.txGen == gen && now.Sub(c.txStart) < snapshotHold {
			return nil
		}
		c.release()
	}
	// BEGIN is deferred: the snapshot is taken by the first read, after
	// gen was read.
	if err := c.run(c.begin); err != nil {
		return err
	}
	c.inTx, c.txGen, c.txStart = true, gen, now
	return nil
}

// release ends c's read transaction, if it has one.
func (c *pointConn) release() {
	if !c.inTx {
		return
	}
	c.inTx = false
	// A read transaction cannot fail to end; should it, the next BEGIN
	// fails and reports it.
	c.run(c.end)
}

func (c *pointConn) close() error {
	for _, st := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.tls, st)
	}
	c.stmts = nil
	var err error
	if c.db != 0 {
		if rc := sqlite3.Xsqlite3_close_v2(c.tls, c.db); rc != sqlite3.SQLITE_OK {
			err = c.errorf("close", rc)
		}
		c.db = 0
	}
	if c.arg != 0 {
		libc.Xfree(c.tls, c.arg)
		c.arg = 0
	}
	c.tls.Close()
	return err
}

var errPointClosed = errors.New("sqlite: database closed")

// get takes a free connection, waiting for one if all are busy, or
// reports that the pool is closed.
func (p *pointReaders) get(ctx context.Context) (*pointConn, error) {
	select {
	case <-p.closed:
		return nil, errPointClosed
	default:
	}
	select {
	case p.sem <- struct{}{}:
	case <-p.closed:
		return nil, errPointClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	c := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	p.mu.Unlock()
	return c, nil
}

func (p *pointReaders) put(c *pointConn) {
	p.mu.Lock()
	p.free = append(p.free, c)
	if c.inTx && p.timer == nil {
		p.timer = time.AfterFunc(snapshotHold, p.releaseIdle)
	}
	p.mu.Unlock()
	<-p.sem
}

// releaseIdle ends the snapshots of free connections older than
// snapshotHold, and comes back for the younger ones.
func (p *pointReaders) releaseIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer = nil
	select {
	case <-p.closed:
		return
	default:
	}
	now := time.Now()
	var next time.Duration
	for _, c := range p.free {
		if !c.inTx {
			continue
		}
		if age := now.Sub(c.txStart); age >= snapshotHold {
			c.release()
		} else if d := snapshotHold - age; next == 0 || d < next {
			next = d
		}
	}
	if next > 0 {
		p.timer = time.AfterFunc(next, p.releaseIdle)
	}
}

// close refuses new reads, waits for the reads in flight, then closes
// every connection.
func (p *pointReaders) close() error {
	var err error
	p.once.Do(func() {
		close(p.closed)
		for range cap(p.sem) {
			p.sem <- struct{}{}
		}
		p.mu.Lock()
		if p.timer != nil {
			p.timer.Stop()
		}
		p.mu.Unlock()
		var errs []error
		for _, c := range p.all {
			errs = append(errs, c.close())
		}
		err = errors.Join(errs...)
	})
	return err
}

// read runs one point read: Read when version is 0, else VRead.
func (p *pointReaders) read(ctx context.Context, op, typ, id string, version int64) (*store.Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, sqlstore.WrapErr(ctx, op, err)
	}
	c, err := p.get(ctx)
	if err != nil {
		return nil, sqlstore.WrapErr(ctx, op, err)
	}
	var v *store.Version
	if err = c.snapshot(p.gen(), time.Now()); err == nil {
		v, err = c.query(typ, id, version)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.release() // start afresh after a failure
	}
	p.put(c)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return nil, sqlstore.WrapErr(ctx, op, err)
	}
	if v.Deleted {
		return v, fmt.Errorf("%s %s/%s: %w", op, v.Type, v.ID, store.ErrGone)
	}
	return v, nil
}

func (c *pointConn) query(typ, id string, version int64) (*store.Version, error) {
	st := c.read
	if version != 0 {
		st = c.vread
	}
	defer sqlite3.Xsqlite3_reset(c.tls, st)
	if err := c.bindArgs(st, typ, id); err != nil {
		return nil, err
	}
	if version != 0 {
		if rc := sqlite3.Xsqlite3_bind_int64(c.tls, st, 3, version); rc != sqlite3.SQLITE_OK {
			return nil, c.errorf("bind", rc)
		}
	}
	switch rc := sqlite3.Xsqlite3_step(c.tls, st); rc {
	case sqlite3.SQLITE_ROW:
	case sqlite3.SQLITE_DONE:
		return nil, store.ErrNotFound
	default:
		return nil, c.errorf("step", rc)
	}
	for i, want := range [...]int32{sqlite3.SQLITE_INTEGER, sqlite3.SQLITE_INTEGER, sqlite3.SQLITE_TEXT, sqlite3.SQLITE_INTEGER} {
		if t := sqlite3.Xsqlite3_column_type(c.tls, st, int32(i)); t != want {
			return nil, fmt.Errorf("sqlite: point read of %s/%s: column %d has type %d, want %d", typ, id, i, t, want)
		}
	}
	v := &store.Version{
		Type: typ, ID: id,
		VersionID:   sqlite3.Xsqlite3_column_int64(c.tls, st, 0),
		LastUpdated: sqlstore.FromMicros(sqlite3.Xsqlite3_column_int64(c.tls, st, 1)),
		Method:      method(libc.GoBytes(sqlite3.Xsqlite3_column_text(c.tls, st, 2), int(sqlite3.Xsqlite3_column_bytes(c.tls, st, 2)))),
		Deleted:     sqlite3.Xsqlite3_column_int64(c.tls, st, 3) != 0,
	}
	if !v.Deleted {
		// The body is copied once, from the page it lies on (a blob, or
		// text as some tools write it) into the version.
		p := sqlite3.Xsqlite3_column_blob(c.tls, st, 4)
		n := sqlite3.Xsqlite3_column_bytes(c.tls, st, 4)
		if p != 0 {
			v.Body = bytes.Clone(libc.GoBytes(p, int(n)))
		}
	}
	return v, nil
}

// pointArgSize is the C memory of a connection for the values it binds:
// far more than a type and an id need (ids have at most 64 characters).
const pointArgSize = 512

// bindArgs binds typ and id to the first two parameters of st. They are
// copied into the connection's own C memory and bound from there
// (SQLITE_STATIC: no copy by SQLite, no allocation per read); values too
// long for it are bound as copies SQLite makes. The bindings are left in
// place after the read: clearing them would expire the statement
// (sqlite3_clear_bindings does whenever any parameter has a say in the
// plan), and every read binds both again before it steps.
func (c *pointConn) bindArgs(st uintptr, typ, id string) error {
	for i, v := range [2]string{typ, id} {
		var rc int32
		if len(typ)+len(id) <= pointArgSize {
			off := uintptr(0)
			if i == 1 {
				off = uintptr(len(typ))
			}
			copy(libc.GoBytes(c.arg+off, len(v)), v)
			rc = sqlite3.Xsqlite3_bind_text(c.tls, st, int32(i+1), c.arg+off, int32(len(v)), sqlite3.SQLITE_STATIC)
		} else {
			z, err := libc.CString(v)
			if err != nil {
				return err
			}
			rc = sqlite3.Xsqlite3_bind_text(c.tls, st, int32(i+1), z, int32(len(v)), sqlite3.SQLITE_TRANSIENT)
			libc.Xfree(c.tls, z)
		}
		if rc != sqlite3.SQLITE_OK {
			return c.errorf("bind", rc)
		}
	}
	return nil
}

// method returns a version's HTTP method from the bytes SQLite holds: one
// of the same few strings on every read, without an allocation.
func method(b []byte) string {
	switch string(b) {
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodDelete:
		return http.MethodDelete
	}
	return string(b)
}
