package healthcard

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/store"
)

// use is one use of a card, before it becomes an AuditEvent.
type use struct {
	event    string // issue, revoke, resolve
	at       time.Time
	card     string
	codeType int
	master   string
	local    string
	org      obj // the institution (resolve), nil otherwise
	instCode string
	city     string
	channel  string
	careStep string
	reason   string
	subject  string // the acting principal
}

var eventNames = map[string]string{"issue": "发卡 issue", "revoke": "注销 revoke", "resolve": "用卡 resolve"}

// record queues the AuditEvent of a use.
func (s *Service) record(ctx context.Context, u use) {
	s.uses.add(s.stamp(ctx, u, s.cfg.Now().UTC()))
}

// stamp is the AuditEvent of u, made at at by the request's principal.
func (s *Service) stamp(ctx context.Context, u use, at time.Time) obj {
	u.at = at
	u.subject, _ = principalRef(ctx)
	return auditEvent(u)
}

// auditEvent is the FHIR shape of a use (documented in doc.go).
func auditEvent(u use) obj {
	action := "E"
	if u.event == "issue" {
		action = "C"
	} else if u.event == "revoke" {
		action = "U"
	}
	ev := obj{
		"resourceType": "AuditEvent",
		"type":         obj{"system": SystemAuditEventType, "code": AuditEventType, "display": "电子健康卡 e-health card use"},
		"subtype":      []any{obj{"system": SystemCardEvent, "code": u.event, "display": eventNames[u.event]}},
		"action":       action,
		"recorded":     u.at.Format("2006-01-02T15:04:05.000Z07:00"),
		"outcome":      "0",
	}
	var agents []any
	source := obj{"observer": obj{"display": "协同平台 Xietong platform"}}
	if u.org != nil {
		ref := obj{"reference": "Organization/" + str(u.org["id"]), "identifier": obj{"system": SystemInstitutionCode, "value": u.instCode}}
		if n := str(u.org["name"]); n != "" {
			ref["display"] = n
		}
		agents = append(agents, obj{"who": ref, "requestor": true})
		source["observer"] = ref
	}
	if u.subject != "" {
		agents = append(agents, obj{"who": obj{"identifier": obj{"system": "https://xietong.dev/fhir/sid/principal", "value": u.subject}}, "requestor": u.org == nil})
	}
	if len(agents) == 0 {
		agents = append(agents, obj{"who": obj{"display": "协同平台 Xietong platform"}, "requestor": true})
	}
	ev["agent"] = agents
	if u.city != "" {
		source["site"] = u.city
	}
	if u.channel != "" {
		source["type"] = []any{obj{"system": SystemChannel, "code": u.channel, "display": Channels[u.channel]}}
	}
	ev["source"] = source
	if u.careStep != "" {
		ev["purposeOfEvent"] = []any{obj{"coding": []any{obj{"system": SystemCareStep, "code": u.careStep, "display": CareSteps[u.careStep]}}}}
	}
	detail := []any{obj{"type": "card-id", "valueString": u.card}}
	if u.event == "resolve" {
		kind := "dynamic"
		if u.codeType == TypeStatic {
			kind = "static"
		}
		detail = append(detail, obj{"type": "code-type", "valueString": kind})
	}
	if u.reason != "" {
		detail = append(detail, obj{"type": "reason", "valueString": u.reason})
	}
	role := obj{"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}
	entities := []any{obj{"what": obj{"reference": "Patient/" + u.master}, "role": role, "detail": detail}}
	if u.local != "" && u.local != u.master {
		entities = append(entities, obj{"what": obj{"reference": "Patient/" + u.local}, "role": role, "description": "the institution's own record"})
	}
	ev["entity"] = entities
	return ev
}

// recorder writes the use AuditEvents in transaction Bundles from one
// goroutine.
//
// Without a journal a use waits at most interval in memory and is written
// with POST (decision 007). With one (decision 024), every interval the
// uses queued since the last tick are appended to the journal and synced,
// so a crash still loses at most interval of uses, and they become
// AuditEvents once the oldest has waited writeEvery or maxBatch wait. A
// commit costs mostly the pages it writes, which the records of one
// transaction share, so fewer, larger commits cost less per use. Each
// journaled use carries its own id in meta.source (SourceUses + "#" +
// id, searchable as _source), so that after a crash only the uses the
// store lacks are written; they are created with POST all the same (a
// PUT under a client id costs the write a look-up of the id per use).
type recorder struct {
	tx         Transactor
	st         store.Reader
	log        *slog.Logger
	interval   time.Duration
	writeEvery time.Duration

	j *journal // nil: no journal; set under mu, used by the run goroutine only
	// lockDir is the journal folder whose lock another process held at
	// start (an import, a node still stopping): the run goroutine tries
	// the lock again every lockRetry and takes the journal over.
	lockDir  string
	lockNext time.Time
	replay   []obj    // a crash's records read at start, written by recover
	replayed []string // their files

	mu       sync.Mutex
	pending  []obj     // uses not yet in the store, oldest first
	unsynced int       // how many at the end of pending the journal lacks
	since    time.Time // when the oldest pending was queued

	// The store writes run on a goroutine of their own (writer), so that
	// the journal keeps being synced every interval while a batch waits for
	// the store (another process's long transaction, say): run hands it one
	// batch at a time and removes the batch's file when it reports back.
	writes    chan writeJob
	written   chan writeJob
	inFlight  bool       // a batch is with the writer; run goroutine only
	failed    []writeJob // journaled batches whose write failed, retried in turn
	retryNext time.Time  // the interval's retries: at most one a writeEvery

	kick       chan struct{}
	flushReq   chan chan struct{}
	recoverReq chan chan struct{}
	done       chan struct{}
	once       sync.Once
}

const maxBatch = 500

// writeJob is a batch of uses for the store and the journal files that
// hold exactly them (none without a journal); ok is the writer's answer.
type writeJob struct {
	batch []obj
	files []string
	ok    bool
	// retry: the batch may be in the store in part (a failed write, a
	// crash's files): only what the store lacks is written.
	retry bool
}

func newRecorder(tx Transactor, st store.Reader, cfg Config) (*recorder, error) {
	r := &recorder{tx: tx, st: st, log: cfg.Logger, interval: cfg.FlushInterval, writeEvery: cfg.WriteInterval,
		kick: make(chan struct{}, 1), flushReq: make(chan chan struct{}), recoverReq: make(chan chan struct{}), done: make(chan struct{}),
		writes: make(chan writeJob), written: make(chan writeJob)}
	if cfg.JournalDir != "" {
		j, left, files, err := openJournal(cfg.JournalDir)
		switch {
		case errors.Is(err, errJournalBusy):
			// Another node serves this database: this one writes its
			// uses every interval, without a journal.
			r.log.Warn("health-card use journal held by another process; uses are written every "+r.interval.String()+" until it is free", "dir", cfg.JournalDir)
			r.lockDir, r.lockNext = cfg.JournalDir, time.Now().Add(lockRetry)
		case err != nil:
			return nil, fmt.Errorf("health-card use journal %s: %w", cfg.JournalDir, err)
		default:
			r.j, r.replay, r.replayed = j, left, files
		}
	}
	go r.writer()
	go r.run()
	return r, nil
}

// lockRetry is how often a recorder without its journal tries the lock.
const lockRetry = 2 * time.Second

// takeJournal takes the journal over once the process that held its lock
// at start has let it go, and writes what a crash of that process left
// there (the uses the store lacks), as a start would.
func (r *recorder) takeJournal() {
	if r.lockDir == "" || time.Now().Before(r.lockNext) {
		return
	}
	r.lockNext = time.Now().Add(lockRetry)
	j, left, files, err := openJournal(r.lockDir)
	if errors.Is(err, errJournalBusy) {
		return
	}
	if err != nil {
		r.log.Error("health-card use journal", "dir", r.lockDir, "err", err)
		return
	}
	r.log.Info("health-card use journal taken over", "dir", r.lockDir)
	r.mu.Lock()
	r.j, r.lockDir = j, ""
	r.mu.Unlock()
	r.replay, r.replayed = left, files
	r.recover()
}

// writer writes the batches run hands it, one at a time.
func (r *recorder) writer() {
	for job := range r.writes {
		if job.retry {
			todo, err := r.missing(job.batch)
			if err != nil {
				r.log.Error("health-card use journal: cannot tell which uses the store holds; tried again later", "count", len(job.batch), "err", err)
				r.written <- job // not ok
				continue
			}
			if job.ok = r.write(todo); job.ok && len(todo) > 0 {
				r.log.Info("health-card uses written from the journal", "count", len(todo))
			}
		} else {
			job.ok = r.write(job.batch)
		}
		r.written <- job
	}
}

// finished takes the writer's report: the batch's files go once its
// uses are in the store; a failed batch is tried again while the node
// runs (its files keep its uses for a start meanwhile).
func (r *recorder) finished(job writeJob) {
	r.inFlight = false
	switch {
	case job.ok && len(job.files) > 0:
		r.j.done(job.files)
	case !job.ok && len(job.files) > 0:
		r.failed = append(r.failed, job)
	}
}

// retry hands the oldest failed batch to the writer again, if it is idle.
func (r *recorder) retry() bool {
	if r.inFlight || len(r.failed) == 0 {
		return false
	}
	job := r.failed[0]
	r.failed = r.failed[1:]
	job.retry, job.ok = true, false
	r.inFlight = true
	r.writes <- job
	return true
}

// wait waits for the batch with the writer, if any.
func (r *recorder) wait() {
	if r.inFlight {
		r.finished(<-r.written)
	}
}

// drain writes every use queued so far and waits until they are written.
func (r *recorder) drain() {
	r.wait()
	for range len(r.failed) { // each failed batch once more
		r.retry()
		r.wait()
	}
	r.tick(true)
	r.wait()
}

func (r *recorder) add(ev obj) {
	r.mu.Lock()
	if r.j != nil {
		ev["meta"] = obj{"source": SourceUses + "#" + uuid()}
	}
	if len(r.pending) == 0 {
		r.since = time.Now()
	}
	r.pending = append(r.pending, ev)
	r.unsynced++
	n := len(r.pending)
	r.mu.Unlock()
	if n >= maxBatch {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

func (r *recorder) run() {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.takeJournal()
			r.tick(false)
			if time.Now().After(r.retryNext) && r.retry() {
				r.retryNext = time.Now().Add(r.writeEvery) // a batch that keeps failing is not hammered
			}
		case <-r.kick:
			r.tick(true)
		case job := <-r.written:
			r.finished(job)
			r.tick(false) // a batch that came due meanwhile
		case ack := <-r.flushReq:
			r.drain()
			close(ack)
		case ack := <-r.recoverReq:
			r.recover()
			r.wait()
			r.retry() // the crash's uses first: recover put them at the front
			r.wait()
			close(ack)
		case <-r.done:
			r.drain()
			close(r.writes)
			if r.j != nil {
				if err := r.j.close(); err != nil {
					r.log.Error("health-card use journal", "err", err)
				}
			}
			return
		}
	}
}

// tick syncs the uses queued since the last tick to the journal, and
// writes the pending ones when they are due (always without a journal;
// force: now). Only the recorder's goroutine touches the journal, and the
// lock is not held across its I/O: a resolve queuing a use never waits
// for a sync.
func (r *recorder) tick(force bool) {
	r.mu.Lock()
	var tail []obj
	if r.j != nil && r.unsynced > 0 {
		tail = slices.Clone(r.pending[len(r.pending)-r.unsynced:])
	}
	r.unsynced = 0
	n := len(r.pending)
	var batch []obj
	if n > 0 && !r.inFlight && (force || r.j == nil || n >= maxBatch || time.Since(r.since) >= r.writeEvery) {
		batch = r.pending
		r.pending = nil
	}
	r.mu.Unlock()
	if len(tail) > 0 {
		err := r.j.append(tail)
		if err == nil {
			err = r.j.sync()
		}
		if err != nil {
			// They are still written from memory, as without a journal.
			r.log.Error("health-card use journal: uses not synced", "count", len(tail), "err", err)
		}
	}
	if len(batch) == 0 {
		return
	}
	// The active file holds exactly the batch (every use taken since the
	// last rotation): it is removed once they are written.
	var files []string
	if r.j != nil {
		closed := len(r.j.closed)
		if err := r.j.rotate(); err != nil {
			r.log.Error("health-card use journal: rotate", "err", err)
		}
		if len(r.j.closed) > closed { // closed with the batch in it, even if the next did not open
			files = []string{r.j.closed[len(r.j.closed)-1]}
		}
	}
	r.inFlight = true
	r.writes <- writeJob{batch: batch, files: files}
}

// recover queues the records a crash left in the journal (read when it
// was opened) for the writer, first, as a retry: only those the store
// does not hold yet are written, then their files are removed. The run
// goroutine does not wait for it, so the journal keeps being synced.
func (r *recorder) recover() {
	evs, files := r.replay, r.replayed
	r.replay, r.replayed = nil, nil
	if len(files) > 0 {
		r.failed = append([]writeJob{{batch: evs, files: files}}, r.failed...)
	}
}

// missing returns the journaled uses the store does not hold (by their
// meta.source): after a crash, or when a batch's write failed part-way.
// An error of the store is returned, not read as "missing": that would
// write uses already stored a second time.
func (r *recorder) missing(evs []obj) ([]obj, error) {
	var todo []obj
	for _, ev := range evs {
		res, err := r.st.Search(context.Background(), &store.Query{Types: []string{"AuditEvent"}, Count: 1, Total: store.TotalNone,
			Where: []store.Clause{{{Param: "_source", Type: store.TypeURI, URI: str(object(ev["meta"])["source"])}}}})
		if err != nil {
			return nil, err
		}
		if len(res.Matches) == 0 {
			todo = append(todo, ev)
		}
	}
	return todo, nil
}

// write writes AuditEvents in transactions of at most maxBatch and
// reports whether all were written.
func (r *recorder) write(evs []obj) bool {
	ok := true
	for len(evs) > 0 {
		n := min(len(evs), maxBatch)
		entries := make([]any, n)
		for i, ev := range evs[:n] {
			entries[i] = obj{"fullUrl": "urn:uuid:" + uuid(), "resource": ev, "request": obj{"method": "POST", "url": "AuditEvent"}}
		}
		ctx := access.WithPrincipal(context.Background(), access.Principal{Subject: "health-card", Role: "system"})
		if _, err := r.tx.Transaction(ctx, obj{"resourceType": "Bundle", "type": "transaction", "entry": entries}); err != nil {
			ok = false
			msg := "health-card use records lost"
			if r.j != nil {
				msg = "health-card use records not written; the journal keeps them for the next start"
			}
			r.log.Error(msg, "count", n, "err", err)
		}
		evs = evs[n:]
	}
	return ok
}

func (r *recorder) flush() { r.ask(r.flushReq) }

func (r *recorder) recoverJournal() { r.ask(r.recoverReq) }

// ask has the run goroutine do what req asks and waits for it (not after
// close).
func (r *recorder) ask(req chan chan struct{}) {
	ack := make(chan struct{})
	select {
	case req <- ack:
		<-ack
	case <-r.done:
	}
}

func (r *recorder) close() {
	r.once.Do(func() {
		ack := make(chan struct{})
		r.flushReq <- ack
		<-ack
		close(r.done)
	})
}

func uuid() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[x>>4], hexd[x&15])
	}
	return string(out)
}
