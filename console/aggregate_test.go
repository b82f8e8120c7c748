package console

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/xietong/xietong/access"
)

func TestAggregates(t *testing.T) {
	var a aggregates
	p := access.Principal{Subject: "s", Role: "commission"}
	key := aggregateKey(p, "onecode", "")
	release := make(chan struct{})
	calls := 0
	slow := func(ctx context.Context) (any, error) {
		calls++
		<-release
		return calls, nil
	}
	// nothing kept yet, the computation outlasts the wait: nothing to show
	if _, _, ok, err := a.get(key, 10*time.Millisecond, slow); ok || err != nil {
		t.Fatalf("first get: ok %v err %v, want nothing yet", ok, err)
	}
	// a second request joins the running computation, it does not start one
	if _, _, ok, _ := a.get(key, time.Millisecond, slow); ok {
		t.Fatal("second get found a value before the computation ended")
	}
	close(release)
	v, at, ok, err := a.get(key, time.Second, slow)
	if !ok || err != nil || v != 1 || at.IsZero() || calls != 1 {
		t.Fatalf("after the computation: %v %v %v %v, %d calls", v, at, ok, err, calls)
	}
	// fresh: kept, not computed again
	if v, _, _, _ := a.get(key, time.Second, slow); v != 1 || calls != 1 {
		t.Errorf("fresh figure recomputed: %v, %d calls", v, calls)
	}
	// another principal asking the same question computes its own
	other := aggregateKey(access.Principal{Subject: "t", Role: "viewer"}, "onecode", "")
	if v, _, _, _ := a.get(other, time.Second, slow); v != 2 {
		t.Errorf("another principal got %v, want its own computation", v)
	}
	// stale: the kept figure is shown while a new one is computed
	a.mu.Lock()
	a.entries[key].at = time.Now().Add(-2 * aggregateTTL)
	a.mu.Unlock()
	block := make(chan struct{})
	v, _, ok, _ = a.get(key, 5*time.Millisecond, func(ctx context.Context) (any, error) { <-block; return 99, nil })
	if !ok || v != 1 {
		t.Errorf("stale figure: %v %v, want the kept 1 while refreshing", v, ok)
	}
	close(block)
	time.Sleep(20 * time.Millisecond)
	if v, _, _, _ := a.get(key, time.Second, slow); v != 99 {
		t.Errorf("after the refresh: %v, want 99", v)
	}
	// dropped after a write: computed afresh
	a.drop("onecode")
	if v, _, _, _ := a.get(key, time.Second, func(ctx context.Context) (any, error) { return 7, nil }); v != 7 {
		t.Errorf("after drop: %v, want 7", v)
	}
	// a failed first computation is shown, and tried again after
	// aggregateRetry, not a whole minute later
	boom := errors.New("boom")
	k3 := aggregateKey(p, "activity", "2026-10")
	if _, _, ok, err := a.get(k3, time.Second, func(ctx context.Context) (any, error) { return nil, boom }); !ok || !errors.Is(err, boom) {
		t.Errorf("error: ok %v err %v", ok, err)
	}
	a.mu.Lock()
	if age := time.Since(a.entries[k3].at); age < aggregateTTL-aggregateRetry-time.Second {
		t.Errorf("a failure is kept as if %v old, want about %v", age, aggregateTTL-aggregateRetry)
	}
	a.mu.Unlock()
	// a failed refresh keeps the last figures
	a.mu.Lock()
	a.entries[key].at = time.Now().Add(-2 * aggregateTTL)
	a.mu.Unlock()
	a.get(key, time.Second, func(ctx context.Context) (any, error) { return nil, boom })
	if v, _, ok, err := a.get(key, time.Second, func(ctx context.Context) (any, error) { return nil, boom }); !ok || err != nil || v != 7 {
		t.Errorf("after a failed refresh: %v %v %v, want the kept 7", v, ok, err)
	}
}
