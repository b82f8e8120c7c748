package fhirapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/open"
)

// state returns the limiter's counters.
func (p *prepSlots) state() (busy, writers, queued int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.busy, p.writers, len(p.queue)
}

// admitAsync starts admit on its own goroutine and returns a channel that
// receives its result; it returns once the waiter is queued.
func admitAsync(t *testing.T, p *prepSlots, ctx context.Context) <-chan error {
	t.Helper()
	_, _, before := p.state()
	done := make(chan error, 1)
	go func() { done <- p.admit(ctx) }()
	waitFor(t, "the waiter to queue", func() bool { _, _, q := p.state(); return q == before+1 })
	return done
}

// waitFor polls cond; the deadline only stops a test that would hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func admitted(c <-chan error) bool {
	select {
	case err := <-c:
		return err == nil
	default:
		return false
	}
}

func TestPrepSlotsLeaveAProcessorToTheWriter(t *testing.T) {
	ctx := context.Background()
	p := &prepSlots{procs: 2}
	// No transaction in flight: both processors prepare.
	if err := p.admit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.admit(ctx); err != nil {
		t.Fatal(err)
	}
	third := admitAsync(t, p, ctx)
	// A transaction waits for the writer: a slot given back now is not
	// handed on, one processor stays for the writer.
	p.writerIn()
	p.release()
	if admitted(third) {
		t.Fatal("a third request prepares beside another while a transaction is in flight on two processors")
	}
	p.release()
	waitFor(t, "the third request to be admitted when nobody else prepares", func() bool { b, _, _ := p.state(); return b == 1 })
	if err := <-third; err != nil {
		t.Fatal(err)
	}
	fourth := admitAsync(t, p, ctx)
	p.writerOut()
	if err := <-fourth; err != nil {
		t.Fatal(err)
	}
	p.release()
	p.release()
	if b, w, q := p.state(); b != 0 || w != 0 || q != 0 {
		t.Fatalf("busy %d, writers %d, queued %d after all gave back", b, w, q)
	}
}

func TestPrepSlotsNeverFewerThanOne(t *testing.T) {
	p := &prepSlots{procs: 1}
	p.writerIn()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.admit(ctx); err != nil {
		t.Fatalf("one processor and a transaction in flight: a request cannot prepare at all (%v)", err)
	}
	p.release()
	p.writerOut()
}

func TestPrepSlotsFirstComeFirstServed(t *testing.T) {
	ctx := context.Background()
	p := &prepSlots{procs: 1}
	if err := p.admit(ctx); err != nil {
		t.Fatal(err)
	}
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 5 {
		_, _, before := p.state()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.admit(ctx); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			p.release()
		}()
		waitFor(t, "waiter to queue", func() bool { _, _, q := p.state(); return q == before+1 })
	}
	p.release()
	wg.Wait()
	if fmt.Sprint(order) != "[0 1 2 3 4]" {
		t.Fatalf("admitted in the order %v, not in the order they came", order)
	}
}

func TestPrepSlotsCancelledWaiterTakesNothing(t *testing.T) {
	p := &prepSlots{procs: 1}
	if err := p.admit(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gone := admitAsync(t, p, ctx)
	next := admitAsync(t, p, context.Background())
	cancel()
	if err := <-gone; err == nil {
		t.Fatal("a cancelled wait reported a slot")
	}
	if _, _, q := p.state(); q != 1 {
		t.Fatalf("%d waiters queued after one gave up, want 1", q)
	}
	p.release()
	if err := <-next; err != nil {
		t.Fatal(err)
	}
	p.release()
	if b, _, q := p.state(); b != 0 || q != 0 {
		t.Fatalf("busy %d, queued %d: the cancelled waiter kept a slot", b, q)
	}

	// Granted while its request gives up: the slot goes on to the next.
	// The grant is made under the lock after the cancel, so the waiter
	// wakes on its context and finds itself granted (or, if the select
	// saw both, takes the slot; either way none is lost).
	for range 50 {
		p := &prepSlots{procs: 1}
		if err := p.admit(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		gone := admitAsync(t, p, ctx)
		next := admitAsync(t, p, context.Background())
		p.mu.Lock()
		cancel()
		time.Sleep(time.Millisecond)
		p.busy-- // release, under the same lock
		p.grant()
		p.mu.Unlock()
		if err := <-gone; err == nil {
			p.release()
		}
		select {
		case err := <-next:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the slot granted to a request that gave up was never handed on")
		}
		p.release()
		if b, _, q := p.state(); b != 0 || q != 0 {
			t.Fatalf("busy %d, queued %d", b, q)
		}
	}
}

// gateHook holds Observations in Prepare until open is closed, counting
// those inside, and holds a Patient's Written (the writer) until
// writerGo is closed.
type gateHook struct {
	inPrepare atomic.Int32
	open      chan struct{}
	holding   chan struct{} // closed when a Patient's Written runs
	writerGo  chan struct{}
	once      sync.Once
}

func (h *gateHook) Prepare(ctx context.Context, typ, id string, res map[string]any) error {
	if typ == "Observation" {
		h.inPrepare.Add(1)
		<-h.open
		h.inPrepare.Add(-1)
	}
	return nil
}

func (h *gateHook) Written(ctx context.Context, tx store.Reader, v *store.Version, res map[string]any) ([]Followup, error) {
	if v.Type == "Patient" {
		h.once.Do(func() { close(h.holding) })
		<-h.writerGo
	}
	return nil, nil
}

func (h *gateHook) Committed(context.Context, []*store.Version) {}

func slotNode(t *testing.T, h Hook, procs int) (*Server, string) {
	t.Helper()
	st, err := open.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), open.WithMigrate())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	deps := Deps{
		Store:   st,
		Indexer: search.NewIndexer(nil),
		Guard:   &access.Guard{Policy: access.DemoPolicy{}, Recorder: access.NewLogRecorder(log), Default: access.Principal{Subject: "t", Role: "admin"}},
		Logger:  log,
	}
	if h != nil {
		deps.Hooks = []Hook{h}
	}
	s := New(Config{Base: "/fhir"}, deps)
	s.prep.procs = procs
	hs := httptest.NewServer(s)
	t.Cleanup(func() { hs.Close(); st.Close() })
	return s, hs.URL + "/fhir"
}

func post(t *testing.T, ctx context.Context, url, body string) int {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

const obsEntry = `{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}`

func transactionOf(entries ...string) string {
	return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
}

// While a transaction holds the writer on two processors, one request
// prepares and the others wait; once it commits, two prepare again.
func TestPreparationLeavesAProcessorWhileTheWriterIsBusy(t *testing.T) {
	h := &gateHook{open: make(chan struct{}), holding: make(chan struct{}), writerGo: make(chan struct{})}
	s, base := slotNode(t, h, 2)
	var openOnce, goOnce sync.Once
	openGate := func() { openOnce.Do(func() { close(h.open) }) }
	writerGo := func() { goOnce.Do(func() { close(h.writerGo) }) }
	// A failing test still lets the held requests finish, or the test
	// server's Close would wait for them for ever.
	t.Cleanup(func() { writerGo(); openGate() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	codes := make([]int, 4)
	wg.Add(1)
	go func() {
		defer wg.Done()
		codes[0] = post(t, ctx, base+"/Patient", `{"resourceType":"Patient","gender":"male"}`)
	}()
	<-h.holding
	for i := 1; i <= 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = post(t, ctx, base, transactionOf(obsEntry, obsEntry))
		}()
	}
	waitFor(t, "the three transactions to arrive", func() bool {
		_, _, q := s.prep.state()
		return int(h.inPrepare.Load())+q == 3
	})
	if n := h.inPrepare.Load(); n != 1 {
		t.Fatalf("%d requests prepare while a transaction holds the writer on two processors, want 1", n)
	}
	writerGo()
	waitFor(t, "two to prepare once the writer is free", func() bool { return h.inPrepare.Load() == 2 })
	openGate()
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusCreated && c != http.StatusOK {
			t.Errorf("request %d: status %d", i, c)
		}
	}
	if b, w, q := s.prep.state(); b != 0 || w != 0 || q != 0 {
		t.Fatalf("busy %d, writers %d, queued %d after every request", b, w, q)
	}
}

// With one processor and sixteen clients, every kind of write (single,
// transaction, batch, PATCH inside a transaction) and every failure path
// finishes and gives its slot back: nobody waits for a slot while holding
// the writer, nor for the writer while holding a slot another needs.
func TestSlotsComeBackOnEveryPathWithOneProcessor(t *testing.T) {
	s, base := slotNode(t, nil, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if c := post(t, ctx, base+"/Patient", `{"resourceType":"Patient","id":"ignored","gender":"female"}`); c != http.StatusCreated {
		t.Fatalf("seed: %d", c)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, base+"/Patient/p1", strings.NewReader(`{"resourceType":"Patient","id":"p1","gender":"female"}`))
	req.Header.Set("Content-Type", "application/fhir+json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("seed p1: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	patch := `{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"` +
		"W3sib3AiOiJyZXBsYWNlIiwicGF0aCI6Ii9nZW5kZXIiLCJ2YWx1ZSI6Im1hbGUifV0=" + // [{"op":"replace","path":"/gender","value":"male"}]
		`"},"request":{"method":"PATCH","url":"Patient/p1"}}`
	cases := []struct {
		url, body string
		want      int
	}{
		{base, transactionOf(obsEntry, obsEntry, obsEntry), 200},
		{base, `{"resourceType":"Bundle","type":"batch","entry":[` + obsEntry + `,{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Observation"}}]}`, 200},
		{base, transactionOf(obsEntry, `{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Observation"}}`), 400},
		{base, `{"resourceType":"Bundle","type":"transaction","entry":[`, 400},
		{base, `{"resourceType":"Patient"}`, 400},
		{base, transactionOf(patch), 200},
		{base + "/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, 201},
		{base + "/Observation", `{"resourceType":"Patient"}`, 400},
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 * len(cases) {
				c := cases[(g+i)%len(cases)]
				if got := post(t, ctx, c.url, c.body); got != c.want {
					t.Errorf("client %d: POST %s %.60s…: %d, want %d", g, c.url, c.body, got, c.want)
				}
			}
		}()
	}
	wg.Wait()
	if b, w, q := s.prep.state(); b != 0 || w != 0 || q != 0 {
		t.Fatalf("busy %d, writers %d, queued %d after every request", b, w, q)
	}
}
