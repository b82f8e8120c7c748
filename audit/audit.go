// Package audit keeps the trail of every access decision durably: it is
// the access.Recorder of a running node, batching decisions into the
// store's append-only audit log (store.AuditLog), and it reads the trail
// back as FHIR AuditEvent resources.
//
// It depends on access and store only; the guard does not know it exists.
package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/store"
)

// Writer batches access decisions into a store.AuditLog. Record hands a
// decision to a buffer and returns at once; a background loop appends
// batches (up to MaxBatch records, or what has arrived after FlushEvery).
// When the buffer is full, Record waits: an access is never let through
// without its record being queued (back-pressure, not loss). A decision is
// durable once its batch is appended; Close flushes what is queued.
//
// The durability contract (docs/decisions/006-write-and-audit-durability.md):
// the record of a read is durable within FlushEvery of the read (a crash
// may lose the records of the last FlushEvery; a graceful shutdown loses
// none); the record of a write is durable before the write is: the write
// path calls Sync, which appends every record queued so far, before it
// begins its transaction.
type Writer struct {
	log   store.AuditLog
	l     *slog.Logger
	ch    chan store.AuditRecord
	sync  chan chan error
	done  chan struct{}
	once  sync.Once
	flush time.Duration
	batch int
}

// Options tune a Writer; zero values take the defaults.
type Options struct {
	Buffer     int           // queued records before Record waits (default 65,536)
	MaxBatch   int           // records per append (default 8,192)
	FlushEvery time.Duration // longest a record waits to be appended, unless Sync is called (default 1 s)
}

// NewWriter starts a Writer appending to log.
func NewWriter(log store.AuditLog, logger *slog.Logger, o Options) *Writer {
	if o.Buffer <= 0 {
		o.Buffer = 1 << 16
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 8192
	}
	if o.FlushEvery <= 0 {
		// The window a crash may lose read records from; longer windows
		// amortise each append's commit over more records
		// (docs/decisions/006-write-and-audit-durability.md).
		o.FlushEvery = time.Second
	}
	w := &Writer{log: log, l: logger, ch: make(chan store.AuditRecord, o.Buffer), sync: make(chan chan error), done: make(chan struct{}), flush: o.FlushEvery, batch: o.MaxBatch}
	go w.loop()
	return w
}

var _ access.Recorder = (*Writer)(nil)

// Record implements access.Recorder.
func (w *Writer) Record(e access.Event) {
	r := e.Request
	w.ch <- store.AuditRecord{
		Time: e.Time, Subject: r.Principal.Subject, Role: r.Principal.Role, Organization: r.Principal.Organization,
		Demo: r.Principal.Demo, Action: string(r.Action), ResourceType: r.ResourceType, ID: r.ID,
		Operation: r.Operation, Source: r.Source, Allowed: e.Allowed, Reason: e.Reason,
	}
}

// Sync returns once every record handed to Record before the call is
// durable, or with the error that kept them from being stored. Concurrent
// calls share appends.
func (w *Writer) Sync(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case w.sync <- reply:
	case <-w.done:
		return errors.New("audit: writer closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Writer) loop() {
	defer close(w.done)
	buf := make([]store.AuditRecord, 0, w.batch)
	tick := time.NewTicker(w.flush)
	defer tick.Stop()
	// lost is the last append that failed for good since Sync last
	// answered: those records were handed to Record before the next Sync
	// is, so that Sync must fail, whatever succeeds in between.
	var lost error
	write := func() {
		if len(buf) == 0 {
			return
		}
		// Retry a failing append (the database may be briefly busy) rather
		// than drop the trail; log each failure.
		for attempt := 1; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := w.log.AppendAudit(ctx, buf)
			cancel()
			if err == nil {
				break
			}
			w.l.Error("audit append failed; retrying", "records", len(buf), "attempt", attempt, "err", err)
			if attempt >= 5 {
				w.l.Error("audit records could not be stored", "records", len(buf))
				lost = err
				break
			}
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		buf = buf[:0]
	}
	for {
		select {
		case rec, ok := <-w.ch:
			if !ok {
				write()
				return
			}
			buf = append(buf, rec)
			if len(buf) >= w.batch {
				write()
			}
		case <-tick.C:
			write()
		case reply := <-w.sync:
			// Everything Recorded before Sync was called is in the
			// channel's buffer or in buf already.
			replies := []chan error{reply}
		drain:
			for {
				select {
				case rec, ok := <-w.ch:
					if !ok {
						break drain
					}
					buf = append(buf, rec)
					if len(buf) >= w.batch {
						write()
					}
				case r := <-w.sync:
					replies = append(replies, r)
				default:
					break drain
				}
			}
			write()
			for _, r := range replies {
				r <- lost
			}
			lost = nil
		}
	}
}

// Close appends every queued record and stops the Writer. Record must not
// be called after Close.
func (w *Writer) Close() {
	w.once.Do(func() { close(w.ch) })
	<-w.done
}
