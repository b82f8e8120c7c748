package healthcard

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/xietong/xietong/store"
)

// countingReader is a store.Reader over fixed Patients and Organizations
// that counts the reads by id and the searches (decision 029).
type countingReader struct {
	mu       sync.Mutex
	res      map[string]obj // "Type/id" → body
	reads    map[string]int
	searches int
}

func (r *countingReader) version(key string) (*store.Version, error) {
	b, ok := r.res[key]
	if !ok {
		return nil, store.ErrNotFound
	}
	data, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return &store.Version{Type: str(b["resourceType"]), ID: str(b["id"]), VersionID: 1, Body: data}, nil
}

func (r *countingReader) Read(_ context.Context, typ, id string) (*store.Version, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads[typ+"/"+id]++
	return r.version(typ + "/" + id)
}

func (r *countingReader) VRead(ctx context.Context, typ, id string, _ int64) (*store.Version, error) {
	return r.Read(ctx, typ, id)
}

func (r *countingReader) History(context.Context, store.HistoryQuery) (*store.HistoryPage, error) {
	return nil, store.ErrNotFound
}

// Search answers token searches on identifier (system|code) only.
func (r *countingReader) Search(_ context.Context, q *store.Query) (*store.SearchResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.searches++
	p := q.Where[0][0]
	out := &store.SearchResult{}
	for key, b := range r.res {
		if str(b["resourceType"]) != q.Types[0] || p.Param != "identifier" {
			continue
		}
		if identifierValue(b, p.System) == p.Code {
			v, _ := r.version(key)
			out.Matches = append(out.Matches, v)
		}
	}
	return out, nil
}

type capturingTx struct {
	mu      sync.Mutex
	bundles []obj
}

func (t *capturingTx) Transaction(_ context.Context, b map[string]any) (map[string]any, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bundles = append(t.bundles, b)
	return obj{"resourceType": "Bundle", "type": "transaction-response"}, nil
}

// A first visit with a card registered on an institution's record reads
// the card's holder once (the search that found it), not again among its
// master's sources, and writes the new record in one transaction with the
// refer link to the master.
func TestFirstVisitReadsTheHolderOnce(t *testing.T) {
	ctx := context.Background()
	card := NewCardID()
	r := &countingReader{reads: map[string]int{}, res: map[string]obj{
		"Organization/o1": {"resourceType": "Organization", "id": "o1", "active": true,
			"identifier": []any{obj{"system": SystemInstitutionCode, "value": "110112001"}}},
		"Patient/m1": {"resourceType": "Patient", "id": "m1",
			"meta": obj{"tag": []any{obj{"system": SystemPatientRole, "code": "master"}}},
			"name": []any{obj{"text": "王伟"}},
			"link": []any{obj{"other": obj{"reference": "Patient/src1"}, "type": "seealso"}}},
		"Patient/src1": {"resourceType": "Patient", "id": "src1",
			"identifier": []any{obj{"system": SystemCardID, "value": card, "period": obj{"start": "2026-01-01T00:00:00Z"}},
				obj{"system": SystemMRNPrefix + "999", "value": "A1"}},
			"link": []any{obj{"other": obj{"reference": "Patient/m1"}, "type": "refer"}}},
	}}
	tx := &capturingTx{}
	kr := NewMemoryKeyring()
	s, err := New(r, tx, kr, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	code := kr.Sign(PlainText(card, TypeDynamic, time.Now().Add(time.Minute)))
	res, err := s.Resolve(ctx, ResolveRequest{Code: code, Institution: "110112001"})
	if err != nil {
		t.Fatal(err)
	}
	localID, _ := localIdentity("m1", "110112001")
	if !res.Created || res.Local != localID || str(res.Master["id"]) != "m1" {
		t.Fatalf("resolved to %+v, want a created Patient/%s of master m1", res, localID)
	}
	r.mu.Lock()
	holderReads, masterReads := r.reads["Patient/src1"], r.reads["Patient/m1"]
	r.mu.Unlock()
	if holderReads != 0 {
		t.Errorf("the holder Patient/src1 was read %d times by id after the card search found it, want 0", holderReads)
	}
	if masterReads != 1 {
		t.Errorf("the master was read %d times, want 1", masterReads)
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if len(tx.bundles) != 1 {
		t.Fatalf("%d transactions, want 1 (the new record)", len(tx.bundles))
	}
	entries := list(tx.bundles[0]["entry"])
	if len(entries) != 1 {
		t.Fatalf("%d entries, want the new record only (the EMPI adds the master's link)", len(entries))
	}
	local := object(object(entries[0])["resource"])
	if str(local["id"]) != localID || len(linkTargets(local, "refer")) != 1 || linkTargets(local, "refer")[0] != "m1" {
		t.Fatalf("the new record is %v", local)
	}
}
