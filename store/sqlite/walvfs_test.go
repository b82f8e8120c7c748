package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"modernc.org/libc"
	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/xietong/xietong/store"
)

// walProbe watches the deferred writes of a test instance of the
// WAL-buffering VFS, and fails the next fail of them when asked.
type walProbe struct {
	name  string
	mu    sync.Mutex
	calls int // writes of deferred runs (each at most walWriteMax bytes)
	bytes int
	fail  int
	rc    int32 // what a failed write returns (SQLITE_IOERR_WRITE if 0)
}

var walProbeSeq atomic.Int64

func newWALProbe(t *testing.T) *walProbe {
	t.Helper()
	p := &walProbe{name: fmt.Sprintf("xietong-wal-test-%d", walProbeSeq.Add(1))}
	_, err := registerWALVFS(p.name, func(tls *libc.TLS, file, buf uintptr, n int32, off int64) int32 {
		p.mu.Lock()
		fail := p.fail > 0
		if fail {
			p.fail--
		}
		rc := p.rc
		p.calls++
		p.bytes += int(n)
		p.mu.Unlock()
		if fail {
			if rc != 0 {
				return rc
			}
			return sqlite3.SQLITE_IOERR_WRITE
		}
		return fn[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](ioMethods(state(file).methods).FxWrite)(tls, file, buf, n, off)
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *walProbe) counts() (calls, bytes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls, p.bytes
}

func (p *walProbe) failNext(n int) {
	p.mu.Lock()
	p.fail = n
	p.mu.Unlock()
}

// openWALWriter opens path through the probe's VFS the way the store's
// writer is opened (WAL, synchronous=FULL, one connection), plus pragmas.
func openWALWriter(t *testing.T, path string, p *walProbe, pragmas ...string) *sql.DB {
	t.Helper()
	q := url.Values{}
	q.Set("vfs", p.name)
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_txlock", "immediate")
	for _, pr := range pragmas {
		q.Add("_pragma", pr)
	}
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// openPlain opens path through the default VFS (as the store's readers are).
func openPlain(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db interface {
	Exec(string, ...any) (sql.Result, error)
}, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// tableSums is what a connection sees of table t: rows, the sum of i, the
// bytes of b, and the number of rows whose b is not what insertRows wrote.
func tableSums(t *testing.T, q interface {
	QueryRow(string, ...any) *sql.Row
}) (n, sumI, sumLen, bad int64) {
	t.Helper()
	if err := q.QueryRow(`SELECT count(*), coalesce(sum(i), 0), coalesce(sum(length(b)), 0),
		coalesce(sum(b <> zeroblob(0) || printf('%0400d', i)), 0) FROM t`).Scan(&n, &sumI, &sumLen, &bad); err != nil {
		t.Fatalf("read t: %v", err)
	}
	return
}

// insertRows inserts rows i in [from, to) with a 400-byte text b derived from i.
func insertRows(t *testing.T, tx *sql.Tx, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if _, err := tx.Exec(`INSERT INTO t (i, b) VALUES (?, printf('%0400d', ?))`, i, i); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
}

func sumTo(n int) int64 { return int64(n) * int64(n-1) / 2 }

func integrityOK(t *testing.T, db *sql.DB) {
	t.Helper()
	var s string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&s); err != nil || s != "ok" {
		t.Fatalf("integrity_check: %q, %v", s, err)
	}
}

// A commit's frames reach the file by the time COMMIT returns, so another
// connection (the default VFS, its own file descriptor) sees them; and
// they reach it in runs, not frame by frame.
func TestWALVFSCommitsAreVisibleToOtherConnections(t *testing.T) {
	p := newWALProbe(t)
	path := filepath.Join(t.TempDir(), "v.db")
	w := openWALWriter(t, path, p)
	mustExec(t, w, `CREATE TABLE t (i INTEGER PRIMARY KEY, b TEXT)`)
	r := openPlain(t, path)
	for k := 1; k <= 3; k++ {
		tx, err := w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		insertRows(t, tx, (k-1)*500, k*500)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		n, sumI, sumLen, bad := tableSums(t, r)
		if n != int64(k*500) || sumI != sumTo(k*500) || sumLen != int64(k*500*400) || bad != 0 {
			t.Fatalf("after commit %d another connection sees %d rows (sum %d, %d bytes, %d wrong), want %d", k, n, sumI, sumLen, bad, k*500)
		}
	}
	calls, bytes := p.counts()
	// Frame by frame a write carries 24 bytes or a page (4,096); a run of
	// a 500-row commit is ~60 frames.
	if calls == 0 || bytes/calls < 8*4120 {
		t.Fatalf("%d deferred writes of %d bytes: the WAL was not written in runs", calls, bytes)
	}
	integrityOK(t, r)
}

// A transaction larger than the page cache spills frames into the WAL
// before it commits (pagerStress) and reads those pages back from there:
// the reads see the buffered frames, and pages changed again after they
// spilled are rewritten in place at commit.
func TestWALVFSSpilledFramesAreReadBack(t *testing.T) {
	p := newWALProbe(t)
	path := filepath.Join(t.TempDir(), "s.db")
	w := openWALWriter(t, path, p, "cache_size(20)")
	mustExec(t, w, `CREATE TABLE t (i INTEGER PRIMARY KEY, b TEXT)`)
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	const rows = 3000 // ~1.3 MB: ~330 pages against a cache of 20
	insertRows(t, tx, 0, rows)
	before, _ := p.counts()
	n, sumI, sumLen, bad := tableSums(t, tx)
	after, _ := p.counts()
	if n != rows || sumI != sumTo(rows) || sumLen != rows*400 || bad != 0 {
		t.Fatalf("inside the transaction: %d rows (sum %d, %d bytes, %d wrong), want %d", n, sumI, sumLen, bad, rows)
	}
	// Change every seventh row again (pages already spilled are written
	// again: in place, at commit), then read everything once more.
	if _, err := tx.Exec(`UPDATE t SET b = printf('%0400d', i) || 'x' WHERE i % 7 = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE t SET b = substr(b, 1, 400) WHERE i % 7 = 0`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Fatal("no spilled frames were waiting when the transaction read: the test does not test read-back")
	}
	r := openPlain(t, path)
	n, sumI, sumLen, bad = tableSums(t, r)
	if n != rows || sumI != sumTo(rows) || sumLen != rows*400 || bad != 0 {
		t.Fatalf("after commit: %d rows (sum %d, %d bytes, %d wrong), want %d", n, sumI, sumLen, bad, rows)
	}
	integrityOK(t, r)
}

// Checkpoints (from another connection, as the store's checkpointer runs
// them, and from the writer itself) copy the buffered commits' pages into
// the database file, and the WAL restarts from its beginning after one.
func TestWALVFSCheckpointAfterBufferedCommits(t *testing.T) {
	p := newWALProbe(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	w := openWALWriter(t, path, p)
	mustExec(t, w, `CREATE TABLE t (i INTEGER PRIMARY KEY, b TEXT)`)
	ck := openPlain(t, path)
	commit := func(from, to int) {
		tx, err := w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		insertRows(t, tx, from, to)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	commit(0, 400)
	commit(400, 800)
	var busy, logged, copied int
	if err := ck.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &copied); err != nil || busy != 0 {
		t.Fatalf("checkpoint from another connection: busy %d, %v", busy, err)
	}
	commit(800, 1200) // the WAL starts again at offset 0
	commit(1200, 1600)
	if err := w.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &copied); err != nil || busy != 0 {
		t.Fatalf("checkpoint from the writer: busy %d, %v", busy, err)
	}
	// Everything is in the database file now: a copy of it alone has it all.
	cp := filepath.Join(dir, "copy.db")
	copyFile(t, path, cp)
	c := openPlain(t, cp)
	n, sumI, sumLen, bad := tableSums(t, c)
	if n != 1600 || sumI != sumTo(1600) || sumLen != 1600*400 || bad != 0 {
		t.Fatalf("database file after checkpoints: %d rows (sum %d, %d bytes, %d wrong), want 1600", n, sumI, sumLen, bad)
	}
	integrityOK(t, c)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// A deferred write that fails fails the COMMIT with SQLite's I/O error;
// the transaction is not in the database, not even after a crash (the
// database and WAL files as they are, recovered by a new connection); and
// the connection goes on writing.
func TestWALVFSFailedWriteFailsTheCommit(t *testing.T) {
	p := newWALProbe(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "f.db")
	w := openWALWriter(t, path, p)
	mustExec(t, w, `CREATE TABLE t (i INTEGER PRIMARY KEY, b TEXT)`)
	mustExec(t, w, `INSERT INTO t (i, b) VALUES (1, printf('%0400d', 1))`)

	p.failNext(1)
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	insertRows(t, tx, 2, 50)
	err = tx.Commit()
	var se *sqlitedrv.Error
	if !errors.As(err, &se) || se.Code() != sqlite3.SQLITE_IOERR_WRITE {
		t.Fatalf("commit with a failing WAL write: %v, want SQLITE_IOERR_WRITE", err)
	}

	// The files as a crash would leave them now: the failed transaction's
	// frames must not be there for recovery to find.
	crash := filepath.Join(dir, "crash")
	if err := os.Mkdir(crash, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, path, filepath.Join(crash, "f.db"))
	copyFile(t, path+"-wal", filepath.Join(crash, "f.db-wal"))
	rec := openPlain(t, filepath.Join(crash, "f.db"))
	if n, sumI, _, _ := tableSums(t, rec); n != 1 || sumI != 1 {
		t.Fatalf("recovered after the failed commit: %d rows (sum %d), want only row 1", n, sumI)
	}
	integrityOK(t, rec)

	// The writer goes on; the failed rows never appear.
	mustExec(t, w, `INSERT INTO t (i, b) VALUES (3, printf('%0400d', 3))`)
	r := openPlain(t, path)
	if n, sumI, _, bad := tableSums(t, r); n != 2 || sumI != 4 || bad != 0 {
		t.Fatalf("after the failed commit and another: %d rows (sum %d, %d wrong), want rows 1 and 3", n, sumI, bad)
	}
	integrityOK(t, r)
}

// Through the store: a failed WAL write fails the group's COMMIT, so the
// member's Commit fails and nothing of it is readable; the store goes on.
func TestWALWriteFailureFailsTheStoreCommit(t *testing.T) {
	p := newWALProbe(t)
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"), Options{Migrate: true, vfs: p.name})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	put := func(id string) error {
		tx, err := db.Begin(ctx)
		if err != nil {
			return err
		}
		if err := tx.Put(ctx, patient(id, 1)); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	}
	p.failNext(1)
	if err := put("lost"); err == nil || !strings.Contains(err.Error(), "I/O error") {
		t.Fatalf("commit with a failing WAL write: %v, want an I/O error", err)
	}
	if _, err := db.Read(ctx, "Patient", "lost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("read of the failed write: %v, want not found", err)
	}
	if err := put("kept"); err != nil {
		t.Fatalf("commit after the failure: %v", err)
	}
	if _, err := db.Read(ctx, "Patient", "kept"); err != nil {
		t.Fatal(err)
	}
}

// The VFS is used only where a commit syncs the WAL (FULL); at NORMAL a
// commit publishes frames it never syncs, so the writer keeps the default.
func TestWALVFSOnlyAtFull(t *testing.T) {
	for _, c := range []struct {
		sync string
		want string
	}{{"", walVFSName}, {"FULL", walVFSName}, {"normal", ""}} {
		d, err := dsn("/x.db", Options{Synchronous: c.sync}, connWriter)
		if err != nil {
			t.Fatal(err)
		}
		_, query, _ := strings.Cut(d, "?")
		q, _ := url.ParseQuery(query)
		if got := q.Get("vfs"); got != c.want {
			t.Errorf("synchronous %q: vfs %q, want %q", c.sync, got, c.want)
		}
		r, _ := dsn("/x.db", Options{Synchronous: c.sync}, connReader)
		if strings.Contains(r, "vfs=") {
			t.Errorf("synchronous %q: the reader DSN names a VFS: %s", c.sync, r)
		}
	}
}

// The run's bookkeeping, against a model: writes that append, rewrite
// bytes inside the run, overlap its end, leave a gap, or come before it,
// with reads and syncs between them, leave the WAL file with the bytes of
// the same writes applied in order, and every read sees them. The writes
// go through the methods of a real connection's WAL file object (found
// with SQLITE_FCNTL_JOURNAL_POINTER), past the end of its frames.
func TestWALVFSRunMatchesWritesInOrder(t *testing.T) {
	p := newWALProbe(t)
	path := filepath.Join(t.TempDir(), "m.db")
	w := openWALWriter(t, path, p)
	mustExec(t, w, `CREATE TABLE t (i INTEGER PRIMARY KEY, b TEXT)`)
	c, err := w.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tls := libc.NewTLS()
	defer tls.Close()
	var h uintptr
	if err := c.Raw(func(dc any) (err error) { h, err = driverHandle(dc); return err }); err != nil {
		t.Fatal(err)
	}
	zMain, _ := libc.CString("main")
	defer libc.Xfree(tls, zMain)
	pp := tls.Alloc(8)
	defer tls.Free(8)
	if rc := sqlite3.Xsqlite3_file_control(tls, h, zMain, sqlite3.SQLITE_FCNTL_JOURNAL_POINTER, pp); rc != sqlite3.SQLITE_OK {
		t.Fatalf("journal pointer: %d", rc)
	}
	wal := cPointer(pp)
	if wal == 0 || state(wal).kind != walKindWAL {
		t.Fatal("the connection's WAL is not buffered by the VFS")
	}
	m := ioMethods(at[sqlite3.Tsqlite3_file](wal).FpMethods)
	write := fn[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](m.FxWrite)
	read := fn[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](m.FxRead)
	sync := fn[func(*libc.TLS, uintptr, int32) int32](m.FxSync)
	truncate := fn[func(*libc.TLS, uintptr, int64) int32](m.FxTruncate)
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	base := fi.Size() + 1<<20
	defer truncate(tls, wal, fi.Size())

	const span = 3 * walRunMax
	model := make([]byte, span)
	cbuf := libc.Xmalloc(tls, 1<<17)
	defer libc.Xfree(tls, cbuf)
	seq := byte(0)
	put := func(off, n int) {
		t.Helper()
		seq++
		b := libc.GoBytes(cbuf, n)
		for i := range b {
			b[i] = seq + byte(i*7)
		}
		copy(model[off:], b)
		if rc := write(tls, wal, cbuf, int32(n), base+int64(off)); rc != sqlite3.SQLITE_OK {
			t.Fatalf("write %d bytes at %d: %d", n, off, rc)
		}
	}
	check := func(off, n int) {
		t.Helper()
		clear(libc.GoBytes(cbuf, n))
		if rc := read(tls, wal, cbuf, int32(n), base+int64(off)); rc != sqlite3.SQLITE_OK {
			t.Fatalf("read %d bytes at %d: %d", n, off, rc)
		}
		if got := libc.GoBytes(cbuf, n); string(got) != string(model[off:off+n]) {
			t.Fatalf("read %d bytes at %d: not what was written", n, off)
		}
	}
	// Frames of 24 + 4,096 bytes appended, one rewritten inside the run
	// (walFrames' in-place rewrite), the run passing walRunMax.
	off := 0
	for range 1200 {
		put(off, 24)
		put(off+24, 4096)
		off += 4120
	}
	// The run passed walRunMax at frame 1018 and holds frames 1018-1199.
	put(4120*1100+24, 4096) // inside the run
	put(4120*1150, 24)      // inside the run
	put(off-100, 300)       // overlaps the end of the run
	put(4120*3+24, 4096)    // before the run: written first, then a new one
	check(4120*3, 4120*2)   // a read writes the run first
	put(off+200, 4096)      // after a read: a new run
	put(off+50, 100)        // before the run's start: written first, then a new one
	put(off+8192, 4096)     // a gap after the run
	put(off+8192+4096, 24)
	if rc := sync(tls, wal, 2); rc != sqlite3.SQLITE_OK {
		t.Fatalf("sync: %d", rc)
	}
	end := off + 8192 + 4096 + 24
	check(0, 1<<17)
	check(end-4000, 4000)
	f, err := os.Open(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, end)
	if _, err := f.ReadAt(got, base); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i] != model[i] {
			t.Fatalf("the WAL file differs from the writes at byte %d of %d", i, end)
		}
	}
}

// After a deferred write failed with SQLITE_FULL inside a statement that
// has a statement journal, SQLite rolls back that statement only and the
// transaction goes on; its spilled pages were in the lost run, and the
// WAL file holds older frames at those offsets (the WAL restarted after a
// checkpoint). A read of them must fail, never return the older bytes as
// the transaction's pages; and the transaction cannot commit.
func TestWALVFSLostRunIsNeverRead(t *testing.T) {
	p := newWALProbe(t)
	path := filepath.Join(t.TempDir(), "l.db")
	w := openWALWriter(t, path, p, "cache_size(20)")
	mustExec(t, w, `CREATE TABLE t (i INTEGER PRIMARY KEY, b TEXT)`)
	mustExec(t, w, `CREATE TABLE u (k INTEGER PRIMARY KEY, v TEXT UNIQUE)`)
	mustExec(t, w, `CREATE TABLE old (i INTEGER PRIMARY KEY, b TEXT)`)
	mustExec(t, w, `WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 4000) INSERT INTO old SELECT x, printf('%0400d', x + 7) FROM s`)
	ck := openPlain(t, path)
	var busy, logged, copied int
	if err := ck.QueryRow(`PRAGMA wal_checkpoint(RESTART)`).Scan(&busy, &logged, &copied); err != nil || busy != 0 {
		t.Fatalf("checkpoint: busy %d, %v", busy, err)
	}
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	insertRows(t, tx, 0, 3000) // spilled frames from offset 0 again, in the run
	p.mu.Lock()
	p.fail, p.rc = 1, sqlite3.SQLITE_FULL
	p.mu.Unlock()
	_, err = tx.Exec(`INSERT INTO u SELECT i, b FROM t`)
	var se *sqlitedrv.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_FULL {
		t.Fatalf("statement whose read writes the run: %v, want SQLITE_FULL", err)
	}
	var n, sumI, sumLen, bad int64
	err = tx.QueryRow(`SELECT count(*), coalesce(sum(i), 0), coalesce(sum(length(b)), 0),
		coalesce(sum(b <> printf('%0400d', i)), 0) FROM t`).Scan(&n, &sumI, &sumLen, &bad)
	if err == nil {
		if n != 3000 || sumI != sumTo(3000) || bad != 0 {
			t.Fatalf("read after the run was lost: %d rows (sum %d, %d wrong): bytes that are not the transaction's", n, sumI, bad)
		}
		t.Fatal("read after the run was lost succeeded: the test did not reach the lost frames")
	}
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_FULL {
		t.Fatalf("read after the run was lost: %v, want the lost run's SQLITE_FULL", err)
	}
	if err := tx.Commit(); err == nil {
		t.Fatal("the transaction committed without its lost frames")
	}
	r := openPlain(t, path)
	if n, _, _, _ := tableSums(t, r); n != 0 {
		t.Fatalf("%d rows of the failed transaction are in the database", n)
	}
	integrityOK(t, r)
}

// Frames a transaction spilled and then rolled back are still in the
// run when the connection releases the WAL write lock; the database
// file's xShmLock must write or forget them there, or they land later on
// top of the frames another writer committed at the same offsets. (The
// WAL is emptied first, so that the rollback reads its pages from the
// database file and nothing else writes the run.)
func TestWALVFSRolledBackRunNeverLandsOnAnotherWritersFrames(t *testing.T) {
	p := newWALProbe(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "r.db")
	w := openWALWriter(t, path, p, "cache_size(20)")
	mustExec(t, w, `CREATE TABLE t (i INTEGER PRIMARY KEY, b TEXT)`)
	other := openWALWriter(t, path, p)
	for k := 0; k < 3; k++ {
		mustExec(t, other, `PRAGMA wal_checkpoint(TRUNCATE)`)
		tx, err := w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		insertRows(t, tx, 100000+k*1000, 100000+k*1000+600) // ~60 pages against a cache of 20: spilled, under walRunMax
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		tx, err = other.Begin()
		if err != nil {
			t.Fatal(err)
		}
		insertRows(t, tx, k*100, (k+1)*100)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		tx, err = w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		insertRows(t, tx, 50000+k, 50000+k+1)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	want := func(what string, db *sql.DB) {
		t.Helper()
		n, _, _, bad := tableSums(t, db)
		if n != 303 || bad != 0 {
			t.Fatalf("%s: %d rows (%d wrong), want 303", what, n, bad)
		}
		integrityOK(t, db)
	}
	want("another connection", openPlain(t, path))
	cp := filepath.Join(dir, "copy.db")
	copyFile(t, path, cp)
	copyFile(t, path+"-wal", cp+"-wal")
	want("recovered from the files", openPlain(t, cp))
}
