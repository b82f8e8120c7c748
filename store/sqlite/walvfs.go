package sqlite

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// The WAL-buffering VFS (docs/decisions/035-wal-write-buffer.md).
//
// SQLite writes every WAL frame with two pwrite calls (its 24-byte header,
// then the page: walWriteOneFrame), ~3.4 frames per ingested resource, all
// inside the single writer's shared COMMIT: those system calls were ~13 %
// of the ingest's CPU. This VFS wraps the default one ("unix") and, for
// WAL files only, keeps a run of consecutive writes in memory and writes
// it in a few large calls when SQLite syncs the file, or before anything
// that could observe it. Every other file, and every other method, is the
// default VFS's own: the file object SQLite allocates is the default
// VFS's (the wrapped file at offset 0, its methods called directly) with
// this VFS's state appended (walState), and only the methods listed in
// walMethodsFor are replaced.
//
// Why the deferred bytes are never missed (the decision argues it from
// SQLite's source, wal.c's walFrames):
//
//   - other connections read only frames at or below the mxFrame of the
//     wal-index header, which a commit publishes after its xSync of the
//     WAL when synchronous=FULL; xSync writes the run first. So the VFS is
//     used only at FULL (dsn): at NORMAL a commit publishes frames without
//     a sync, and the VFS is not named in the DSN.
//   - this connection reads frames back (spilled pages of a large
//     transaction, checksum rewrites): xRead, xFileSize, xTruncate,
//     xFileControl, xFetch and xClose write the run first.
//   - no other connection may write the WAL before this one releases the
//     WAL write lock (an xShmLock on the database file, not the WAL): the
//     database file's xShmLock writes the run before that unlock, so
//     frames of a transaction that spilled and rolled back never land on
//     top of another writer's.
//
// A failed deferred write is the error of the call that triggered it (the
// COMMIT's xSync fails with SQLITE_IOERR_WRITE or SQLITE_FULL, so the
// COMMIT fails and nobody is told the data is stored), and the run is
// lost: until the write lock is released, every write, sync, size and
// truncation of the WAL, and every read at or past the lost run, fails
// with the same code, so the transaction cannot read garbage in place of
// its own frames nor commit without them; at the release the lost run is
// forgotten (its frames belong to no commit: a commit's xSync would have
// failed).

// walVFSName is the name the store's writer connections open their file
// through (the vfs DSN parameter).
const walVFSName = "xietong-wal"

// walRunMax bounds the bytes kept per WAL file: a longer run is written
// when the next write would pass it (a group of ~600 resources writes
// ~8 MB of frames: ~130 calls of 64 KiB instead of ~4,000).
const walRunMax = 4 << 20

// walWriteMax is the most one write to the file carries (see writeThrough).
const walWriteMax = 64 << 10

// File kinds in walState.kind.
const (
	walKindDB  = 1 // a main database file: its xShmLock ends the WAL's run
	walKindWAL = 2 // a WAL file: its writes are buffered
)

// walState is appended to the default VFS's file object (at
// walVFSStateOff) for the files this VFS wraps. It lives in memory
// SQLite allocated, and is only used under the connection's mutex (every
// call on a file comes from its connection).
type walState struct {
	kind    int64
	vfs     uintptr // the walVFS's sqlite3_vfs
	methods uintptr // the default VFS's sqlite3_io_methods for this file
	peer    uintptr // DB: its WAL file (0 if none open); WAL: its DB file
	buf     uintptr // WAL: walRunMax bytes of C memory, allocated at the first write
	off     int64   // WAL: the file offset of buf[0]
	n       int64   // WAL: bytes buffered
	lostRC  int64   // WAL: the code of a failed deferred write, until the write lock is released
	lostAt  int64   // WAL: the offset the lost run began at
}

// walVFS is one registered instance. The store uses one (walVFSName);
// tests register others with a write that fails.
type walVFS struct {
	name string
	cvfs uintptr // this VFS's sqlite3_vfs (C memory, never freed: SQLite keeps pointers to it)
	base uintptr // the wrapped default VFS
	// write, if set, writes a deferred run instead of the default VFS's
	// xWrite (fault injection in tests).
	write func(tls *libc.TLS, file, buf uintptr, n int32, off int64) int32
}

var (
	walVFSMu       sync.Mutex
	walVFSs        = map[uintptr]*walVFS{}    // by cvfs
	walVFSTables   = map[[2]uintptr]uintptr{} // (default methods, kind) -> this VFS's copy
	walVFSOwn      = map[uintptr]int64{}      // this VFS's method tables -> kind
	walVFSStateOff uintptr                    // offset of walState in a file object
	walVFSBaseSz   int32                      // the default VFS's szOsFile
	storeWALVFS    struct {
		once sync.Once
		err  error
	}
)

// registerStoreWALVFS registers the store's instance once per process.
func registerStoreWALVFS() error {
	storeWALVFS.once.Do(func() { _, storeWALVFS.err = registerWALVFS(walVFSName, nil) })
	return storeWALVFS.err
}

// registerWALVFS registers a WAL-buffering VFS under name, wrapping the
// process's default VFS. write, if not nil, replaces the default VFS's
// xWrite for deferred runs (tests).
func registerWALVFS(name string, write func(tls *libc.TLS, file, buf uintptr, n int32, off int64) int32) (*walVFS, error) {
	walVFSMu.Lock()
	defer walVFSMu.Unlock()
	tls := libc.NewTLS()
	defer tls.Close()
	base := sqlite3.Xsqlite3_vfs_find(tls, 0)
	if base == 0 {
		return nil, errors.New("sqlite: wal vfs: no default VFS")
	}
	bv := at[sqlite3.Tsqlite3_vfs](base)
	if walVFSStateOff == 0 {
		walVFSBaseSz = bv.FszOsFile
		walVFSStateOff = (uintptr(bv.FszOsFile) + 7) &^ 7
	} else if bv.FszOsFile != walVFSBaseSz {
		return nil, errors.New("sqlite: wal vfs: the default VFS changed")
	}
	zName, err := libc.CString(name)
	if err != nil {
		return nil, err
	}
	cvfs := libc.Xcalloc(tls, 1, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_vfs{})))
	if cvfs == 0 {
		libc.Xfree(tls, zName)
		return nil, errors.New("sqlite: wal vfs: out of memory")
	}
	v := at[sqlite3.Tsqlite3_vfs](cvfs)
	*v = *bv // every method but xOpen is the default VFS's (they read no field this VFS changes)
	v.FpNext = 0
	v.FzName = zName
	v.FszOsFile = int32(walVFSStateOff + unsafe.Sizeof(walState{}))
	setFn(&v.FxOpen, walOpen)
	if rc := sqlite3.Xsqlite3_vfs_register(tls, cvfs, 0); rc != sqlite3.SQLITE_OK {
		libc.Xfree(tls, cvfs)
		libc.Xfree(tls, zName)
		return nil, fmt.Errorf("sqlite: wal vfs: register %s: code %d", name, rc)
	}
	w := &walVFS{name: name, cvfs: cvfs, base: base, write: write}
	walVFSs[cvfs] = w
	return w, nil
}

// at views C memory at p as a T (p is an address libc or SQLite allocated:
// outside the Go heap, so the conversion hides nothing from the collector).
func at[T any](p uintptr) *T { return (*T)(*(*unsafe.Pointer)(unsafe.Pointer(&p))) }

// fn is the Go function behind a C function pointer of the translated
// library (the way the library itself calls through one).
func fn[F any](p uintptr) F { return *(*F)(unsafe.Pointer(&p)) }

// setFn stores a top-level Go function as a C function pointer.
func setFn[F any](field *uintptr, f F) { *(*F)(unsafe.Pointer(field)) = f }

func state(file uintptr) *walState { return at[walState](file + walVFSStateOff) }

func ioMethods(m uintptr) *sqlite3.Tsqlite3_io_methods {
	return at[sqlite3.Tsqlite3_io_methods](m)
}

// walMethodsFor returns this VFS's copy of the default VFS's methods m
// for a file of kind: the same functions but the ones this VFS replaces.
// The caller holds walVFSMu.
func walMethodsFor(m uintptr, kind int64) (uintptr, error) {
	if t, ok := walVFSTables[[2]uintptr{m, uintptr(kind)}]; ok {
		return t, nil
	}
	tls := libc.NewTLS()
	defer tls.Close()
	t := libc.Xcalloc(tls, 1, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
	if t == 0 {
		return 0, errors.New("out of memory")
	}
	c := ioMethods(t)
	*c = *ioMethods(m)
	setFn(&c.FxClose, walClose)
	switch kind {
	case walKindDB:
		if c.FiVersion >= 2 && c.FxShmLock != 0 {
			setFn(&c.FxShmLock, dbShmLock)
		}
	case walKindWAL:
		setFn(&c.FxRead, walRead)
		setFn(&c.FxWrite, walWrite)
		setFn(&c.FxTruncate, walTruncate)
		setFn(&c.FxSync, walSync)
		setFn(&c.FxFileSize, walFileSize)
		setFn(&c.FxFileControl, walFileControl)
		if c.FiVersion >= 3 && c.FxFetch != 0 {
			setFn(&c.FxFetch, walFetch)
		}
	}
	walVFSTables[[2]uintptr{m, uintptr(kind)}] = t
	walVFSOwn[t] = kind
	return t, nil
}

// walOpen is the VFS's xOpen: the default VFS opens the file in place;
// a main database file or a WAL file then gets this VFS's methods.
func walOpen(tls *libc.TLS, pVfs, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	walVFSMu.Lock()
	w := walVFSs[pVfs]
	walVFSMu.Unlock()
	if w == nil {
		return sqlite3.SQLITE_CANTOPEN
	}
	base := at[sqlite3.Tsqlite3_vfs](w.base)
	rc := fn[func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32](base.FxOpen)(tls, w.base, zName, pFile, flags, pOutFlags)
	f := at[sqlite3.Tsqlite3_file](pFile)
	st := state(pFile)
	*st = walState{}
	if rc != sqlite3.SQLITE_OK || f.FpMethods == 0 {
		return rc // SQLite closes a half-opened file through the default methods
	}
	var kind int64
	switch {
	case flags&sqlite3.SQLITE_OPEN_MAIN_DB != 0:
		kind = walKindDB
	case flags&sqlite3.SQLITE_OPEN_WAL != 0 && zName != 0:
		kind = walKindWAL
	default:
		return rc // journals, temporary files: the default VFS's file as it is
	}
	walVFSMu.Lock()
	defer walVFSMu.Unlock()
	var db uintptr
	if kind == walKindWAL {
		// The WAL's database file, through which its write lock is
		// released. Without it (never expected) the WAL is not buffered.
		db = sqlite3.Xsqlite3_database_file_object(tls, zName)
		if db == 0 || walVFSOwn[at[sqlite3.Tsqlite3_file](db).FpMethods] != walKindDB || state(db).peer != 0 {
			return rc
		}
	}
	t, err := walMethodsFor(f.FpMethods, kind)
	if err != nil {
		return rc // unwrapped: the default VFS's file
	}
	*st = walState{kind: kind, vfs: pVfs, methods: f.FpMethods}
	if kind == walKindWAL {
		st.peer = db
		state(db).peer = pFile
	}
	f.FpMethods = t
	return rc
}

// walClose is xClose of both kinds: a WAL writes its run and frees the
// buffer; either side of a DB/WAL pair unlinks the other.
func walClose(tls *libc.TLS, pFile uintptr) int32 {
	st := state(pFile)
	var rc int32 = sqlite3.SQLITE_OK
	if st.kind == walKindWAL {
		rc = st.flush(tls, pFile)
		if st.buf != 0 {
			libc.Xfree(tls, st.buf)
			st.buf = 0
		}
	}
	if st.peer != 0 {
		state(st.peer).peer = 0
		st.peer = 0
	}
	crc := fn[func(*libc.TLS, uintptr) int32](ioMethods(st.methods).FxClose)(tls, pFile)
	if rc == sqlite3.SQLITE_OK {
		rc = crc
	}
	return rc
}

// flush writes the run. After a failure the run is lost (see the file
// comment): lostRC and lostAt say so until the write lock is released.
func (st *walState) flush(tls *libc.TLS, pFile uintptr) int32 {
	if st.lostRC != 0 {
		return int32(st.lostRC)
	}
	if st.n == 0 {
		return sqlite3.SQLITE_OK
	}
	rc := st.writeThrough(tls, pFile, st.buf, st.n, st.off)
	if rc != sqlite3.SQLITE_OK {
		st.lostRC, st.lostAt = int64(rc), st.off
	}
	st.n = 0
	return rc
}

// writeThrough writes n bytes at buf to the file at off, in pieces of at
// most walWriteMax bytes: the default VFS's xWrite (unixWrite) is made
// for SQLite's own writes, a page or a frame, and silently truncates a
// single write to 17 bits of length (seekAndWriteFd's nBuf & 0x1ffff).
func (st *walState) writeThrough(tls *libc.TLS, pFile, buf uintptr, n, off int64) int32 {
	walVFSMu.Lock()
	w := walVFSs[st.vfs]
	walVFSMu.Unlock()
	write := fn[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](ioMethods(st.methods).FxWrite)
	if w != nil && w.write != nil {
		write = w.write
	}
	for n > 0 {
		k := min(n, walWriteMax)
		if rc := write(tls, pFile, buf, int32(k), off); rc != sqlite3.SQLITE_OK {
			return rc
		}
		buf, n, off = buf+uintptr(k), n-k, off+k
	}
	return sqlite3.SQLITE_OK
}

// endWrite is called before the WAL's connection releases the write lock:
// what is still buffered belongs to no commit (a commit's xSync wrote it);
// it is written as the default VFS would have, or, after a failure,
// forgotten.
func (st *walState) endWrite(tls *libc.TLS, pFile uintptr) {
	if st.lostRC == 0 {
		st.flush(tls, pFile)
	}
	st.n, st.lostRC, st.lostAt = 0, 0, 0
}

// walWrite is the WAL's xWrite: appended to the run when it continues it,
// copied into it when it rewrites bytes of it (walFrames rewrites a frame
// a transaction wrote earlier), else the run is written and a new one
// begins here.
func walWrite(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	st := state(pFile)
	if st.lostRC != 0 {
		return int32(st.lostRC)
	}
	n := int64(iAmt)
	end := st.off + st.n
	switch {
	case st.n > 0 && iOfst >= st.off && iOfst+n <= end:
		libc.Xmemcpy(tls, st.buf+uintptr(iOfst-st.off), zBuf, libc.Tsize_t(n))
		return sqlite3.SQLITE_OK
	case st.n > 0 && iOfst == end && st.n+n <= walRunMax:
		libc.Xmemcpy(tls, st.buf+uintptr(st.n), zBuf, libc.Tsize_t(n))
		st.n += n
		return sqlite3.SQLITE_OK
	}
	if rc := st.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	if n > walRunMax {
		return st.writeThrough(tls, pFile, zBuf, n, iOfst)
	}
	if st.buf == 0 {
		if st.buf = libc.Xmalloc(tls, walRunMax); st.buf == 0 {
			return sqlite3.SQLITE_IOERR_NOMEM
		}
	}
	libc.Xmemcpy(tls, st.buf, zBuf, libc.Tsize_t(n))
	st.off, st.n = iOfst, n
	return sqlite3.SQLITE_OK
}

// walRead is the WAL's xRead: the run is written first, so the read sees
// it; a read of a lost run fails.
func walRead(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	st := state(pFile)
	if st.lostRC != 0 {
		if iOfst+int64(iAmt) > st.lostAt {
			return int32(st.lostRC)
		}
	} else if rc := st.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](ioMethods(st.methods).FxRead)(tls, pFile, zBuf, iAmt, iOfst)
}

// walSync is the WAL's xSync: the run is written, then synced. This is
// where a commit's frames reach the file, before the wal-index header
// makes them visible (synchronous=FULL).
func walSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	st := state(pFile)
	if rc := st.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn[func(*libc.TLS, uintptr, int32) int32](ioMethods(st.methods).FxSync)(tls, pFile, flags)
}

func walTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	st := state(pFile)
	if rc := st.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn[func(*libc.TLS, uintptr, int64) int32](ioMethods(st.methods).FxTruncate)(tls, pFile, size)
}

func walFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	st := state(pFile)
	if rc := st.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn[func(*libc.TLS, uintptr, uintptr) int32](ioMethods(st.methods).FxFileSize)(tls, pFile, pSize)
}

func walFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	st := state(pFile)
	if st.lostRC == 0 {
		if rc := st.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
			return rc
		}
	}
	return fn[func(*libc.TLS, uintptr, int32, uintptr) int32](ioMethods(st.methods).FxFileControl)(tls, pFile, op, pArg)
}

func walFetch(tls *libc.TLS, pFile uintptr, iOfst int64, iAmt int32, pp uintptr) int32 {
	st := state(pFile)
	if rc := st.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn[func(*libc.TLS, uintptr, int64, int32, uintptr) int32](ioMethods(st.methods).FxFetch)(tls, pFile, iOfst, iAmt, pp)
}

// dbShmLock is the database file's xShmLock. Releasing a range that holds
// the WAL write lock (lock 0, WAL_WRITE_LOCK) ends the connection's write
// transaction: its WAL run is written (or forgotten, if lost) first, while
// the lock still keeps every other writer out.
func dbShmLock(tls *libc.TLS, pFile uintptr, ofst, n, flags int32) int32 {
	st := state(pFile)
	if st.peer != 0 && flags&sqlite3.SQLITE_SHM_UNLOCK != 0 && ofst <= 0 && ofst+n > 0 {
		state(st.peer).endWrite(tls, st.peer)
	}
	return fn[func(*libc.TLS, uintptr, int32, int32, int32) int32](ioMethods(st.methods).FxShmLock)(tls, pFile, ofst, n, flags)
}
