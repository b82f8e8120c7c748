package fhirapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/xietong/xietong/store"
)

// panicHook panics in Prepare for an Observation whose code.text is
// "boom", as a hook, the validator or the indexer might on an input nobody
// foresaw; adapt recovers the panic and the server goes on serving.
type panicHook struct{}

func (panicHook) Prepare(ctx context.Context, typ, id string, res map[string]any) error {
	if c, _ := res["code"].(map[string]any); c != nil && c["text"] == "boom" {
		panic("boom")
	}
	return nil
}

func (panicHook) Written(context.Context, store.Reader, *store.Version, map[string]any) ([]Followup, error) {
	return nil, nil
}

func (panicHook) Committed(context.Context, []*store.Version) {}

// A panic while a batch entry prepares is answered with a 500 (adapt
// recovers it) and must give the entry's slot back: otherwise every
// later write waits for a slot that never comes (on one processor at
// once; on two, after two such panics).
func TestPanicInABatchEntryGivesTheSlotBack(t *testing.T) {
	s, base := slotNode(t, panicHook{}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	boom := `{"resource":{"resourceType":"Observation","status":"final","code":{"text":"boom"}},"request":{"method":"POST","url":"Observation"}}`
	if c := post(t, ctx, base, `{"resourceType":"Bundle","type":"batch","entry":[`+boom+`]}`); c != http.StatusInternalServerError {
		t.Fatalf("batch with a panicking entry: status %d, want 500", c)
	}
	if b, _, q := s.prep.state(); b != 0 || q != 0 {
		t.Errorf("after the panic: busy %d, queued %d; the slot was not given back", b, q)
	}
	if c := post(t, ctx, base+"/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`); c != http.StatusCreated {
		t.Fatalf("a create after the panic: status %d, want 201 (it waited for the leaked slot)", c)
	}
}

// The same for a transaction and a single create: their slots are
// released by a defer already; this keeps them so.
func TestPanicInATransactionOrCreateGivesTheSlotBack(t *testing.T) {
	s, base := slotNode(t, panicHook{}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	boom := `{"resource":{"resourceType":"Observation","status":"final","code":{"text":"boom"}},"request":{"method":"POST","url":"Observation"}}`
	if c := post(t, ctx, base, transactionOf(boom)); c != http.StatusInternalServerError {
		t.Fatalf("transaction with a panicking entry: status %d, want 500", c)
	}
	if c := post(t, ctx, base+"/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"boom"}}`); c != http.StatusInternalServerError {
		t.Fatalf("panicking create: status %d, want 500", c)
	}
	if b, _, q := s.prep.state(); b != 0 || q != 0 {
		t.Fatalf("after the panics: busy %d, queued %d", b, q)
	}
	if c := post(t, ctx, base+"/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`); c != http.StatusCreated {
		t.Fatalf("a create after the panics: status %d, want 201", c)
	}
}
