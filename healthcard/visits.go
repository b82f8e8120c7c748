package healthcard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/store"
)

// A first visit journaled (decision 031): the institution's new record is
// an intent appended to a journal beside the database and fsynced (group
// sync: concurrent first visits share one write and one fsync) before the
// resolve answers; an applier goroutine writes it to the store right
// behind the answer through the Transactor, as createLocal did, and the
// intent leaves the journal only once its write committed. The record's
// id and MRN derive from the master and the institution (localIdentity),
// so the write is idempotent: a crash's intents are applied again at
// start, a record already present being skipped.
//
// The journal is a series of segment files (visits-<n>.jsonl); no file
// I/O happens under the lock a resolve takes (decision 034): a resolve
// adds its line to a buffer, and one of the waiting resolves writes the
// buffer and fsyncs it for all; the applier starts a new segment once
// the current one is large, and removes a segment once every intent in
// it is in the store. A segment is never truncated (a truncate waited up
// to 100 ms for the file system under load, holding the lock every first
// visit needed) and no "done" line is written: a start applies every
// intent of the segments left, those already in the store as no-ops.

// intent is one journaled first visit.
type intent struct {
	ID            string           `json:"id"` // unique per intent
	Master        string           `json:"master"`
	MasterVersion int64            `json:"masterVersion"` // the version the resolve read
	Org           string           `json:"org"`           // the institution's Organization id
	OrgName       string           `json:"orgName,omitempty"`
	InstCode      string           `json:"instCode"`
	MRNSystem     string           `json:"mrnSystem"`
	Local         string           `json:"local"`
	MRN           string           `json:"mrn"`
	Principal     access.Principal `json:"principal"`
	At            time.Time        `json:"at"`

	answered time.Time     // when the resolve could answer (synced)
	ready    chan struct{} // closed once synced (or failed: syncErr)
	syncErr  error
	applied  chan struct{} // closed once written (or dropped, or its sync failed)
	finished bool          // under visits.mu
	failing  bool          // under visits.mu: its last write failed; tried again after retry
	seg      *segment      // under visits.mu: the file it is written to (nil while buffered)
}

func (in *intent) key() string { return in.Master + "|" + in.InstCode }

// visitLine is one line of the journal: an intent, or (in a file of the
// journal's first version, one file truncated when idle) that one is done.
type visitLine struct {
	Op     string  `json:"op"` // "intent" or "done"
	Intent *intent `json:"intent,omitempty"`
	ID     string  `json:"id,omitempty"` // of the done intent
}

// visitsFile is the journal's file in its first version (one file,
// truncated when idle, "done" lines); a crash's is still read at start.
// Segments are visitsPrefix + a 20-digit number + visitsSuffix.
const visitsFile, visitsLock = "visits.jsonl", "visits.lock"
const visitsPrefix, visitsSuffix = "visits-", ".jsonl"

// maxSegment is the size past which the applier starts a new segment: a
// start applies at most about this much of intents already in the store
// again (a point read each, ~600 intents).
const maxSegment = 256 << 10

// segment is one file of the journal.
type segment struct {
	f    *os.File // nil for a crash's file (read, not written)
	name string
	size int64 // bytes written (under visits.mu)
	open int   // intents in it not yet finished (under visits.mu)
}

// visits is the first-visit journal and its applier.
type visits struct {
	tx  Transactor
	st  store.Reader
	log *slog.Logger
	dir string

	lock *os.File

	mu      sync.Mutex
	cond    *sync.Cond
	cur     *segment           // where the next write goes
	buf     []byte             // lines journaled and not yet written
	bufIn   []*intent          // their intents
	written uint64             // intents journaled (buffered)
	synced  uint64             // intents known durable
	syncing bool               // a resolve is writing and syncing the buffer (the only file I/O but the applier's rotation)
	seq     uint64             // the newest segment's number
	dead    []*segment         // segments with no open intent left, not current: removed by the applier
	broken  error              // a failed append or fsync: first visits go the synchronous way
	pending map[string]*intent // by key: journaled, not yet committed in the store
	queue   []*intent          // synced, for the applier, oldest first
	left    []*intent          // a crash's, queued by recover
	// applying: a batch is being written; retrying: the last batch
	// failed and waits to be tried again (flush does not wait for it).
	applying, retrying bool

	lagMu sync.Mutex
	lags  []time.Duration // answer → committed, for the benchmark

	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	idle    chan struct{} // signalled when the queue empties (Flush)
	retry   time.Duration
	once    sync.Once

	unapplied atomic.Int64 // intents journaled and not yet written (await's fast path)

	syncFile   func(*os.File) error // (*os.File).Sync; tests hold it
	syncDir    func(string) error   // syncDir; tests hold it (a new segment's name)
	maxPending int                  // maxPendingVisits; tests lower it
	maxSegment int64                // maxSegment; tests lower it
}

// maxVisitBatch bounds the intents one transaction applies.
const maxVisitBatch = 64

// maxPendingVisits bounds the intents waiting for the store; a first
// visit beyond it takes the synchronous path (errBacklog).
const maxPendingVisits = 32

var errBacklog = errors.New("first-visit journal: too many records waiting for the store")

// openVisits opens the journal in dir and returns it with the intents a
// crash left (queued, not yet applied: start applies them). Another
// process holding the lock gets errJournalBusy.
func openVisits(dir string, tx Transactor, st store.Reader, log *slog.Logger) (_ *visits, err error) {
	lock, err := openJournalDir(dir, visitsLock)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	v := &visits{tx: tx, st: st, log: log, dir: dir, lock: lock, pending: map[string]*intent{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{}), idle: make(chan struct{}, 1), retry: time.Second,
		syncFile: (*os.File).Sync, syncDir: syncDir, maxPending: maxPendingVisits, maxSegment: maxSegment}
	v.cond = sync.NewCond(&v.mu)
	files, err := visitFiles(dir)
	if err != nil {
		return nil, err
	}
	var left []*intent
	var empty []string
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if n, ok := segmentNumber(name, visitsPrefix, visitsSuffix); ok {
			v.seq = max(v.seq, n)
		}
		ins := parseVisits(data)
		if len(ins) == 0 {
			empty = append(empty, name)
			continue
		}
		// A crash's file: read, never written again (a torn last line in
		// it stays where it is), removed once its intents are applied.
		seg := &segment{name: name, open: len(ins)}
		for _, in := range ins {
			in.seg = seg
		}
		left = append(left, ins...)
	}
	// This process writes a segment of its own.
	if v.cur, err = v.newSegment(); err != nil {
		return nil, err
	}
	for _, name := range empty {
		os.Remove(name)
	}
	go v.run()
	for _, in := range left {
		in.ready, in.applied = make(chan struct{}), make(chan struct{})
		close(in.ready)
		v.unapplied.Add(1)
		in.answered = time.Time{}                // before this process: no lag recorded
		if _, dup := v.pending[in.key()]; !dup { // a second of one pair is applied as a no-op
			v.pending[in.key()] = in
		}
		v.left = append(v.left, in)
	}
	return v, nil
}

// visitFiles are the journal's files in dir, oldest first: the first
// version's single file, then the segments.
func visitFiles(dir string) ([]string, error) {
	names, _, err := listSegments(dir, visitsPrefix, visitsSuffix)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(filepath.Join(dir, visitsFile)); err == nil {
		names = append([]string{filepath.Join(dir, visitsFile)}, names...)
	}
	return names, nil
}

// newSegment creates the next segment file and makes its name durable
// (before any intent is synced into it). Called at open and by the
// applier, never under v.mu.
func (v *visits) newSegment() (*segment, error) {
	v.seq++
	f, err := createSegment(v.dir, visitsPrefix, visitsSuffix, v.seq)
	if err != nil {
		return nil, err
	}
	if err := v.syncDir(v.dir); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &segment{f: f, name: f.Name()}, nil
}

// parseVisits returns the intents in a journal file's contents not
// marked done, oldest first. A line that does not parse (a crash's torn
// last line) is skipped.
func parseVisits(data []byte) []*intent {
	var order []*intent
	done := map[string]bool{}
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var l visitLine
		if err := json.Unmarshal(line, &l); err != nil {
			continue
		}
		switch {
		case l.Op == "intent" && l.Intent != nil && l.Intent.ID != "" && l.Intent.Master != "" && l.Intent.Local != "":
			order = append(order, l.Intent)
		case l.Op == "done":
			done[l.ID] = true
		}
	}
	return slices.DeleteFunc(order, func(in *intent) bool { return done[in.ID] })
}

// recover queues the intents a crash left, first, and waits until they
// are applied (or failed, to be tried again).
func (v *visits) recover() {
	v.mu.Lock()
	if len(v.left) > 0 {
		v.log.Info("first-visit journal: writing the records a crash left", "count", len(v.left))
	}
	v.queue = append(v.left, v.queue...)
	v.left = nil
	v.mu.Unlock()
	v.flush()
}

func (v *visits) kick() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// journal appends in and waits until it is durable (group sync). It
// returns the pending intent of the same pair instead when there is one
// (waiting for it to be durable): the second resolve answers from it.
// An error means nothing was journaled by this call and the caller must
// take the synchronous path.
func (v *visits) journal(in *intent) (got *intent, fresh bool, err error) {
	v.mu.Lock()
	if v.broken != nil {
		err := v.broken
		v.mu.Unlock()
		return nil, false, err
	}
	if p := v.pending[in.key()]; p == nil && len(v.pending) >= v.maxPending {
		// The applier is behind (a burst above what the store writes, or a
		// store refusing writes): this first visit writes its record before
		// answering, so that the backlog, the lag and a read's wait stay
		// bounded.
		v.mu.Unlock()
		return nil, false, errBacklog
	} else if p != nil {
		v.mu.Unlock()
		<-p.ready
		if p.syncErr != nil {
			return nil, false, p.syncErr
		}
		return p, false, nil
	}
	line, err := json.Marshal(visitLine{Op: "intent", Intent: in})
	if err != nil {
		v.mu.Unlock()
		return nil, false, err
	}
	v.buf = append(append(v.buf, line...), '\n')
	v.bufIn = append(v.bufIn, in)
	in.ready, in.applied = make(chan struct{}), make(chan struct{})
	v.pending[in.key()] = in
	v.unapplied.Add(1)
	v.written++
	seq := v.written
	err = v.waitSyncedLocked(seq)
	if err != nil {
		// Maybe durable, maybe not: the journal is not trusted any more
		// (after a failed fsync the kernel may have dropped the pages).
		// The caller writes the record synchronously; should the intent
		// have survived, a start applies it as a no-op.
		delete(v.pending, in.key())
		in.syncErr = err
		close(in.ready)
		close(in.applied)
		v.unapplied.Add(-1)
		if in.seg != nil {
			in.seg.open-- // left in the file, which a start reads
		}
		v.mu.Unlock()
		return nil, false, err
	}
	in.answered = time.Now()
	close(in.ready)
	v.queue = append(v.queue, in)
	v.mu.Unlock()
	v.kick()
	return in, true, nil
}

// waitSyncedLocked returns once the intent numbered seq is durable: the
// first waiter with no write in flight takes every line buffered so far,
// appends them to the current segment and fsyncs it, outside v.mu; the
// others wait for it (v.mu held on entry and return). A write cut short
// is taken back; a failed write or fsync breaks the journal.
func (v *visits) waitSyncedLocked(seq uint64) error {
	for v.synced < seq {
		if v.broken != nil {
			return v.broken
		}
		if v.syncing {
			v.cond.Wait()
			continue
		}
		v.syncing = true
		// The file is taken under the lock: close sets seg.f to nil.
		seg, f, data, ins, target := v.cur, v.cur.f, v.buf, v.bufIn, v.written
		v.buf, v.bufIn = nil, nil
		for _, in := range ins {
			in.seg = seg
		}
		seg.open += len(ins)
		v.mu.Unlock()
		err := appendLines(f, data)
		if err == nil {
			err = v.syncFile(f)
		}
		v.mu.Lock()
		v.syncing = false
		if err != nil {
			v.broken = fmt.Errorf("first-visit journal: %w", err)
		} else {
			v.synced = target
			seg.size += int64(len(data))
		}
		v.cond.Broadcast()
	}
	return nil
}

// run applies the queued intents as they come, in batches.
func (v *visits) run() {
	defer close(v.stopped)
	for {
		select {
		case <-v.wake:
		case <-v.stop:
			v.applyAll(true)
			return
		}
		v.applyAll(false)
	}
}

// applyAll applies what is queued until the queue is empty, or until a
// batch fails (tried again after v.retry, or at the next start if the
// node stops: final).
func (v *visits) applyAll(final bool) {
	for {
		v.mu.Lock()
		batch := v.takeBatchLocked()
		v.applying = len(batch) > 0
		v.mu.Unlock()
		if len(batch) == 0 {
			select {
			case v.idle <- struct{}{}:
			default:
			}
			return
		}
		failed := v.apply(batch)
		v.maintain()
		v.mu.Lock()
		v.applying = false
		for _, in := range failed {
			in.failing = true // its next try is v.retry away: beyond a read's wait
		}
		v.queue = append(failed, v.queue...)
		v.retrying = len(failed) > 0
		v.mu.Unlock()
		if len(failed) > 0 {
			if final {
				return // left in the journal for the next start
			}
			select {
			case <-time.After(v.retry):
			case <-v.stop:
				return // run tries once more, then the journal keeps them
			}
		}
	}
}

// takeBatchLocked takes up to maxVisitBatch queued intents of one
// principal and distinct masters (two intents of one master would each
// rewrite it where no EMPI keeps it).
func (v *visits) takeBatchLocked() []*intent {
	if len(v.queue) == 0 {
		return nil
	}
	first := v.queue[0]
	batch := []*intent{first}
	masters := map[string]bool{first.Master: true}
	rest := v.queue[:0:0]
	for _, in := range v.queue[1:] {
		if len(batch) < maxVisitBatch && in.Principal == first.Principal && !masters[in.Master] {
			batch = append(batch, in)
			masters[in.Master] = true
		} else {
			rest = append(rest, in)
		}
	}
	v.queue = rest
	return batch
}

// apply writes a batch: one transaction when it can, else one by one;
// returns the intents not written (a conflict is retried here first).
func (v *visits) apply(batch []*intent) (failed []*intent) {
	ctx := access.WithPrincipal(context.Background(), batch[0].Principal)
	if len(batch) > 1 {
		var entries []any
		var todo []*intent // read and to write; the skipped are finished
		failedAt := -1
		for i, in := range batch {
			e, skip, err := v.entries(ctx, in)
			if err != nil {
				failedAt = i
				break
			}
			if skip {
				v.finish(in)
				continue
			}
			entries = append(entries, e...)
			todo = append(todo, in)
		}
		if failedAt >= 0 {
			batch = append(todo, batch[failedAt:]...)
		} else {
			if len(todo) == 0 {
				return nil
			}
			if _, err := v.tx.Transaction(ctx, obj{"resourceType": "Bundle", "type": "transaction", "entry": entries}); err == nil {
				for _, in := range todo {
					v.finish(in)
				}
				return nil
			}
			batch = todo
		}
		// One of them stands in the way (a conflict, a master that
		// changed, a read that failed): each on its own.
	}
	for _, in := range batch {
		if err := v.applyOne(ctx, in); err != nil {
			v.log.Error("first-visit journal: record not written yet; tried again", "local", in.Local, "master", in.Master, "err", err)
			failed = append(failed, in)
		}
	}
	return failed
}

// applyOne writes one intent, re-reading the master on a conflict.
func (v *visits) applyOne(ctx context.Context, in *intent) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var e []any
		var skip bool
		e, skip, err = v.entries(ctx, in)
		if err != nil {
			return err
		}
		if skip {
			v.finish(in)
			return nil
		}
		_, err = v.tx.Transaction(ctx, obj{"resourceType": "Bundle", "type": "transaction", "entry": e})
		if err == nil {
			v.finish(in)
			return nil
		}
		if !isConflict(err) {
			return err
		}
	}
	return err
}

// errMasterGone: the intent's master was deleted (or retired without a
// successor) before its record was written.
var errMasterGone = errors.New("the master is gone")

// entries are the transaction entries that write in's record, read
// against the store now; skip: nothing to write (the record is there, or
// its master is gone: the intent is dropped, logged).
func (v *visits) entries(ctx context.Context, in *intent) ([]any, bool, error) {
	// Idempotent: the record, once written, is left as it is (a client or
	// the EMPI may have changed it since; deleted, it stays deleted).
	switch _, err := v.st.Read(ctx, "Patient", in.Local); {
	case err == nil, errors.Is(err, store.ErrGone):
		return nil, true, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, false, err
	}
	m, err := v.currentMaster(ctx, in.Master)
	if errors.Is(err, errMasterGone) {
		v.log.Warn("first-visit journal: the master was deleted before the institution's record was written; the record is not created", "master", in.Master, "local", in.Local, "institution", in.InstCode)
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return localEntries(m, in.Local, in.MRN, in.MRNSystem, in.Org, in.OrgName), false, nil
}

// currentMaster reads the master an intent names now, following a merge
// (a retired master's replaced-by link) to the master that has its
// records.
func (v *visits) currentMaster(ctx context.Context, id string) (obj, error) {
	for range 4 {
		b, err := v.st.Read(ctx, "Patient", id)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrGone) {
			return nil, errMasterGone
		}
		if err != nil {
			return nil, err
		}
		m, err := decode(b)
		if err != nil {
			return nil, err
		}
		if m["active"] != false {
			return m, nil
		}
		next := linkTargets(m, "replaced-by")
		if len(next) == 0 {
			return nil, errMasterGone
		}
		id = next[0]
	}
	return nil, errMasterGone
}

// finish marks in done: out of the pending set (later resolves read the
// store) and its segment's open count (the applier removes a segment, not
// the current one, with none open). No file I/O: a resolve may be
// waiting for v.mu.
func (v *visits) finish(in *intent) {
	now := time.Now()
	v.mu.Lock()
	defer v.mu.Unlock()
	if in.finished {
		return
	}
	in.finished = true
	if v.pending[in.key()] == in {
		delete(v.pending, in.key())
	}
	close(in.applied)
	v.unapplied.Add(-1)
	if !in.answered.IsZero() {
		v.lagMu.Lock()
		if len(v.lags) < 1<<20 {
			v.lags = append(v.lags, now.Sub(in.answered))
		}
		v.lagMu.Unlock()
	}
	if seg := in.seg; seg != nil {
		seg.open--
		if seg.open == 0 && seg != v.cur {
			v.dead = append(v.dead, seg)
		}
	}
}

// maintain removes the segments whose intents are all in the store and,
// once the current segment is past maxSegment, starts the next: the
// applier's file work, done outside v.mu (the new file is created and
// its name synced before it becomes current).
func (v *visits) maintain() {
	v.mu.Lock()
	dead := v.dead
	v.dead = nil
	broken := v.broken != nil
	full := !broken && v.cur.size >= v.maxSegment
	v.mu.Unlock()
	if full {
		if next, err := v.newSegment(); err != nil {
			v.log.Error("first-visit journal: cannot start a new segment; the current one keeps growing", "err", err)
		} else {
			v.mu.Lock()
			old := v.cur
			v.cur = next
			if old.open == 0 { // else its last finish marks it dead
				dead = append(dead, old)
			}
			v.mu.Unlock()
		}
	}
	if broken {
		return // what the journal holds stays for the next start
	}
	for _, seg := range dead {
		if seg.f != nil {
			seg.f.Close()
		}
		os.Remove(seg.name)
	}
}

// flush waits until every intent queued so far is applied (or failed
// and waiting to be tried again).
func (v *visits) flush() {
	for {
		v.mu.Lock()
		busy := (len(v.queue) > 0 && !v.retrying) || v.applying
		v.mu.Unlock()
		if !busy {
			return
		}
		v.kick()
		select {
		case <-v.idle:
		case <-time.After(10 * time.Millisecond):
		case <-v.stopped:
			return
		}
	}
}

// close applies what is queued, then closes the journal (left with the
// intents that could not be written, for the next start).
func (v *visits) close() {
	v.once.Do(func() { close(v.stop) })
	<-v.stopped
	v.maintain()
	v.mu.Lock()
	defer v.mu.Unlock()
	if cur := v.cur; cur != nil && cur.f != nil {
		cur.f.Close()
		cur.f = nil
		if cur.open == 0 && len(v.bufIn) == 0 && v.broken == nil {
			os.Remove(cur.name) // a clean stop leaves no file
		}
	}
	v.lock.Close()
}

// await waits until the intents journaled before the call are written
// (or dropped, or failed past max): a read that may name a record not yet
// in the store sees it (decision 031).
func (v *visits) await(ctx context.Context, max time.Duration) {
	if v.unapplied.Load() == 0 {
		return
	}
	v.mu.Lock()
	var chans []chan struct{}
	for _, in := range v.pending {
		if !in.failing {
			chans = append(chans, in.applied)
		}
	}
	v.mu.Unlock()
	if len(chans) == 0 {
		return
	}
	t := time.NewTimer(max)
	defer t.Stop()
	for _, c := range chans {
		select {
		case <-c:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// takeLags returns and forgets the lags recorded so far.
func (v *visits) takeLags() []time.Duration {
	v.lagMu.Lock()
	defer v.lagMu.Unlock()
	l := v.lags
	v.lags = nil
	return l
}
