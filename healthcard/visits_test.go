package healthcard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/store"
)

// memNode is a store and a Transactor over a map, enough for first
// visits (decision 031): PUT with If-Match, point reads, token and
// reference searches; it counts the writes per resource.
type memNode struct {
	mu   sync.Mutex
	res  map[string]obj // "Type/id" → body (meta.versionId kept)
	gone map[string]bool
	puts map[string]int
	txs  int // transactions that wrote a Patient

	block chan struct{}   // when set, a Patient transaction waits for it to close
	hold  string          // when set, only one that writes Patient/<hold> does
	fail  func(obj) error // when set, asked (under the lock) before a Patient transaction applies
	lose  int             // this many Patient transactions commit and then report an error
	// readErr: the next read of a key fails once with this error.
	readErr map[string]error
}

func newMemNode() *memNode {
	return &memNode{res: map[string]obj{}, gone: map[string]bool{}, puts: map[string]int{}}
}

func (n *memNode) add(b obj) {
	key := str(b["resourceType"]) + "/" + str(b["id"])
	meta := object(b["meta"])
	if meta == nil {
		meta = obj{}
		b["meta"] = meta
	}
	if meta["versionId"] == nil {
		meta["versionId"] = "1"
	}
	n.res[key] = b
}

func (n *memNode) get(key string) obj {
	n.mu.Lock()
	defer n.mu.Unlock()
	b, ok := n.res[key]
	if !ok {
		return nil
	}
	data, _ := json.Marshal(b)
	var out obj
	json.Unmarshal(data, &out)
	return out
}

func (n *memNode) Read(_ context.Context, typ, id string) (*store.Version, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.readErr[typ+"/"+id]; err != nil {
		delete(n.readErr, typ+"/"+id)
		return nil, err
	}
	if n.gone[typ+"/"+id] {
		return nil, store.ErrGone
	}
	b, ok := n.res[typ+"/"+id]
	if !ok {
		return nil, store.ErrNotFound
	}
	data, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return &store.Version{Type: typ, ID: id, VersionID: versionOf(b), Body: data}, nil
}

func (n *memNode) VRead(ctx context.Context, typ, id string, _ int64) (*store.Version, error) {
	return n.Read(ctx, typ, id)
}

func (n *memNode) History(context.Context, store.HistoryQuery) (*store.HistoryPage, error) {
	return nil, store.ErrNotFound
}

func (n *memNode) Search(_ context.Context, q *store.Query) (*store.SearchResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := &store.SearchResult{}
	for _, b := range n.res {
		if str(b["resourceType"]) != q.Types[0] {
			continue
		}
		ok := true
		for _, c := range q.Where {
			p := c[0]
			switch p.Param {
			case "identifier":
				hit := false
				for _, x := range list(b["identifier"]) {
					id := object(x)
					hit = hit || str(id["system"]) == p.System && (p.Code == "" || str(id["value"]) == p.Code)
				}
				ok = ok && hit
			case "link":
				hit := false
				for _, x := range list(b["link"]) {
					hit = hit || str(object(object(x)["other"])["reference"]) == p.TargetType+"/"+p.TargetID
				}
				ok = ok && hit
			default:
				return nil, fmt.Errorf("memNode: no search on %s", p.Param)
			}
		}
		if ok {
			data, _ := json.Marshal(b)
			out.Matches = append(out.Matches, &store.Version{Type: q.Types[0], ID: str(b["id"]), VersionID: versionOf(b), Body: data})
		}
	}
	return out, nil
}

// holdWrites has the Patient transactions (only those that write
// Patient/<hold>, when hold is set) wait until release is called; release
// may be called more than once (a deferred call after the test's own).
func (n *memNode) holdWrites(hold string) (release func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	block := make(chan struct{})
	n.block, n.hold = block, hold
	return sync.OnceFunc(func() { close(block) })
}

func (n *memNode) Transaction(_ context.Context, b map[string]any) (map[string]any, error) {
	entries := list(b["entry"])
	patients := slices.ContainsFunc(entries, func(e any) bool {
		return str(object(object(e)["resource"])["resourceType"]) == "Patient"
	})
	if !patients { // use records
		return obj{"resourceType": "Bundle", "type": "transaction-response"}, nil
	}
	n.mu.Lock()
	block, hold := n.block, n.hold
	n.mu.Unlock()
	if block != nil && (hold == "" || slices.ContainsFunc(entries, func(e any) bool { return str(object(e)["request"].(obj)["url"]) == "Patient/"+hold })) {
		<-block
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail != nil {
		if err := n.fail(b); err != nil {
			return nil, err
		}
	}
	for _, x := range entries {
		e := object(x)
		req := object(e["request"])
		if str(req["method"]) != "PUT" {
			return nil, outcome.BadRequest("memNode: PUT only")
		}
		key := str(req["url"])
		if im := str(req["ifMatch"]); im != "" {
			cur := n.res[key]
			if cur == nil || fmt.Sprintf(`W/"%d"`, versionOf(cur)) != im {
				return nil, outcome.New(http.StatusPreconditionFailed, "conflict", "%s changed", key)
			}
		}
	}
	for _, x := range entries {
		e := object(x)
		key := str(object(e["request"])["url"])
		data, _ := json.Marshal(e["resource"])
		var r obj
		json.Unmarshal(data, &r)
		v := int64(0)
		if cur := n.res[key]; cur != nil {
			v = versionOf(cur)
		}
		meta := object(r["meta"])
		if meta == nil {
			meta = obj{}
			r["meta"] = meta
		}
		meta["versionId"] = strconv.FormatInt(v+1, 10)
		n.res[key] = r
		n.puts[key]++
	}
	n.txs++
	if n.lose > 0 {
		n.lose--
		return nil, errors.New("connection lost after COMMIT")
	}
	return obj{"resourceType": "Bundle", "type": "transaction-response"}, nil
}

// setFail replaces fail while the node is in use.
func (n *memNode) setFail(fail func(obj) error) {
	n.mu.Lock()
	n.fail = fail
	n.mu.Unlock()
}

// refuseRecordOf is a fail that refuses, with err, every transaction
// that writes master's record at visitInst.
func refuseRecordOf(master string, err error) func(obj) error {
	local, _ := localIdentity(master, visitInst)
	return func(b obj) error {
		for _, e := range list(b["entry"]) {
			if str(object(object(e)["request"])["url"]) == "Patient/"+local {
				return err
			}
		}
		return nil
	}
}

// untilVisits waits until cond, asked under the journal's lock, holds.
func untilVisits(v *visits, cond func() bool) {
	for {
		v.mu.Lock()
		ok := cond()
		v.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (n *memNode) count(key string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.puts[key]
}

const visitInst = "110112001"

// visitNode is a memNode with an institution and masters m1..m3 (no EMPI:
// untagged, so a first visit rewrites the master with its seealso link
// under If-Match), each holding a card; it returns the cards' codes.
func visitNode() (*memNode, *Keyring, map[string]string) {
	n := newMemNode()
	n.add(obj{"resourceType": "Organization", "id": "o1", "name": "通州区人民医院", "active": true,
		"identifier": []any{obj{"system": SystemInstitutionCode, "value": visitInst}}})
	kr := NewMemoryKeyring()
	codes := map[string]string{}
	for _, m := range []string{"m1", "m2", "m3"} {
		codes[m] = n.addCardHolder(kr, m, "王伟"+m, "male")
	}
	return n, kr, codes
}

// addCardHolder adds master id (untagged) holding a new card and returns
// the card's static code.
func (n *memNode) addCardHolder(kr *Keyring, id, name, gender string) string {
	card := NewCardID()
	n.add(obj{"resourceType": "Patient", "id": id, "name": []any{obj{"text": name}}, "gender": gender,
		"identifier": []any{obj{"system": SystemCardID, "value": card, "period": obj{"start": "2026-01-01T00:00:00Z"}}}})
	return kr.Sign(PlainText(card, TypeStatic, time.Time{}))
}

func journaled(t *testing.T, n *memNode, kr *Keyring, dir string) *Service {
	t.Helper()
	s, err := New(n, n, kr, Config{JournalDir: dir, FirstVisits: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.visits == nil {
		t.Fatal("no first-visit journal")
	}
	s.visits.retry = 5 * time.Millisecond
	return s
}

// readVisits returns the intents in the journal's files in dir not
// marked done, oldest first, as the next start would find them (a start
// reads them in openVisits). A last line cut short by a crash was never
// synced whole (its resolve never answered) and is skipped.
func readVisits(dir string) ([]*intent, error) {
	files, err := visitFiles(dir)
	if err != nil {
		return nil, err
	}
	var out []*intent
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out = append(out, parseVisits(data)...)
	}
	return out, nil
}

// intentLines counts the intents written to the journal's files.
func intentLines(t *testing.T, dir string) int {
	t.Helper()
	files, err := visitFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		n += bytes.Count(data, []byte(`"op":"intent"`))
	}
	return n
}

// checkWrittenOnce checks that master's record at visitInst is in the
// store, written once, and linked both ways, the master written once.
func checkWrittenOnce(t *testing.T, n *memNode, master, refer string) {
	t.Helper()
	local, mrn := localIdentity(master, visitInst)
	p := n.get("Patient/" + local)
	if p == nil {
		t.Fatalf("Patient/%s is not in the store", local)
	}
	if got := n.count("Patient/" + local); got != 1 {
		t.Errorf("Patient/%s written %d times, want 1", local, got)
	}
	if identifierValue(p, SystemMRNPrefix+visitInst) != mrn || !slices.Equal(linkTargets(p, "refer"), []string{refer}) {
		t.Errorf("the record is %v", p)
	}
	m := n.get("Patient/" + refer)
	if c := strings.Count(fmt.Sprint(linkTargets(m, "seealso")), local); c != 1 {
		t.Errorf("the master links the record %d times: %v", c, m["link"])
	}
	if got := n.count("Patient/" + refer); got != 1 {
		t.Errorf("the master written %d times, want 1", got)
	}
}

// A first visit answers only once its intent is synced: with the sync
// held, the resolve has not answered; released, it answers, and the
// record follows in the store.
func TestFirstVisitAnswersAfterTheJournalSync(t *testing.T) {
	n, kr, codes := visitNode()
	s := journaled(t, n, kr, t.TempDir())
	defer s.Close()
	entered, release := make(chan struct{}, 1), make(chan struct{})
	s.visits.syncFile = func(f *os.File) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		return f.Sync()
	}
	type answer struct {
		res *Resolution
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := s.Resolve(context.Background(), ResolveRequest{Code: codes["m1"], Institution: visitInst})
		done <- answer{res, err}
	}()
	select {
	case a := <-done:
		t.Fatalf("the resolve answered (%+v, %v) without waiting for the journal's sync", a.res, a.err)
	case <-entered:
	}
	select {
	case a := <-done:
		t.Fatalf("the resolve answered (%+v, %v) while the journal's sync was held", a.res, a.err)
	default:
	}
	close(release)
	a := <-done
	if a.err != nil {
		t.Fatal(a.err)
	}
	local, mrn := localIdentity("m1", visitInst)
	if !a.res.Created || a.res.Local != local || a.res.MRN != mrn {
		t.Fatalf("answered %+v", a.res)
	}
	s.Flush()
	checkWrittenOnce(t, n, "m1", "m1")
	if lags := s.FirstVisitLags(); len(lags) != 1 {
		t.Errorf("%d lags recorded, want 1", len(lags))
	}
}

// While an intent waits for the store, a second resolve of the same
// patient at the same institution answers from it (same record and MRN,
// not created by it) without a second intent; the store gets one write.
func TestSecondResolveAnswersFromThePendingIntent(t *testing.T) {
	n, kr, codes := visitNode()
	dir := t.TempDir()
	s := journaled(t, n, kr, dir)
	defer s.Close()
	release := n.holdWrites("")
	defer release() // before Close, should the test fail while the store is held
	ctx := context.Background()
	first, err := s.Resolve(ctx, ResolveRequest{Code: codes["m1"], Institution: visitInst})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Resolve(ctx, ResolveRequest{Code: codes["m1"], Institution: "Organization/o1"})
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || second.Created || second.Local != first.Local || second.MRN != first.MRN {
		t.Fatalf("first %+v, second %+v", first, second)
	}
	if got := intentLines(t, dir); got != 1 {
		t.Fatalf("%d intents journaled, want 1", got)
	}
	if n.get("Patient/"+first.Local) != nil {
		t.Fatal("the record is in the store while its transaction is held")
	}
	release()
	s.Flush()
	checkWrittenOnce(t, n, "m1", "m1")
	third, err := s.Resolve(ctx, ResolveRequest{Code: codes["m1"], Institution: visitInst})
	if err != nil || third.Created || third.Local != first.Local || third.MRN != first.MRN {
		t.Fatalf("third resolve %+v %v", third, err)
	}
}

// An intent journaled and never applied (the store refused every write
// until the node stopped: as a crash leaves it) is applied by the next
// Service's Recover, once; a resolve before Recover answers from it.
func TestJournaledFirstVisitRecoveredOnceAfterACrash(t *testing.T) {
	n, kr, codes := visitNode()
	dir := t.TempDir()
	down := errors.New("database is locked")
	n.fail = func(obj) error { return down }
	s1 := journaled(t, n, kr, dir)
	ctx := context.Background()
	res, err := s1.Resolve(ctx, ResolveRequest{Code: codes["m1"], Institution: visitInst})
	if err != nil || !res.Created {
		t.Fatalf("resolve %+v %v", res, err)
	}
	s1.Close() // the last try fails too: the journal keeps the intent
	if n.get("Patient/"+res.Local) != nil || n.count("Patient/m1") != 0 {
		t.Fatal("written although the store refused")
	}

	n.setFail(nil)
	s2 := journaled(t, n, kr, dir)
	again, err := s2.Resolve(ctx, ResolveRequest{Code: codes["m1"], Institution: visitInst})
	if err != nil || again.Created || again.Local != res.Local || again.MRN != res.MRN {
		t.Fatalf("resolve before Recover: %+v %v", again, err)
	}
	if got := intentLines(t, dir); got != 1 {
		t.Fatalf("%d intents in the journal, want the crash's 1", got)
	}
	s2.Recover()
	checkWrittenOnce(t, n, "m1", "m1")
	s2.Close()
	if left, err := readVisits(dir); err != nil || len(left) != 0 {
		t.Fatalf("the journal still holds %d intents (%v)", len(left), err)
	}

	// A third start finds nothing to do.
	n.mu.Lock()
	txs := n.txs
	n.mu.Unlock()
	s3 := journaled(t, n, kr, dir)
	s3.Recover()
	s3.Close()
	if n.txs != txs {
		t.Fatalf("a start with an empty journal wrote %d transactions", n.txs-txs)
	}
}

// A write that committed but whose answer was lost is tried again, and
// the record found in the store then is not written a second time (nor
// the master): the intent is applied once.
func TestAnIntentIsNotAppliedTwice(t *testing.T) {
	n, kr, codes := visitNode()
	n.lose = 1
	s := journaled(t, n, kr, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Resolve(ctx, ResolveRequest{Code: codes["m1"], Institution: visitInst}); err != nil {
		t.Fatal(err)
	}
	s.AwaitFirstVisits(ctx, 10*time.Second)
	checkWrittenOnce(t, n, "m1", "m1")
}

// A conflict (the master changed between the applier's read and its
// write) is retried with the master read again, not dropped.
func TestAConflictIsRetriedNotDropped(t *testing.T) {
	n, kr, codes := visitNode()
	conflicts := 1
	n.fail = func(obj) error {
		if conflicts > 0 {
			conflicts--
			m := n.res["Patient/m1"] // another write changes the master meanwhile
			m["telecom"] = []any{obj{"system": "phone", "value": "13800000000"}}
			object(m["meta"])["versionId"] = strconv.FormatInt(versionOf(m)+1, 10)
			return outcome.New(http.StatusPreconditionFailed, "conflict", "Patient/m1 changed")
		}
		return nil
	}
	s := journaled(t, n, kr, t.TempDir())
	defer s.Close()
	if _, err := s.Resolve(context.Background(), ResolveRequest{Code: codes["m1"], Institution: visitInst}); err != nil {
		t.Fatal(err)
	}
	s.Flush()
	checkWrittenOnce(t, n, "m1", "m1")
	if m := n.get("Patient/m1"); len(list(m["telecom"])) != 1 {
		t.Fatalf("the other write's change was lost: %v", m)
	}
}

// A master merged while its first visit waited: the record (with the id
// and MRN the resolve answered) is written with its refer link to the
// master that has the merged one's records. A master deleted meanwhile:
// no record is written, and the intent leaves the journal.
func TestMasterMergedOrDeletedBeforeTheWrite(t *testing.T) {
	n, kr, codes := visitNode()
	dir := t.TempDir()
	s := journaled(t, n, kr, dir)
	defer s.Close()
	release := n.holdWrites("")
	defer release() // before Close, should the test fail while the store is held
	ctx := context.Background()
	merged, err := s.Resolve(ctx, ResolveRequest{Code: codes["m1"], Institution: visitInst})
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := s.Resolve(ctx, ResolveRequest{Code: codes["m3"], Institution: visitInst})
	if err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	m1 := n.res["Patient/m1"]
	m1["active"] = false
	m1["link"] = []any{obj{"other": obj{"reference": "Patient/m2"}, "type": "replaced-by"}}
	object(m1["meta"])["versionId"] = "2" // the merge wrote it
	delete(n.res, "Patient/m3")
	n.gone["Patient/m3"] = true
	n.mu.Unlock()
	release()
	s.Flush()
	p := n.get("Patient/" + merged.Local)
	if p == nil || identifierValue(p, SystemMRNPrefix+visitInst) != merged.MRN || !slices.Equal(linkTargets(p, "refer"), []string{"m2"}) {
		t.Fatalf("the merged master's record: %v", p)
	}
	if !slices.Contains(linkTargets(n.get("Patient/m2"), "seealso"), merged.Local) {
		t.Fatal("the surviving master does not link the record")
	}
	if n.get("Patient/"+deleted.Local) != nil {
		t.Fatal("a record was created for a deleted master")
	}
	s.Close()
	if left, err := readVisits(dir); err != nil || len(left) != 0 {
		t.Fatalf("the journal still holds %d intents (%v)", len(left), err)
	}
}

// A journal whose sync fails is not trusted: the first visit writes its
// record before answering, as without a journal, and so do the next.
func TestAFailedSyncFallsBackToTheSynchronousWrite(t *testing.T) {
	n, kr, codes := visitNode()
	s := journaled(t, n, kr, t.TempDir())
	defer s.Close()
	s.visits.syncFile = func(*os.File) error { return errors.New("EIO") }
	ctx := context.Background()
	for _, m := range []string{"m1", "m2"} {
		res, err := s.Resolve(ctx, ResolveRequest{Code: codes[m], Institution: visitInst})
		if err != nil || !res.Created {
			t.Fatalf("resolve %+v %v", res, err)
		}
		if n.get("Patient/"+res.Local) == nil {
			t.Fatalf("%s: answered before the record was in the store, with a failed journal", m)
		}
	}
}

// Beyond maxPending intents waiting for the store, a first visit writes
// its record before answering (the backlog and the lag stay bounded).
func TestABacklogFallsBackToTheSynchronousWrite(t *testing.T) {
	n, kr, codes := visitNode()
	dir := t.TempDir()
	s := journaled(t, n, kr, dir)
	defer s.Close()
	s.visits.maxPending = 1
	held, _ := localIdentity("m1", visitInst)
	release := n.holdWrites(held)
	defer release()
	ctx := context.Background()
	if _, err := s.Resolve(ctx, ResolveRequest{Code: codes["m1"], Institution: visitInst}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Resolve(ctx, ResolveRequest{Code: codes["m2"], Institution: visitInst})
	if err != nil || !res.Created {
		t.Fatalf("resolve %+v %v", res, err)
	}
	if n.get("Patient/"+res.Local) == nil {
		t.Fatal("beyond the backlog's bound, the answer came before the record was in the store")
	}
	if got := intentLines(t, dir); got != 1 {
		t.Fatalf("%d intents journaled, want 1", got)
	}
	release()
	s.Flush()
	checkWrittenOnce(t, n, "m1", "m1")
}

// A batch in which one record is already in the store and another's
// master cannot be read for a moment: the present one is left alone
// (finished once), the other is written on its own.
func TestABatchWithASkipAndAFailedRead(t *testing.T) {
	n, kr, codes := visitNode()
	s := journaled(t, n, kr, t.TempDir())
	defer s.Close()
	held, _ := localIdentity("m3", visitInst)
	release := n.holdWrites(held)
	defer release()
	ctx := context.Background()
	if _, err := s.Resolve(ctx, ResolveRequest{Code: codes["m3"], Institution: visitInst}); err != nil {
		t.Fatal(err)
	}
	// Until the applier has taken m3's intent alone (else m1's read may
	// come before the client's write).
	untilVisits(s.visits, func() bool { return s.visits.applying && len(s.visits.queue) == 0 })
	// The applier holds m3's write; m1 and m2 queue behind it as one batch.
	var locals [2]string
	for i, m := range []string{"m1", "m2"} {
		res, err := s.Resolve(ctx, ResolveRequest{Code: codes[m], Institution: visitInst})
		if err != nil {
			t.Fatal(err)
		}
		locals[i] = res.Local
	}
	n.mu.Lock()
	n.add(obj{"resourceType": "Patient", "id": locals[0], "active": true}) // a client wrote it meanwhile
	n.readErr = map[string]error{"Patient/m2": errors.New("disk I/O error")}
	n.mu.Unlock()
	release()
	s.Flush()
	if n.count("Patient/"+locals[0]) != 0 {
		t.Error("the record already in the store was written again")
	}
	checkWrittenOnce(t, n, "m2", "m2")
	checkWrittenOnce(t, n, "m3", "m3")
}
