package recognition

import (
	"context"
	"sync"
)

// remarker re-marks in the background after qualification changes
// (Options.AutoRemark): Committed queues the scopes concerned (an
// institution whose memberships, grade or EQA results changed, with the
// codes of the items concerned; a catalogue item's codes at every
// institution), one goroutine drains the queue through remark.
type remarker struct {
	mu      sync.Mutex
	pending map[string]remarkScope
	wake    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

func (e *Engine) startRemarker() {
	ctx, cancel := context.WithCancel(context.Background())
	r := &remarker{pending: map[string]remarkScope{}, wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
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
			r.pending = map[string]remarkScope{}
			r.mu.Unlock()
			for _, sc := range todo {
				if e.Writer == nil {
					continue
				}
				if n, scanned, err := e.remark(ctx, sc); err != nil {
					if ctx.Err() == nil {
						e.log.Error("recognition: re-mark after a qualification change", "issuer", sc.issuer, "codes", len(sc.codes), "err", err)
					}
				} else if n > 0 {
					e.log.Info("recognition: re-marked results after a qualification change", "issuer", sc.issuer, "codes", len(sc.codes), "read", scanned, "results", n)
				}
			}
		}
	}()
}

func (e *Engine) queueRemark(scopes []remarkScope) {
	r := e.auto
	if r == nil || len(scopes) == 0 {
		return
	}
	r.mu.Lock()
	for _, sc := range scopes {
		r.pending[sc.key()] = sc
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
