package healthcard

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/xietong/xietong/fhir/outcome"
)

// Review of onecode3 (decision 034): the segments are listed with
// filepath.Glob on a pattern that starts with the journal folder, so a
// folder whose name holds a glob character ("[", "*", "?", "\") lists no
// segment at all (and Glob ignores the folder's read errors too): the
// acknowledged intents a crash left there are never applied, and the
// numbering starts again from 1 (O_EXCL: a start that finds visits-1
// refuses to open). The first version read visits.jsonl by name.
func TestSegmentsFoundInAFolderWithGlobCharacters(t *testing.T) {
	n, kr, codes := visitNode()
	// The folder derives from the database's path (server.healthCardJournalDir).
	dir := filepath.Join(t.TempDir(), "xietong[1].db.health-card-uses")
	n.fail = refuseRecordOf("m1", outcome.New(http.StatusServiceUnavailable, "transient", "not now"))
	s1 := journaled(t, n, kr, dir)
	s1.visits.maxSegment = 1 // a segment per intent: m1's is not visits-1
	ctx := context.Background()
	if res, err := s1.Resolve(ctx, ResolveRequest{Code: codes["m2"], Institution: visitInst}); err != nil || !res.Created {
		t.Fatalf("m2: %+v %v", res, err)
	}
	s1.Flush()
	res, err := s1.Resolve(ctx, ResolveRequest{Code: codes["m1"], Institution: visitInst})
	if err != nil || !res.Created {
		t.Fatalf("m1: %+v %v", res, err)
	}
	s1.Close() // the store refused m1's record: its answered intent stays in the journal
	if n.get("Patient/"+res.Local) != nil {
		t.Fatal("m1's record written although the store refused it")
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	t.Logf("journal folder after the stop: %v", names)

	n.setFail(nil)
	s2, err := New(n, n, kr, Config{JournalDir: dir, FirstVisits: true})
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	defer s2.Close()
	s2.Recover()
	if n.get("Patient/"+res.Local) == nil {
		t.Fatalf("the answered first visit (Patient/%s, created: true) was not recovered at start: its segment was not found", res.Local)
	}
	checkWrittenOnce(t, n, "m1", "m1")
}

// Review of onecode3: the resolve that writes the buffer reads seg.f after
// it let go of v.mu, while close sets cur.f to nil under v.mu (a stop whose
// 15 s grace ended with a first visit in flight): a data race (go test
// -race). The first version took the file under the lock.
func TestCloseWhileAFirstVisitIsBeingSynced(t *testing.T) {
	n, kr, codes := visitNode()
	s := journaled(t, n, kr, t.TempDir())
	// Held without a channel: a channel from the hook to the test would
	// order the write's read of the file before close (no race seen).
	s.visits.syncFile = func(f *os.File) error {
		time.Sleep(100 * time.Millisecond)
		return f.Sync()
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Resolve(context.Background(), ResolveRequest{Code: codes["m1"], Institution: visitInst})
		done <- err
	}()
	for { // until m1's line is taken for the write
		s.visits.mu.Lock()
		syncing := s.visits.syncing
		s.visits.mu.Unlock()
		if syncing {
			break
		}
		runtime.Gosched()
	}
	s.Close()
	<-done
}
