package fhirapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/fhirapi"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/open"
)

// countingStore records which of its transactions' write methods the API
// called, per resource: "fresh" (PutFresh: the store skips the lookup of
// the current row) or "put".
type countingStore struct {
	store.Store
	mu    sync.Mutex
	calls map[string][]string // type/id -> methods, in order
}

func (s *countingStore) Begin(ctx context.Context) (store.Tx, error) {
	tx, err := s.Store.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &countingTx{Tx: tx, s: s}, nil
}

func (s *countingStore) record(w *store.Write, how string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := w.Type + "/" + w.ID
	s.calls[k] = append(s.calls[k], how)
}

func (s *countingStore) methods() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[string]int{}
	for _, ms := range s.calls {
		for _, m := range ms {
			n[m]++
		}
	}
	return n
}

type countingTx struct {
	store.Tx
	s *countingStore
}

func (t *countingTx) Put(ctx context.Context, w *store.Write) error {
	t.s.record(w, "put")
	return t.Tx.Put(ctx, w)
}

func (t *countingTx) PutFresh(ctx context.Context, w *store.Write) error {
	t.s.record(w, "fresh")
	return t.Tx.(interface {
		PutFresh(context.Context, *store.Write) error
	}).PutFresh(ctx, w)
}

// Only creates under an id the server minted skip the store's lookup of
// the current row; update-as-create with a client id, updates, conditional
// creates that match and conditional updates all look, with and without
// hooks (whose transaction wrapper must pass PutFresh through).
func TestOnlyMintedIdsSkipTheCurrentRowLookup(t *testing.T) {
	for _, hooks := range []bool{false, true} {
		t.Run(fmt.Sprintf("hooks=%v", hooks), func(t *testing.T) {
			st, err := open.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), open.WithMigrate())
			if err != nil {
				t.Fatal(err)
			}
			cs := &countingStore{Store: st, calls: map[string][]string{}}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			deps := fhirapi.Deps{
				Store:   cs,
				Indexer: search.NewIndexer(nil),
				Guard:   &access.Guard{Policy: access.DemoPolicy{}, Recorder: access.NewLogRecorder(log), Default: access.Principal{Subject: "t", Role: "admin"}},
				Logger:  log,
			}
			if hooks {
				deps.Hooks = []fhirapi.Hook{&tagHook{}}
			}
			hs := httptest.NewServer(fhirapi.New(fhirapi.Config{Base: "/fhir"}, deps))
			t.Cleanup(func() { hs.Close(); st.Close() })
			base := hs.URL + "/fhir"

			want := func(step string, fresh, put int) {
				t.Helper()
				got := cs.methods()
				if got["fresh"] != fresh || got["put"] != put {
					t.Fatalf("after %s: PutFresh %d, Put %d; want %d and %d", step, got["fresh"], got["put"], fresh, put)
				}
			}
			if code, _ := send(t, "POST", base+"/Organization", `{"resourceType":"Organization","id":"client-id","name":"A"}`); code != 201 {
				t.Fatalf("POST: %d", code)
			}
			want("a POST", 1, 0)
			if code, _ := send(t, "PUT", base+"/Organization/o1", `{"resourceType":"Organization","id":"o1","name":"B"}`); code != 201 {
				t.Fatalf("PUT as create: %d", code)
			}
			want("an update-as-create", 1, 1)
			if code, _ := send(t, "PUT", base+"/Organization/o1", `{"resourceType":"Organization","id":"o1","name":"C"}`); code != 200 {
				t.Fatalf("PUT update: %d", code)
			}
			want("an update", 1, 2)
			tr := `{"resourceType":"Bundle","type":"transaction","entry":[
				{"fullUrl":"urn:uuid:0d3f3b8e-1c1a-4b8e-9a8e-0c7e9b6e0001","resource":{"resourceType":"Organization","name":"D"},"request":{"method":"POST","url":"Organization"}},
				{"fullUrl":"urn:uuid:0d3f3b8e-1c1a-4b8e-9a8e-0c7e9b6e0002","resource":{"resourceType":"Organization","name":"C"},"request":{"method":"POST","url":"Organization","ifNoneExist":"name=C"}},
				{"fullUrl":"urn:uuid:0d3f3b8e-1c1a-4b8e-9a8e-0c7e9b6e0003","resource":{"resourceType":"Organization","name":"E"},"request":{"method":"POST","url":"Organization","ifNoneExist":"name=nobody"}},
				{"resource":{"resourceType":"Organization","name":"F"},"request":{"method":"PUT","url":"Organization?name=nobody-either"}}]}`
			if code, out := send(t, "POST", base, tr); code != 200 {
				t.Fatalf("transaction: %d %v", code, out)
			}
			// D and E (a conditional create that matched nothing) are
			// fresh; C matched o1 and wrote nothing; F, a conditional
			// update that matched nothing, looked (it reads first).
			want("the transaction", 3, 3)
			if code, _ := send(t, "POST", base+"/Organization", `{"resourceType":"Organization","name":"G"}`); code != 201 {
				t.Fatalf("POST: %d", code)
			}
			want("another POST", 4, 3)
		})
	}
}
