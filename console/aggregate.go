package console

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/xietong/xietong/access"
)

// Aggregates: the figures that count every record of the region (one-code
// use over every use record, reports by month over every report) cost
// seconds on the full demo region, however they are asked for. The pages
// showing them must answer in under 100 ms, so the console keeps each
// figure once computed (decision 013):
//
//   - per principal and question (the same user asking the same thing),
//     so each computation is the user's own API calls, authorised and
//     audited as that user; a user is never shown what another's calls
//     returned;
//   - fresh for aggregateTTL; older, it is still shown (with its time)
//     while one background computation brings it up to date;
//   - dropped when the console itself writes what it counts (a scanned
//     card is a new use), so the user sees their own change; as the card
//     service records uses in batches, figures computed in the
//     aggregateSettle after such a write are not kept as fresh;
//   - the first request waits up to aggregateWait for it; a page that
//     cannot wait shows that the figures are being counted and reloads
//     itself.
const (
	aggregateTTL     = time.Minute
	aggregateWait    = 60 * time.Millisecond
	aggregateTimeout = 5 * time.Minute
	aggregateSettle  = 5 * time.Second
	aggregateRetry   = 10 * time.Second // a failed first computation is shown this long
)

type aggregates struct {
	mu      sync.Mutex
	entries map[string]*aggregate
	settle  map[string]time.Time // kind → figures computed before this are not fresh
}

type aggregate struct {
	val     any
	err     error
	at      time.Time     // when val was computed; zero until the first result
	running chan struct{} // closed when the running computation ends; nil when none runs
}

// aggregateKey names a figure for a principal.
func aggregateKey(p access.Principal, kind, question string) string {
	return strings.Join([]string{kind, p.Subject, p.Role, p.Organization, question}, "\x00")
}

// get returns the figure for key: the kept one when fresh; else it starts
// (or joins) a computation by compute and waits up to wait for it, and
// returns the kept one if the computation is not done by then. ok is
// false when there is nothing to show yet; at is when the value was
// computed.
func (a *aggregates) get(key string, wait time.Duration, compute func(ctx context.Context) (any, error)) (val any, at time.Time, ok bool, err error) {
	a.mu.Lock()
	if a.entries == nil {
		a.entries = map[string]*aggregate{}
	}
	e := a.entries[key]
	if e == nil {
		e = &aggregate{}
		a.entries[key] = e
	}
	kind, _, _ := strings.Cut(key, "\x00")
	if !e.at.IsZero() && time.Since(e.at) < aggregateTTL && e.at.After(a.settle[kind]) {
		val, at, err = e.val, e.at, e.err
		a.mu.Unlock()
		return val, at, true, err
	}
	if e.running == nil {
		done := make(chan struct{})
		e.running = done
		go func() {
			defer close(done)
			ctx, cancel := context.WithTimeout(context.Background(), aggregateTimeout)
			defer cancel()
			v, err := compute(ctx)
			a.mu.Lock()
			defer a.mu.Unlock()
			switch cur := a.entries[key]; {
			case cur != e: // dropped meanwhile
			case err == nil:
				e.val, e.err, e.at = v, nil, time.Now()
			case e.val != nil:
				// keep showing the last figures; the next request tries again
			default:
				// nothing to show but the failure: shown, and tried again
				// after aggregateRetry
				e.err, e.at = err, time.Now().Add(aggregateRetry-aggregateTTL)
			}
			e.running = nil
		}()
	}
	done := e.running
	a.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.at.IsZero() {
		return nil, time.Time{}, false, nil
	}
	return e.val, e.at, true, e.err
}

// drop forgets every figure of kind (after a write that changes it).
func (a *aggregates) drop(kind string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.settle == nil {
		a.settle = map[string]time.Time{}
	}
	a.settle[kind] = time.Now().Add(aggregateSettle)
	for k := range a.entries {
		if strings.HasPrefix(k, kind+"\x00") {
			delete(a.entries, k)
		}
	}
}

// counting is the page shown while a figure is first computed: it says so
// and reloads itself.
type counting struct {
	Counting bool
	AsOf     string // when the figures shown were computed, if not just now
}

func asOf(at time.Time) string {
	if time.Since(at) < 5*time.Second {
		return ""
	}
	return at.In(chinaTime).Format("15:04:05")
}
