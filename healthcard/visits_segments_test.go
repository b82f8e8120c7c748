package healthcard

import (
	"context"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/xietong/xietong/fhir/outcome"
)

// Decision 034: the first-visit journal does no file I/O under the lock
// a resolve takes. These tests pin what that design must keep.

// withMasters adds masters x1..xk (each holding a card) to a visitNode
// and returns their ids; codes gets their static codes.
func withMasters(n *memNode, kr *Keyring, codes map[string]string, k int) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var ids []string
	for i := range k {
		m := "x" + string(rune('a'+i))
		codes[m] = n.addCardHolder(kr, m, "李娜"+m, "female")
		ids = append(ids, m)
	}
	return ids
}

// The applier's file work (starting a new segment, removing finished
// ones) may wait on a slow file system; a first visit meanwhile answers
// without waiting for it. (Before, the applier truncated the journal
// under the lock every first visit takes: up to 100 ms under load.)
func TestAFirstVisitDoesNotWaitForTheApplierFileWork(t *testing.T) {
	n, kr, codes := visitNode()
	dir := t.TempDir()
	s := journaled(t, n, kr, dir)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	s.visits.syncDir = func(d string) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		return syncDir(d)
	}
	defer func() { once.Do(func() { close(release) }); s.Close() }()
	s.visits.maxSegment = 1 // the first intent fills the segment: the applier starts the next
	ctx := context.Background()
	first, err := s.Resolve(ctx, ResolveRequest{Code: codes["m1"], Institution: visitInst})
	if err != nil || !first.Created {
		t.Fatalf("resolve %+v %v", first, err)
	}
	select {
	case <-entered: // the applier wrote m1's record and is creating the next segment, held
	case <-time.After(5 * time.Second):
		t.Fatal("the applier never started a new segment")
	}
	done := make(chan error, 1)
	go func() {
		res, err := s.Resolve(ctx, ResolveRequest{Code: codes["m2"], Institution: visitInst})
		if err == nil && !res.Created {
			t.Errorf("m2 answered created false")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a first visit waited for the applier's file work")
	}
	once.Do(func() { close(release) })
	s.Flush()
	checkWrittenOnce(t, n, "m1", "m1")
	checkWrittenOnce(t, n, "m2", "m2")
}

// Concurrent first visits share one write and one fsync: while one sync
// is held, the others buffer their lines, and one more sync makes them
// all durable.
func TestConcurrentFirstVisitsShareOneSync(t *testing.T) {
	n, kr, codes := visitNode()
	masters := withMasters(n, kr, codes, 5)
	s := journaled(t, n, kr, t.TempDir())
	defer s.Close()
	var mu sync.Mutex
	syncs := 0
	entered, release := make(chan struct{}, 1), make(chan struct{})
	s.visits.syncFile = func(f *os.File) error {
		mu.Lock()
		syncs++
		first := syncs == 1
		mu.Unlock()
		if first {
			entered <- struct{}{}
			<-release
		}
		return f.Sync()
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	resolve := func(m string) {
		defer wg.Done()
		if res, err := s.Resolve(ctx, ResolveRequest{Code: codes[m], Institution: visitInst}); err != nil || !res.Created {
			t.Errorf("%s: %+v %v", m, res, err)
		}
	}
	wg.Add(1)
	go resolve("m1")
	<-entered // m1's line is being synced, held
	for _, m := range masters {
		wg.Add(1)
		go resolve(m)
	}
	// Until all five have buffered their line behind the held sync.
	untilVisits(s.visits, func() bool { return len(s.visits.bufIn) == len(masters) })
	close(release)
	wg.Wait()
	mu.Lock()
	got := syncs
	mu.Unlock()
	if got != 2 {
		t.Fatalf("%d fsyncs for 6 first visits, 5 of them concurrent: want 2 (m1's, then one for the five)", got)
	}
	s.Flush()
	for _, m := range append(masters, "m1") { // m1 last: Flush does not wait for an intent being retried
		checkWrittenOnce(t, n, m, m)
	}
}

// Segments: the applier starts a new one once the current one is full
// and removes one once all its intents are in the store; a segment that
// still holds an intent the store refuses stays, across a stop, and the
// next start writes that record from it.
func TestSegmentsGoOnceTheirIntentsAreInTheStore(t *testing.T) {
	n, kr, codes := visitNode()
	masters := withMasters(n, kr, codes, 4)
	dir := t.TempDir()
	n.fail = refuseRecordOf("m1", outcome.New(http.StatusServiceUnavailable, "transient", "not now"))
	s1 := journaled(t, n, kr, dir)
	s1.visits.maxSegment = 1 // a segment per intent
	ctx := context.Background()
	var refused *Resolution
	for _, m := range append(masters, "m1") { // m1 last: Flush does not wait for an intent being retried
		res, err := s1.Resolve(ctx, ResolveRequest{Code: codes[m], Institution: visitInst})
		if err != nil || !res.Created {
			t.Fatalf("%s: %+v %v", m, res, err)
		}
		if m == "m1" {
			refused = res
		}
		s1.Flush()
	}
	files, err := visitFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	// m1's segment (its intent refused) and the current one.
	if len(files) != 2 {
		t.Fatalf("journal files %v: want m1's segment and the current one", files)
	}
	if left, err := readVisits(dir); err != nil || len(left) != 1 || left[0].Local != refused.Local {
		t.Fatalf("the journal holds %v (%v), want only m1's intent", left, err)
	}
	s1.Close()
	if files, _ := visitFiles(dir); len(files) != 1 {
		t.Fatalf("after a stop, journal files %v: want m1's segment only", files)
	}

	n.setFail(nil)
	s2 := journaled(t, n, kr, dir)
	s2.Recover()
	checkWrittenOnce(t, n, "m1", "m1")
	for _, m := range masters {
		checkWrittenOnce(t, n, m, m)
	}
	s2.Close()
	if files, _ := visitFiles(dir); len(files) != 0 {
		t.Fatalf("journal files %v after every record is in the store and a clean stop", files)
	}
	if slices.ContainsFunc(masters, func(m string) bool { l, _ := localIdentity(m, visitInst); return n.count("Patient/"+l) != 1 }) {
		t.Fatal("a record written twice")
	}
}
