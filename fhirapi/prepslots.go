package fhirapi

import (
	"context"
	"net/http"
	"runtime"
	"sync"
)

// prepSlots admits the CPU-heavy preparation of writes (decoding a Bundle,
// validation, hooks' Prepare, index extraction, marshalling: everything a
// write does before its transaction) so that the write transaction in
// flight keeps a processor.
//
// On SQLite one transaction at a time holds the writer, and everyone waits
// for it. A runtime/trace of the ingest (docs/decisions/036) showed the
// holder runnable but not running for ~10 ms at a time: the token's
// hand-off readies it behind the preparing requests in a processor's run
// queue, and Go lets each of them run a 10 ms time slice first. While a
// transaction holds or waits for the writer, at most GOMAXPROCS−1 requests
// prepare (at least one); otherwise GOMAXPROCS.
//
// It cannot deadlock and starves no one: a slot is held only for work that
// never waits for the writer (it is released before the transaction
// begins), the writer's work never asks for a slot (a PATCH prepares inside
// its transaction without one), at least one slot is always free to take,
// and waiters are admitted first come, first served. The zero value is
// ready to use.
type prepSlots struct {
	mu      sync.Mutex
	busy    int           // slots held
	writers int           // transactions holding or waiting for the writer
	queue   []*prepWaiter // first come, first served
	procs   int           // the processors to share; 0: GOMAXPROCS
}

type prepWaiter struct {
	ready   chan struct{} // closed when admitted
	granted bool          // set under mu before ready is closed
}

// limit is the number of requests that may prepare now. The caller holds mu.
func (p *prepSlots) limit() int {
	n := p.procs
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if p.writers > 0 {
		n--
	}
	return max(n, 1)
}

// admit waits for a slot, first come, first served; the caller must call
// release once its preparation is done and before it begins a
// transaction. A cancelled ctx gives up the wait.
func (p *prepSlots) admit(ctx context.Context) error {
	p.mu.Lock()
	if len(p.queue) == 0 && p.busy < p.limit() {
		p.busy++
		p.mu.Unlock()
		return nil
	}
	w := &prepWaiter{ready: make(chan struct{})}
	p.queue = append(p.queue, w)
	p.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	if w.granted {
		// Admitted while giving up: hand the slot on.
		p.busy--
		p.grant()
	} else {
		for i, q := range p.queue {
			if q == w {
				p.queue = append(p.queue[:i], p.queue[i+1:]...)
				break
			}
		}
	}
	p.mu.Unlock()
	return ctx.Err()
}

// release gives a slot back.
func (p *prepSlots) release() {
	p.mu.Lock()
	p.busy--
	p.grant()
	p.mu.Unlock()
}

// grant admits waiters while slots are free. The caller holds mu.
func (p *prepSlots) grant() {
	for len(p.queue) > 0 && p.busy < p.limit() {
		w := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.busy++
		w.granted = true
		close(w.ready)
	}
}

// writerIn notes a transaction that waits for or holds the writer;
// writerOut notes its end.
func (p *prepSlots) writerIn() {
	p.mu.Lock()
	p.writers++
	p.mu.Unlock()
}

func (p *prepSlots) writerOut() {
	p.mu.Lock()
	p.writers--
	p.grant()
	p.mu.Unlock()
}

// slot is one admission, released at most once: a request releases it
// before its transaction, and a deferred release covers the error paths.
type slot struct {
	p    *prepSlots
	held bool
}

func (s *slot) release() {
	if s.held {
		s.held = false
		s.p.release()
	}
}

// admitted takes a slot for the caller's preparation.
func (s *Server) admitted(ctx context.Context) (*slot, error) {
	if err := s.prep.admit(ctx); err != nil {
		return nil, err
	}
	return &slot{p: &s.prep, held: true}, nil
}

// readBundleBody reads a Bundle body (readDecoded's pooled buffer), and
// only then takes a preparation slot and decodes it: reading waits for the
// client and must not hold a slot, decoding is the first CPU-heavy part of
// preparing a Bundle.
func (s *Server) readBundleBody(r *http.Request) (map[string]any, *slot, error) {
	var sl *slot
	// Given back unless handed to the caller: also if decoding panics.
	handed := false
	defer func() {
		if sl != nil && !handed {
			sl.release()
		}
	}()
	b, err := s.readDecoded(r, func(body []byte) (map[string]any, error) {
		var err error
		if sl, err = s.admitted(r.Context()); err != nil {
			return nil, err
		}
		return s.decodeResource(body)
	})
	if err != nil {
		return nil, nil, err
	}
	handed = true
	return b, sl, nil
}
