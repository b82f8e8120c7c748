package audit

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/store"
)

type memLog struct {
	mu      sync.Mutex
	batches [][]store.AuditRecord
	fail    int // fail this many appends first
}

func (m *memLog) AppendAudit(_ context.Context, recs []store.AuditRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail > 0 {
		m.fail--
		return context.DeadlineExceeded
	}
	m.batches = append(m.batches, append([]store.AuditRecord(nil), recs...))
	return nil
}

func (m *memLog) ReadAudit(context.Context, store.AuditQuery) ([]store.AuditRecord, string, error) {
	return nil, "", nil
}

func (m *memLog) count() (records, batches int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.batches {
		records += len(b)
	}
	return records, len(m.batches)
}

func TestWriterBatchesAndFlushesOnClose(t *testing.T) {
	log := &memLog{fail: 1}
	w := NewWriter(log, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{MaxBatch: 100, FlushEvery: time.Hour})
	for i := 0; i < 250; i++ {
		w.Record(access.Event{Time: time.Now(), Allowed: i%2 == 0, Request: access.Request{Action: access.Read, ResourceType: "Patient", ID: "p"}})
	}
	w.Close()
	records, batches := log.count()
	if records != 250 || batches != 3 {
		t.Fatalf("appended %d records in %d batches, want 250 in 3 (one failed append retried)", records, batches)
	}
	if r := log.batches[0][1]; r.Allowed || r.Action != "read" || r.ResourceType != "Patient" {
		t.Errorf("record = %+v", r)
	}
}

func TestEvent(t *testing.T) {
	ev := Event(store.AuditRecord{Seq: 7, Time: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), Subject: "dr-wang", Role: "clinician",
		Action: "search", ResourceType: "Observation", Allowed: true, Source: "10.0.0.1:5000"})
	if ev["id"] != "audit-7" || ev["action"] != "E" || ev["outcome"] != "0" || ev["recorded"] != "2026-11-22T08:00:00.000000Z" {
		t.Errorf("event = %v", ev)
	}
}

// Sync appends every record handed over before it, without waiting for
// FlushEvery, and reports an append that failed for good.
func TestSyncMakesRecordedDecisionsDurable(t *testing.T) {
	log := &memLog{}
	w := NewWriter(log, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{MaxBatch: 100, FlushEvery: time.Hour})
	defer w.Close()
	g := &access.Guard{Policy: access.DemoPolicy{}, Recorder: w, Default: access.Principal{Subject: "a", Role: "admin"}}
	for i := 0; i < 7; i++ {
		g.Check(context.Background(), access.Request{Action: access.Create, ResourceType: "Patient"})
	}
	if err := g.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if records, _ := log.count(); records != 7 {
		t.Fatalf("after Sync %d records are durable, want 7", records)
	}
	if err := g.Sync(context.Background()); err != nil { // nothing queued
		t.Fatal(err)
	}
	log.mu.Lock()
	log.fail = 5
	log.mu.Unlock()
	w.Record(access.Event{Time: time.Now(), Allowed: true, Request: access.Request{Action: access.Update, ResourceType: "Patient", ID: "p"}})
	if err := w.Sync(context.Background()); err == nil {
		t.Fatal("Sync reported success though the append failed")
	}
}

// Records dropped by a failed append (after its retries) make the next Sync
// fail, even when a later append succeeds before it: Sync vouches for every
// record handed to Record before it was called.
func TestSyncReportsRecordsLostBeforeIt(t *testing.T) {
	log := &memLog{fail: 5}
	w := NewWriter(log, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{MaxBatch: 2, FlushEvery: time.Hour})
	defer w.Close()
	rec := func(id string) {
		w.Record(access.Event{Time: time.Now(), Allowed: true, Request: access.Request{Action: access.Update, ResourceType: "Patient", ID: id}})
	}
	rec("a")
	rec("b") // a full batch: appended at once, and lost after five failures
	rec("c")
	if err := w.Sync(context.Background()); err == nil {
		t.Fatal("Sync reported success though records recorded before it were lost")
	}
	if records, _ := log.count(); records != 1 {
		t.Fatalf("%d records stored, want 1", records)
	}
	// The loss has been reported; later Syncs vouch for later records.
	rec("d")
	if err := w.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}
