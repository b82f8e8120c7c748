package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

// The audit trail of a SQLite node lives in a database file of its own,
// beside the resources' (AuditPath), in chunks: one row per up to
// auditChunkMax records appended together, the records encoded compactly
// in a blob, and one index entry per distinct key of the chunk (the
// principal, the resource type, the resource, "has a denial").
// docs/decisions/018-reads-audit-file.md says why:
//
//   - Every commit to a SQLite file unmaps the mapping every reader
//     connection has of it (a WAL reader that finds the file changed drops
//     its cache); with the read records appended once a second to the
//     resources' file, each point reader faulted its pages in again after
//     every append. Appends to another file leave the resources' readers
//     alone: a node that only reads never invalidates them.
//   - A row and five index entries per record (audit_log, migration 0002)
//     cost ~13 µs of CPU per read, plus its share of the COMMIT and the
//     checkpoint; a chunk costs one row, and mostly one index entry per
//     record (the resource's).
//
// Records written by earlier versions into the resources' file (audit_log)
// stay there, read-only, and ReadAudit merges them with the chunks; the
// chunks' sequence numbers continue after them.
//
// Durability is the store's (synchronous=FULL): AppendAudit returns when
// the records are committed and fsynced. It is no longer a member of the
// resources' group commit, so a write's Sync (decision 006) pays an fsync
// of its own before the write's transaction.

// AuditPath is the audit trail's database file of the SQLite database at
// path. Back up both files (and their -wal files, or with VACUUM INTO /
// the sqlite3 .backup command, each file on its own).
func AuditPath(path string) string { return path + ".audit" }

const auditSchemaVersion = 1

// auditSchema is the audit file's schema (user_version 1).
//
// audit_chunk: first_seq is the Seq of the chunk's first record, the others
// follow it; min_at and max_at bound the records' times (Unix microseconds),
// so a reader can visit chunks newest first (audit_chunk_max) and stop as
// soon as no further chunk can hold a newer record than those it has.
// audit_key: one entry per distinct key of a chunk, with the chunk's max_at,
// so the chunks of one key are found newest first in the key's range. A key
// is a 64-bit hash (auditKey): a third of the size of the text, so fewer
// pages to write per append; a collision only makes a chunk a candidate,
// and its records are matched one by one.
const auditSchema = `
CREATE TABLE IF NOT EXISTS audit_chunk (
    first_seq INTEGER PRIMARY KEY,
    n         INTEGER NOT NULL,
    min_at    INTEGER NOT NULL,
    max_at    INTEGER NOT NULL,
    data      BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_chunk_max ON audit_chunk (max_at);
CREATE TABLE IF NOT EXISTS audit_key (
    key    INTEGER NOT NULL,
    max_at INTEGER NOT NULL,
    chunk  INTEGER NOT NULL,
    PRIMARY KEY (key, max_at, chunk)
) WITHOUT ROWID;
`

// auditChunkMax bounds a chunk: a query decodes whole chunks, so a chunk
// is kept small enough to decode in tens of microseconds, and big enough
// that the principal's and the type's keys cost little per record.
const auditChunkMax = 1024

// The key spaces of audit_key: a prefix byte, then the value, hashed
// (auditKey). A type never contains '/', so "r" + type + "/" + id is
// unambiguous.
const (
	keySubject = "s"
	keyType    = "t"
	keyRes     = "r"
	keyDenied  = "d"
)

// auditFile is the audit trail's database: one writer connection (appends
// are serialised by mu as well, so that the sequence numbers they assign
// never race) and a small read pool.
type auditFile struct {
	path string
	w, r *sql.DB
	mu   sync.Mutex
	// ckpt checkpoints the file's WAL in the background, as the
	// resources' file's checkpointer does (sqlite.go), so that no append
	// (a write's Sync, decision 006) ever runs the writer's backstop
	// checkpoint of up to 16,384 pages inline (decision 029).
	ckpt   *checkpointer
	legacy int64 // the highest Seq of the resources' file's audit_log (0: none)

	// The statements of the appends, prepared on the writer (under mu);
	// unprepared are those an append ran unprepared, to prepare after it.
	stmts      map[string]*sql.Stmt
	unprepared []string
}

// auditFileMark is the user_version of a resources' file whose trail is
// kept in its audit file (decision 018; the resources' file's schema is
// versioned by schema_migrations, its user_version is otherwise unused).
// A marked database refuses to start without its audit file: a restore of
// the resources' file alone, or a move that left the audit file behind,
// would otherwise begin a new, empty trail without a word, and the trail
// of every access since would be gone.
const auditFileMark = 18

// openAuditFile opens (creating if needed) the audit file at path of the
// resources' database main.
func openAuditFile(ctx context.Context, main *sql.DB, path string, o Options, legacy int64) (*auditFile, error) {
	wdsn, err := dsn(path, o, connWriter)
	if err != nil {
		return nil, err
	}
	var mark int
	if err := main.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&mark); err != nil {
		return nil, fmt.Errorf("sqlite: open the audit trail %s: %w", path, err)
	}
	if mark == auditFileMark {
		if _, err := os.Stat(filePath(path)); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sqlite: the audit trail %s is missing: this database keeps its trail of every access there "+
				"(docs/decisions/018-reads-audit-file.md). Restore it beside the database (a backup is both files); "+
				"only to begin a new, empty trail on purpose, create an empty file at that path", path)
		}
	}
	rdsn, _ := dsn(path, o, connReader)
	a := &auditFile{path: path, legacy: legacy, stmts: map[string]*sql.Stmt{}}
	if a.w, err = sql.Open("sqlite", wdsn); err != nil {
		return nil, err
	}
	a.w.SetMaxOpenConns(1)
	a.w.SetMaxIdleConns(1)
	a.w.SetConnMaxIdleTime(0)
	var v int
	if err := a.w.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		a.w.Close()
		return nil, fmt.Errorf("sqlite: open the audit trail %s: %w", path, err)
	}
	if v > auditSchemaVersion {
		a.w.Close()
		return nil, fmt.Errorf("sqlite: the audit trail %s has schema version %d, newer than this binary's %d", path, v, auditSchemaVersion)
	}
	if v < auditSchemaVersion {
		if _, err := a.w.ExecContext(ctx, `BEGIN IMMEDIATE;`+auditSchema+fmt.Sprintf(`PRAGMA user_version = %d; COMMIT;`, auditSchemaVersion)); err != nil {
			a.w.ExecContext(ctx, `ROLLBACK`)
			a.w.Close()
			return nil, fmt.Errorf("sqlite: create the audit trail %s: %w", path, err)
		}
	}
	if a.r, err = sql.Open("sqlite", rdsn); err != nil {
		a.w.Close()
		return nil, err
	}
	a.r.SetMaxOpenConns(2)
	a.r.SetMaxIdleConns(2)
	// Without its own checkpointer the only checkpoint of the audit
	// file was the writer's backstop (wal_autocheckpoint 16,384 pages):
	// every few thousand appends one append copied up to 64 MB into the
	// file and fsynced it inline, and a write's Sync waited behind it
	// (decision 029).
	if a.ckpt, err = startCheckpointer(wdsn); err != nil {
		a.close()
		return nil, err
	}
	// Marked only once the audit file's schema is committed: a crash in
	// between leaves an unmarked database and its audit file.
	if mark != auditFileMark {
		if _, err := main.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, auditFileMark)); err != nil {
			a.close()
			return nil, fmt.Errorf("sqlite: mark %s as keeping its audit trail apart: %w", path, err)
		}
	}
	return a, nil
}

// filePath is the file system path of a database path, which may be a
// SQLite "file:" URI.
func filePath(p string) string {
	if !strings.HasPrefix(p, "file:") {
		return p
	}
	u, err := url.Parse(p)
	if err != nil {
		return p
	}
	if u.Opaque != "" {
		if s, err := url.PathUnescape(u.Opaque); err == nil {
			return s
		}
		return u.Opaque
	}
	return u.Path
}

func (a *auditFile) close() error {
	if a == nil {
		return nil
	}
	cerr := a.ckpt.close()
	a.ckpt = nil
	a.mu.Lock()
	for _, st := range a.stmts {
		st.Close()
	}
	a.stmts = nil
	a.mu.Unlock()
	return errors.Join(cerr, a.r.Close(), a.w.Close())
}

// exec runs q in tx from a statement prepared on the writer, so that the
// appends, which run the same few statements every second (the chunk's
// INSERT, the key INSERTs of up to 128 rows), do not parse them again:
// parsing was a tenth of an append's CPU (docs/decisions/023-read-path-cpu.md).
// A statement not prepared yet runs as it is and is prepared after the
// transaction (prepareSeen): preparing on the writer's one connection
// while tx holds it would wait forever. Called under mu.
func (a *auditFile) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) error {
	if st, ok := a.stmts[q]; ok {
		_, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		return err
	}
	a.unprepared = append(a.unprepared, q)
	_, err := tx.ExecContext(ctx, q, args...)
	return err
}

// prepareSeen prepares the statements the last append ran unprepared.
// Called under mu, outside a transaction; a failure only leaves a
// statement to be parsed again next time.
func (a *auditFile) prepareSeen(ctx context.Context) {
	for _, q := range a.unprepared {
		if _, ok := a.stmts[q]; ok || a.stmts == nil {
			continue
		}
		if st, err := a.w.PrepareContext(ctx, q); err == nil {
			a.stmts[q] = st
		}
	}
	a.unprepared = a.unprepared[:0]
}

// append stores recs in one transaction, durable when it returns nil.
func (a *auditFile) append(ctx context.Context, recs []store.AuditRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// The driver watches a cancellable context with a goroutine per
	// statement; an append takes milliseconds and is all or nothing.
	ctx = context.WithoutCancel(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	defer a.prepareSeen(ctx)         // after the transaction has ended (deferred before it)
	tx, err := a.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (the writer's _txlock)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	next := a.legacy + 1
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT first_seq + n FROM audit_chunk ORDER BY first_seq DESC LIMIT 1`).Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if last.Valid && last.Int64 > next {
		next = last.Int64
	}
	var enc chunkEncoder
	keys := map[int64]struct{}{}
	var kargs []any
	for len(recs) > 0 {
		c := recs[:min(len(recs), auditChunkMax)]
		recs = recs[len(c):]
		data, minAt, maxAt := enc.encode(c)
		if err := a.exec(ctx, tx, `INSERT INTO audit_chunk (first_seq, n, min_at, max_at, data) VALUES (?, ?, ?, ?, ?)`,
			next, len(c), minAt, maxAt, data); err != nil {
			return err
		}
		clear(keys)
		for i := range c {
			r := &c[i]
			keys[auditKey(keySubject, r.Subject)] = struct{}{}
			if r.ResourceType != "" {
				keys[auditKey(keyType, r.ResourceType)] = struct{}{}
				if r.ID != "" {
					keys[auditKey(keyRes, r.ResourceType+"/"+r.ID)] = struct{}{}
				}
			}
			if !r.Allowed {
				keys[auditKey(keyDenied, "")] = struct{}{}
			}
		}
		// Sorted, the entries go into the key index in order.
		sorted := make([]int64, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		slices.Sort(sorted)
		for len(sorted) > 0 {
			n := min(len(sorted), 128)
			kargs = kargs[:0]
			for _, k := range sorted[:n] {
				kargs = append(kargs, k, maxAt, next)
			}
			if err := a.exec(ctx, tx, auditKeySQL(n), kargs...); err != nil {
				return err
			}
			sorted = sorted[n:]
		}
		next += int64(len(c))
	}
	return tx.Commit()
}

// auditKey is the index key of a key space's value: FNV-1a, 64 bits.
func auditKey(space, v string) int64 {
	h := fnv.New64a()
	h.Write([]byte(space))
	h.Write([]byte(v))
	return int64(h.Sum64())
}

var auditKeyStmts sync.Map // n -> the INSERT of n keys

// auditKeySQL is the INSERT of n key entries. It says OR IGNORE although
// no entry can be there already (each names the chunk just inserted, and
// the keys are distinct): a multi-row INSERT that may abort on a
// constraint makes SQLite copy every page it first touches into a
// statement journal, to undo the statement alone; under OR IGNORE none
// can abort. In the profile of a node under wrk the journal was a fifth
// of an append's CPU (docs/decisions/023-read-path-cpu.md).
func auditKeySQL(n int) string {
	if s, ok := auditKeyStmts.Load(n); ok {
		return s.(string)
	}
	s := "INSERT OR IGNORE INTO audit_key (key, max_at, chunk) VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", n), ", ")
	auditKeyStmts.Store(n, s)
	return s
}

// read returns the records of the chunks matching q, newest first, at most
// n+1 of them (one more than a page: the caller learns whether there are
// more).
func (a *auditFile) read(ctx context.Context, q store.AuditQuery, cur *sqlstore.AuditCursor, n int) ([]store.AuditRecord, error) {
	since, until := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.Since.IsZero() {
		since = sqlstore.Micros(q.Since)
	}
	if !q.Until.IsZero() {
		until = sqlstore.Micros(q.Until)
	}
	upto := int64(math.MaxInt64) // a chunk older than the cursor starts at or before it
	if cur != nil {
		upto = cur.At
	}
	// One key narrows the chunks; the records are then filtered one by one.
	var key int64
	keyed := true
	switch {
	case q.ID != "":
		key = auditKey(keyRes, q.ResourceType+"/"+q.ID)
	case q.Allowed != nil && !*q.Allowed:
		key = auditKey(keyDenied, "")
	case q.Subject != "":
		key = auditKey(keySubject, q.Subject)
	case q.ResourceType != "":
		key = auditKey(keyType, q.ResourceType)
	default:
		keyed = false
	}
	var rows *sql.Rows
	var err error
	if keyed {
		rows, err = a.r.QueryContext(ctx, `SELECT c.first_seq, c.max_at, c.data FROM audit_key k JOIN audit_chunk c ON c.first_seq = k.chunk
WHERE k.key = ? AND k.max_at >= ? AND c.min_at < ? AND c.min_at <= ? ORDER BY k.max_at DESC, k.chunk DESC`, key, since, until, upto)
	} else {
		rows, err = a.r.QueryContext(ctx, `SELECT first_seq, max_at, data FROM audit_chunk
WHERE max_at >= ? AND min_at < ? AND min_at <= ? ORDER BY max_at DESC, first_seq DESC`, since, until, upto)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	match := func(r *store.AuditRecord) bool {
		at := sqlstore.Micros(r.Time)
		switch {
		case at < since || at >= until:
		case cur != nil && (at > cur.At || at == cur.At && r.Seq >= cur.Seq):
		case q.Subject != "" && r.Subject != q.Subject:
		case q.ResourceType != "" && r.ResourceType != q.ResourceType:
		case q.ID != "" && r.ID != q.ID:
		case q.Allowed != nil && r.Allowed != *q.Allowed:
		default:
			return true
		}
		return false
	}
	var out []store.AuditRecord
	var dec []store.AuditRecord
	for rows.Next() {
		var first, maxAt int64
		var data []byte
		if err := rows.Scan(&first, &maxAt, &data); err != nil {
			return nil, err
		}
		// Chunks come by their newest record, newest first: once a page
		// and one are found and this chunk's newest is older than the
		// last of them, no later chunk can hold a better one.
		if len(out) > n && maxAt < sqlstore.Micros(out[n].Time) {
			break
		}
		if dec, err = decodeChunk(dec[:0], data, first); err != nil {
			return nil, fmt.Errorf("audit chunk %d: %w", first, err)
		}
		for i := range dec {
			if match(&dec[i]) {
				out = append(out, dec[i])
			}
		}
		sortAudit(out)
		if len(out) > n+1 {
			out = out[:n+1]
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// sortAudit orders records newest first: by time, then by Seq.
func sortAudit(recs []store.AuditRecord) {
	slices.SortFunc(recs, func(x, y store.AuditRecord) int {
		if c := y.Time.Compare(x.Time); c != 0 {
			return c
		}
		switch {
		case x.Seq > y.Seq:
			return -1
		case x.Seq < y.Seq:
			return 1
		}
		return 0
	})
}

// The chunk encoding (version 1): a version byte; the chunk's distinct
// strings (count, then each as length and bytes); the records (count, then
// for each: its time as microseconds after the chunk's earliest, a flag
// byte (1 demo, 2 allowed) and the nine text fields as indexes into the
// strings). All numbers are unsigned varints; the chunk's earliest time is
// the row's min_at, repeated here (a signed varint) so the blob is whole.
const chunkVersion = 1

type chunkEncoder struct {
	strs  map[string]uint64
	order []string
	buf   []byte
	recs  []byte
}

func (e *chunkEncoder) encode(c []store.AuditRecord) (data []byte, minAt, maxAt int64) {
	if e.strs == nil {
		e.strs = map[string]uint64{}
	}
	clear(e.strs)
	e.order = e.order[:0]
	minAt, maxAt = math.MaxInt64, math.MinInt64
	for i := range c {
		at := sqlstore.Micros(c[i].Time)
		minAt, maxAt = min(minAt, at), max(maxAt, at)
	}
	str := func(s string) {
		i, ok := e.strs[s]
		if !ok {
			i = uint64(len(e.order))
			e.strs[s] = i
			e.order = append(e.order, s)
		}
		e.recs = binary.AppendUvarint(e.recs, i)
	}
	e.recs = e.recs[:0]
	for i := range c {
		r := &c[i]
		e.recs = binary.AppendUvarint(e.recs, uint64(sqlstore.Micros(r.Time)-minAt))
		var flags byte
		if r.Demo {
			flags |= 1
		}
		if r.Allowed {
			flags |= 2
		}
		e.recs = append(e.recs, flags)
		for _, s := range [...]string{r.Subject, r.Role, r.Organization, r.Action, r.ResourceType, r.ID, r.Operation, r.Source, r.Reason} {
			str(s)
		}
	}
	b := append(e.buf[:0], chunkVersion)
	b = binary.AppendVarint(b, minAt)
	b = binary.AppendUvarint(b, uint64(len(e.order)))
	for _, s := range e.order {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(c)))
	b = append(b, e.recs...)
	e.buf = b
	return b, minAt, maxAt
}

var errBadChunk = errors.New("not a valid audit chunk")

// decodeChunk appends the records of a chunk whose first record is first.
func decodeChunk(out []store.AuditRecord, data []byte, first int64) ([]store.AuditRecord, error) {
	if len(data) == 0 || data[0] != chunkVersion {
		return out, errBadChunk
	}
	all := string(data) // one allocation; the fields are substrings of it
	p := 1
	uv := func() (uint64, bool) {
		v, k := binary.Uvarint(data[p:])
		if k <= 0 {
			return 0, false
		}
		p += k
		return v, true
	}
	minAt, k := binary.Varint(data[p:])
	if k <= 0 {
		return out, errBadChunk
	}
	p += k
	ns, ok := uv()
	if !ok || ns > uint64(len(data)) {
		return out, errBadChunk
	}
	strs := make([]string, ns)
	for i := range strs {
		l, ok := uv()
		if !ok || l > uint64(len(data)-p) {
			return out, errBadChunk
		}
		strs[i] = all[p : p+int(l)]
		p += int(l)
	}
	nr, ok := uv()
	if !ok || nr > uint64(len(data)) {
		return out, errBadChunk
	}
	var f [9]string
	for i := range nr {
		d, ok := uv()
		if !ok || p >= len(data) {
			return out, errBadChunk
		}
		flags := data[p]
		p++
		for j := range f {
			si, ok := uv()
			if !ok || si >= ns {
				return out, errBadChunk
			}
			f[j] = strs[si]
		}
		out = append(out, store.AuditRecord{
			Seq: first + int64(i), Time: time.UnixMicro(minAt + int64(d)).UTC(),
			Subject: f[0], Role: f[1], Organization: f[2], Demo: flags&1 != 0, Action: f[3],
			ResourceType: f[4], ID: f[5], Operation: f[6], Source: f[7], Allowed: flags&2 != 0, Reason: f[8],
		})
	}
	return out, nil
}
