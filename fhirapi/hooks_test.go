package fhirapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhirapi"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/open"
)

// tagHook tags every Observation in Prepare, writes a Basic "shadow" of
// each Patient in Written, rejects Observations with status "cancelled",
// and records what Committed saw.
type tagHook struct {
	mu        sync.Mutex
	committed [][]string
	conflict  bool // ask for a follow-up with a stale IfVersion
}

func (h *tagHook) Prepare(ctx context.Context, typ, id string, res map[string]any) error {
	if typ != "Observation" {
		return nil
	}
	if res["status"] == "cancelled" {
		return outcome.Unprocessable("the hook refuses cancelled observations")
	}
	meta, _ := res["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		res["meta"] = meta
	}
	tags, _ := meta["tag"].([]any)
	meta["tag"] = append(tags, map[string]any{"system": "urn:test", "code": "HOOKED"})
	return nil
}

func (h *tagHook) Written(ctx context.Context, tx store.Reader, v *store.Version, res map[string]any) ([]fhirapi.Followup, error) {
	if v.Type != "Patient" {
		return nil, nil
	}
	f := fhirapi.Followup{Resource: map[string]any{
		"resourceType": "Basic", "id": "shadow-" + v.ID,
		"code":    map[string]any{"text": "shadow"},
		"subject": map[string]any{"reference": "Patient/" + v.ID},
	}}
	if h.conflict {
		f.IfVersion = 7
	}
	return []fhirapi.Followup{f}, nil
}

func (h *tagHook) Committed(ctx context.Context, versions []*store.Version) {
	var keys []string
	for _, v := range versions {
		keys = append(keys, v.Type+"/"+v.ID)
	}
	h.mu.Lock()
	h.committed = append(h.committed, keys)
	h.mu.Unlock()
}

func hookNode(t *testing.T, h fhirapi.Hook) (string, store.Store) {
	t.Helper()
	st, err := open.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), open.WithMigrate())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	api := fhirapi.New(fhirapi.Config{Base: "/fhir"}, fhirapi.Deps{
		Store:   st,
		Indexer: search.NewIndexer(nil),
		Guard:   &access.Guard{Policy: access.DemoPolicy{}, Recorder: access.NewLogRecorder(log), Default: access.Principal{Subject: "t", Role: "admin"}},
		Logger:  log,
		Hooks:   []fhirapi.Hook{h},
	})
	hs := httptest.NewServer(api)
	t.Cleanup(func() { hs.Close(); st.Close() })
	return hs.URL + "/fhir", st
}

func send(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	code, m, err := do(req)
	if err != nil {
		t.Fatal(err)
	}
	return code, m
}

// do sends req and decodes the answer's body as JSON (nil when it is not).
func do(req *http.Request) (int, map[string]any, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, nil
}

func TestHooks(t *testing.T) {
	h := &tagHook{}
	base, st := hookNode(t, h)
	ctx := context.Background()

	// Prepare changes what is stored and indexed.
	code, _ := send(t, "PUT", base+"/Observation/o1", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"}}`)
	if code != 201 {
		t.Fatalf("PUT Observation: %d", code)
	}
	_, bundle := send(t, "GET", base+"/Observation?_tag=urn:test|HOOKED", "")
	if n, _ := bundle["total"].(float64); n != 1 {
		t.Errorf("_tag search after Prepare: total %v, want 1", bundle["total"])
	}
	// Prepare can reject, with its status.
	if code, _ := send(t, "POST", base+"/Observation", `{"resourceType":"Observation","status":"cancelled","code":{"text":"x"}}`); code != 422 {
		t.Errorf("rejected by Prepare: %d, want 422", code)
	}

	// Written's follow-ups are written in the same transaction.
	code, _ = send(t, "PUT", base+"/Patient/p1", `{"resourceType":"Patient","id":"p1"}`)
	if code != 201 {
		t.Fatalf("PUT Patient: %d", code)
	}
	if _, err := st.Read(ctx, "Basic", "shadow-p1"); err != nil {
		t.Fatalf("follow-up not written: %v", err)
	}
	_, bundle = send(t, "GET", base+"/Basic?subject=Patient/p1", "")
	if n, _ := bundle["total"].(float64); n != 1 {
		t.Errorf("follow-up is not indexed: total %v", bundle["total"])
	}
	// A second write updates the follow-up to version 2.
	send(t, "PUT", base+"/Patient/p1", `{"resourceType":"Patient","id":"p1","active":true}`)
	if v, err := st.Read(ctx, "Basic", "shadow-p1"); err != nil || v.VersionID != 2 {
		t.Errorf("follow-up after update: %v, %v", v, err)
	}

	// Committed saw the versions of each committed transaction.
	h.mu.Lock()
	got := h.committed
	h.mu.Unlock()
	want := []string{"Observation/o1", "Patient/p1 Basic/shadow-p1", "Patient/p1 Basic/shadow-p1"}
	if len(got) != len(want) {
		t.Fatalf("Committed calls: %v, want %v", got, want)
	}
	for i := range want {
		if strings.Join(got[i], " ") != want[i] {
			t.Errorf("Committed[%d] = %v, want %s", i, got[i], want[i])
		}
	}

	// A failing follow-up rolls the whole write back.
	h.conflict = true
	if code, _ := send(t, "PUT", base+"/Patient/p2", `{"resourceType":"Patient","id":"p2"}`); code < 400 || code >= 500 {
		t.Errorf("write with a conflicting follow-up: %d, want 4xx", code)
	}
	if _, err := st.Read(ctx, "Patient", "p2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Patient/p2 after a rolled-back write: %v, want not found", err)
	}
	// Transactions run hooks per entry, all or nothing.
	h.conflict = false
	code, _ = send(t, "POST", base, `{"resourceType":"Bundle","type":"transaction","entry":[
		{"resource":{"resourceType":"Patient","id":"p3"},"request":{"method":"PUT","url":"Patient/p3"}},
		{"resource":{"resourceType":"Observation","status":"final","code":{"text":"y"},"subject":{"reference":"Patient/p3"}},"request":{"method":"POST","url":"Observation"}}]}`)
	if code != 200 {
		t.Fatalf("transaction: %d", code)
	}
	if _, err := st.Read(ctx, "Basic", "shadow-p3"); err != nil {
		t.Errorf("follow-up of a transaction entry: %v", err)
	}
	_, bundle = send(t, "GET", base+"/Observation?_tag=urn:test|HOOKED&subject=Patient/p3", "")
	if n, _ := bundle["total"].(float64); n != 1 {
		t.Errorf("Prepare in a transaction: total %v", bundle["total"])
	}
}

// keepHook keeps the trees its Prepare sees, as the EMPI's in-memory index
// keeps names and identifiers of written Patients.
type keepHook struct {
	mu    sync.Mutex
	trees []map[string]any
}

func (h *keepHook) Prepare(ctx context.Context, typ, id string, res map[string]any) error {
	h.mu.Lock()
	h.trees = append(h.trees, res)
	h.mu.Unlock()
	return nil
}
func (h *keepHook) Written(context.Context, store.Reader, *store.Version, map[string]any) ([]fhirapi.Followup, error) {
	return nil, nil
}
func (h *keepHook) Committed(context.Context, []*store.Version) {}

// Request bodies are read into pooled buffers (decision 028): what a hook
// keeps of a written resource must not change when later bodies of the
// same size are read into the same memory, by single writes or Bundles.
func TestKeptTreesOutliveTheBodyBuffers(t *testing.T) {
	h := &keepHook{}
	base, _ := hookNode(t, h)
	patient := func(name string) string {
		return `{"resourceType":"Patient","name":[{"family":"` + name + `","given":["` + name + `"]}],"gender":"female"}`
	}
	names := []string{"aaaaaaaa", "bbbbbbbb", "cccccccc", "dddddddd"}
	for i, n := range names {
		if i%2 == 0 {
			if code, m := send(t, http.MethodPost, base+"/Patient", patient(n)); code != http.StatusCreated {
				t.Fatalf("create %s: %d %v", n, code, m)
			}
			continue
		}
		bundle := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + patient(n) +
			`,"request":{"method":"POST","url":"Patient"}}]}`
		if code, m := send(t, http.MethodPost, base, bundle); code != http.StatusOK {
			t.Fatalf("transaction %s: %d %v", n, code, m)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.trees) != len(names) {
		t.Fatalf("the hook saw %d writes, want %d", len(h.trees), len(names))
	}
	for i, tree := range h.trees {
		name := tree["name"].([]any)[0].(map[string]any)
		if name["family"] != names[i] || name["given"].([]any)[0] != names[i] || tree["gender"] != "female" {
			t.Errorf("write %d: the kept tree now says %v, %v (want %s)", i, name, tree["gender"], names[i])
		}
	}
}
