// Package sqlite is the embedded store: one SQLite file in WAL mode, with
// one writer connection (write transactions are serialised through it) and
// a pool of read-only connections. It implements store.Store with the
// pure-Go driver modernc.org/sqlite (docs/decisions/001-sqlite-driver.md).
//
// Durability: every COMMIT is fsynced (synchronous=FULL) unless Options say
// otherwise, and Put never acknowledges anything before Commit returns, so
// a kill -9 or a power cut loses no committed transaction and leaves no
// half-applied one.
//
// It depends only on store, store/internal/sqlstore and the driver.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options tune a database; the zero value is the production default.
type Options struct {
	// Synchronous is "FULL" (default: an acknowledged commit survives power
	// loss) or "NORMAL" (survives a process crash; the last commits may be
	// lost on power loss, in exchange for fewer fsyncs).
	Synchronous string
	// ReadConns is the size of the read pool (default 2 × GOMAXPROCS, at least 4).
	ReadConns int
	// BusyTimeout bounds waiting for a lock held by another process (default 5s).
	BusyTimeout time.Duration
	// Migrate applies pending migrations on Open instead of refusing an
	// out-of-date schema.
	Migrate bool

	// vfs names the VFS the writer connections open the file through at
	// synchronous=FULL instead of walVFSName (tests: a WAL-buffering
	// VFS whose deferred writes fail).
	vfs string
}

// DB is a SQLite store.
type DB struct {
	path   string
	writer *sql.DB // one connection: the only one that writes
	reader *sql.DB // query_only connections
	rstmts *stmtCache
	wstmts *stmtCache
	raw    *rawInserts // the buffered rows' INSERTs, on the writer's handle (rawinsert.go)
	read   sqlstore.Reader
	point  *pointReaders // Read and VRead
	audit  *auditFile    // the audit trail, a file of its own (auditfile.go)
	// generation is bumped before and after every shared COMMIT (tx.go),
	// so it is odd while one is in flight and even again before its
	// members are acknowledged: point readers reuse a snapshot only
	// while it is even and unchanged (pointread.go).
	generation atomic.Int64

	mu  sync.Mutex
	txs map[*tx]struct{} // open write transactions

	// Group commit (tx.go): the writer token (one value, handed on in
	// arrival order), the open shared transaction, and the committer.
	token         chan struct{}
	gmu           sync.Mutex
	g             *group
	kick          chan struct{}
	closed        chan struct{}
	committerDone chan struct{}
	closeOnce     sync.Once
	commits       atomic.Int64 // shared COMMITs issued (tests)

	ckpt *checkpointer // checkpoints the WAL in the background
}

var _ store.Store = (*DB)(nil)

// The kinds of connection a DB opens.
type connKind int

const (
	connWriter connKind = iota // the writer and the checkpointer
	connReader                 // query_only: the search pool and the point readers
)

func dsn(path string, o Options, kind connKind) (string, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return "", fmt.Errorf("sqlite: bad database path %q", path)
	}
	sync := strings.ToUpper(o.Synchronous)
	if sync == "" {
		sync = "FULL"
	}
	if sync != "FULL" && sync != "NORMAL" {
		return "", fmt.Errorf("sqlite: synchronous %q: want FULL or NORMAL", o.Synchronous)
	}
	bt := o.BusyTimeout
	if bt <= 0 {
		bt = 5 * time.Second
	}
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(bt.Milliseconds(), 10))
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", sync)
	// The page cache (SQLite's default is 2 MB) must hold the hot upper
	// levels of a dozen index B-trees, or every insert reads pages back.
	switch kind {
	case connReader:
		q.Set("_query_only", "1")
		q.Add("_pragma", "cache_size(-16384)")
		// Searches touch pages all over a large file (a common code's
		// 20,000 rows): memory-mapped reads take them from the OS page
		// cache without a pread and a page-cache copy each, which was
		// half of such a search's CPU time at a million resources.
		q.Add("_pragma", "mmap_size(17179869184)")
	default:
		q.Add("_pragma", "cache_size(-65536)")
		// Statement journals (written for multi-row inserts into tables
		// with foreign keys) stay in memory instead of a temp file.
		q.Add("_pragma", "temp_store(MEMORY)")
		// The WAL is checkpointed in the background (checkpointer), off
		// the serialised write path; the writer checkpoints itself only
		// as a backstop, should the WAL grow past 64 MB.
		q.Add("_pragma", "wal_autocheckpoint(16384)")
		q.Set("_journal_mode", "WAL")
		q.Set("_txlock", "immediate")
		// At FULL every commit syncs the WAL before publishing its frames,
		// so the writer's WAL writes can wait for that sync and go out in
		// one system call (walvfs.go). At NORMAL a commit publishes frames
		// it never syncs: the default VFS writes them at once.
		if sync == "FULL" {
			name := o.vfs
			if name == "" {
				if err := registerStoreWALVFS(); err != nil {
					return "", err
				}
				name = walVFSName
			}
			q.Set("vfs", name)
		}
	}
	return path + "?" + q.Encode(), nil
}

func openPools(path string, o Options) (writer, reader *sql.DB, err error) {
	wdsn, err := dsn(path, o, connWriter)
	if err != nil {
		return nil, nil, err
	}
	rdsn, _ := dsn(path, o, connReader)
	writer, err = sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, nil, err
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	// Create the file and switch it to WAL before any reader opens it.
	if err := writer.Ping(); err != nil {
		writer.Close()
		return nil, nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := readConns(o)
	reader, err = sql.Open("sqlite", rdsn)
	if err != nil {
		writer.Close()
		return nil, nil, err
	}
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	reader.SetConnMaxIdleTime(0)
	return writer, reader, nil
}

// readConns is the size of each read pool (searches; point reads).
func readConns(o Options) int {
	if o.ReadConns > 0 {
		return o.ReadConns
	}
	return max(4, 2*runtime.GOMAXPROCS(0))
}

// Open opens (creating if needed) the database file at path. It refuses a
// schema newer than this binary, and an older one unless o.Migrate is set.
func Open(ctx context.Context, path string, o Options) (*DB, error) {
	writer, reader, err := openPools(path, o)
	if err != nil {
		return nil, err
	}
	db := &DB{path: path, writer: writer, reader: reader, rstmts: newStmtCache(reader), wstmts: newStmtCache(writer), txs: map[*tx]struct{}{},
		token: make(chan struct{}, 1), kick: make(chan struct{}, 1), closed: make(chan struct{}), committerDone: make(chan struct{})}
	db.token <- struct{}{}
	go db.committer()
	db.read = sqlstore.Reader{Q: sqlQuerier{db: reader, stmts: db.rstmts}, D: sqlstore.SQLite}
	if err := db.checkSchema(ctx, o.Migrate); err != nil {
		db.Close()
		return nil, err
	}
	cdsn, err := dsn(path, o, connWriter)
	if err == nil {
		db.ckpt, err = startCheckpointer(cdsn)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	pdsn, _ := dsn(path, o, connReader)
	if db.point, err = openPointReaders(pdsn, readConns(o), db.generation.Load); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// The audit trail's file; its sequence numbers continue after the
	// records earlier versions kept in this one (audit_log, migration 0002).
	var legacy int64
	if err := writer.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM audit_log`).Scan(&legacy); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if db.audit, err = openAuditFile(ctx, writer, AuditPath(path), o, legacy); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close implements store.Store: open transactions are rolled back first
// (the shared SQLite transaction with them: its members' Commit fails).
func (db *DB) Close() error {
	db.closeOnce.Do(func() { close(db.closed) })
	<-db.committerDone
	// The inserts on the writer's handle stop first (waiting for one in
	// flight): after this a member still writing fails, never inserts
	// outside the group's transaction.
	db.raw.close()
	db.gmu.Lock()
	g := db.g
	db.g = nil
	db.gmu.Unlock()
	if g != nil {
		g.tx.Rollback() // database/sql waits for the tx's in-flight statement
		g.err = errClosed
		close(g.done)
	}
	cerr := db.ckpt.close()
	db.ckpt = nil
	var perr error
	if db.point != nil {
		perr = db.point.close()
	}
	aerr := db.audit.close()
	db.rstmts.close()
	db.wstmts.close()
	return errors.Join(cerr, perr, aerr, db.reader.Close(), db.writer.Close())
}

// Read implements store.Reader on committed data.
//
// Point reads (a primary-key lookup, microseconds) run on connections of
// their own without the caller's cancellation (pointReaders). A context
// that has already ended is still refused.
func (db *DB) Read(ctx context.Context, typ, id string) (*store.Version, error) {
	return db.point.read(ctx, "read", typ, id, 0)
}

// VRead implements store.Reader on committed data, as Read does.
func (db *DB) VRead(ctx context.Context, typ, id string, versionID int64) (*store.Version, error) {
	if versionID < 1 {
		return nil, fmt.Errorf("vread %s/%s/_history/%d: %w", typ, id, versionID, store.ErrNotFound)
	}
	return db.point.read(ctx, "vread", typ, id, versionID)
}

// History implements store.Reader on committed data.
func (db *DB) History(ctx context.Context, q store.HistoryQuery) (*store.HistoryPage, error) {
	return db.read.History(ctx, q)
}

// Search implements store.Reader on committed data.
func (db *DB) Search(ctx context.Context, q *store.Query) (*store.SearchResult, error) {
	return db.read.Search(ctx, q)
}

// stmtCache keeps prepared statements by SQL text so hot queries are
// compiled once per connection. It stops growing at a bound: search SQL
// varies with the query's shape, and rare shapes need not stay prepared.
//
// The writer's cache is filled at Open and then frozen: preparing on the
// writer pool while a transaction holds its only connection would wait
// for that transaction forever.
type stmtCache struct {
	db     *sql.DB
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	frozen bool
}

const stmtCacheMax = 256

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

// get returns the prepared statement, or nil when the cache is full.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.m[query]
	full := c.frozen || len(c.m) >= stmtCacheMax
	c.mu.Unlock()
	if ok || full {
		return st, nil
	}
	// Prepare without the lock: it may wait for a free connection.
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[query]; ok { // another goroutine won the race
		st.Close()
		return prev, nil
	}
	if c.m == nil { // closed meanwhile
		st.Close()
		return nil, sql.ErrConnDone
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// sqlQuerier adapts a pool, or a transaction on the writer, to sqlstore.
type sqlQuerier struct {
	db    *sql.DB
	tx    *sql.Tx
	stmts *stmtCache
}

func (q sqlQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	st, err := q.stmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	switch {
	case st != nil && q.tx != nil:
		return q.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	case st != nil:
		return st.QueryContext(ctx, args...)
	case q.tx != nil:
		return q.tx.QueryContext(ctx, query, args...)
	default:
		return q.db.QueryContext(ctx, query, args...)
	}
}

func isUniqueViolation(err error) bool {
	var c int
	var se *sqlite.Error
	var re *rawError
	switch {
	case errors.As(err, &se):
		c = se.Code()
	case errors.As(err, &re):
		c = int(re.code)
	default:
		return false
	}
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func fsSub() (fs.FS, error) { return fs.Sub(migrationFS, "migrations") }
