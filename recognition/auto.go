package recognition

import (
	"context"
	"sync"
)

// remarker re-marks in the background after qualification changes
// (Options.AutoRemark): Committed queues the institutions whose
// memberships or EQA results changed ("" for a catalogue change, which
// concerns every issuer), one goroutine drains the queue through Remark.
type remarker struct {
	mu      sync.Mutex
	pending map[string]bool
	wake    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

func (e *Engine) startRemarker() {
	ctx, cancel := context.WithCancel(context.Background())
	r := &remarker{pending: map[string]bool{}, wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	e.auto = r
	go func() {
		defer close(r.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
			}
			r.mu.Lock()
			todo := r.pending
			r.pending = map[string]bool{}
			r.mu.Unlock()
			if todo[""] {
				todo = map[string]bool{"": true}
			}
			for issuer := range todo {
				if e.Writer == nil {
					continue
				}
				if n, err := e.Remark(ctx, issuer); err != nil {
					if ctx.Err() == nil {
						e.log.Error("recognition: re-mark after a qualification change", "issuer", issuer, "err", err)
					}
				} else if n > 0 {
					e.log.Info("recognition: re-marked results after a qualification change", "issuer", issuer, "results", n)
				}
			}
		}
	}()
}

func (e *Engine) queueRemark(issuers map[string]bool) {
	r := e.auto
	if r == nil || len(issuers) == 0 {
		return
	}
	r.mu.Lock()
	for i := range issuers {
		r.pending[i] = true
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Close stops the background re-marking (waiting for a batch in flight).
func (e *Engine) Close() {
	if r := e.auto; r != nil {
		r.cancel()
		<-r.done
	}
}
