package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

// pointReaders serve Read and VRead, the hottest queries of the node (every
// GET [base]/[type]/[id]), below database/sql: each connection of the pool
// holds the two statements prepared at the driver level and is taken from
// a channel. Through database/sql a point read paid for the pool, its
// locking, the argument conversion and the Rows wrapper about as much as
// the lookup itself (docs/decisions/016-read-and-ingest-cpu.md:
// BenchmarkPointRead, 12-13 against 16-23 µs of CPU per read).
//
// The connections are opened like the search pool's (query_only, the file
// memory-mapped). Without mmap_size they were measured far slower as soon
// as anything commits: every commit empties a WAL reader's page cache, and
// reloading pages into it (allocating, pread, freeing at the next commit)
// cost more than parsing mapped pages again.
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
// microseconds; watching a context costs the driver a goroutine per query),
// as decision 006 established for the pool before.
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

type pointConn struct {
	conn  driver.Conn
	read  driver.StmtQueryContext
	vread driver.StmtQueryContext
	stmts []driver.Stmt
	dest  []driver.Value

	begin, end driver.StmtExecContext // BEGIN, COMMIT
	inTx       bool                   // a read transaction is open
	txGen      int64                  // the commit generation read before it began
	txStart    time.Time
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

func openPointReaders(d driver.Driver, dsn string, n int, gen func() int64) (*pointReaders, error) {
	p := &pointReaders{sem: make(chan struct{}, n), closed: make(chan struct{}), gen: gen}
	for range n {
		c, err := openPointConn(d, dsn)
		if err != nil {
			p.close()
			return nil, err
		}
		p.all = append(p.all, c)
		p.free = append(p.free, c)
	}
	return p, nil
}

func openPointConn(d driver.Driver, dsn string) (*pointConn, error) {
	conn, err := d.Open(dsn)
	if err != nil {
		return nil, err
	}
	pc := &pointConn{conn: conn, dest: make([]driver.Value, 5)}
	for _, q := range []string{pointReadSQL, pointVReadSQL} {
		st, err := conn.Prepare(q)
		if err != nil {
			pc.close()
			return nil, fmt.Errorf("sqlite: prepare point read: %w", err)
		}
		pc.stmts = append(pc.stmts, st)
		sq, ok := st.(driver.StmtQueryContext)
		if !ok {
			pc.close()
			return nil, errors.New("sqlite: the driver's statements lack QueryContext")
		}
		if pc.read == nil {
			pc.read = sq
		} else {
			pc.vread = sq
		}
	}
	for _, q := range []string{"BEGIN", "COMMIT"} {
		st, err := conn.Prepare(q)
		if err != nil {
			pc.close()
			return nil, fmt.Errorf("sqlite: prepare point read: %w", err)
		}
		pc.stmts = append(pc.stmts, st)
		se, ok := st.(driver.StmtExecContext)
		if !ok {
			pc.close()
			return nil, errors.New("sqlite: the driver's statements lack ExecContext")
		}
		if pc.begin == nil {
			pc.begin = se
		} else {
			pc.end = se
		}
	}
	return pc, nil
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
	if _, err := c.begin.ExecContext(context.Background(), nil); err != nil {
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
	if _, err := c.end.ExecContext(context.Background(), nil); err != nil {
		// A read transaction cannot fail to end; should it, the next BEGIN
		// fails and reports it.
		return
	}
}

func (pc *pointConn) close() error {
	var errs []error
	for _, st := range pc.stmts {
		errs = append(errs, st.Close())
	}
	return errors.Join(append(errs, pc.conn.Close())...)
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
	var (
		rows driver.Rows
		err  error
	)
	// context.Background: no Done channel, so the driver starts no
	// goroutine to watch it.
	if version == 0 {
		rows, err = c.read.QueryContext(context.Background(), []driver.NamedValue{{Ordinal: 1, Value: typ}, {Ordinal: 2, Value: id}})
	} else {
		rows, err = c.vread.QueryContext(context.Background(), []driver.NamedValue{{Ordinal: 1, Value: typ}, {Ordinal: 2, Value: id}, {Ordinal: 3, Value: version}})
	}
	if err != nil {
		return nil, err
	}
	err = rows.Next(c.dest)
	if err == io.EOF {
		if err := rows.Close(); err != nil {
			return nil, err
		}
		return nil, store.ErrNotFound
	}
	if err != nil {
		rows.Close()
		return nil, err
	}
	v, err := sqlstore.VersionFromValues(typ, id, c.dest)
	clear(c.dest)
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}
