package access

import (
	"context"
	"errors"
	"testing"
)

type recorder struct{ events []Event }

func (r *recorder) Record(e Event) { r.events = append(r.events, e) }

func TestGuardDecidesAndRecordsEveryAccess(t *testing.T) {
	rec := &recorder{}
	g := &Guard{Policy: DemoPolicy{}, Recorder: rec, Default: Principal{Subject: "demo", Role: "admin", Demo: true}}
	ctx := context.Background()
	if err := g.Check(ctx, Request{Action: Read, ResourceType: "Patient", ID: "1"}); err != nil {
		t.Fatalf("default admin read: %v", err)
	}
	viewer := WithPrincipal(ctx, Principal{Subject: "v", Role: "viewer"})
	if err := g.Check(viewer, Request{Action: Search, ResourceType: "Observation"}); err != nil {
		t.Fatalf("viewer search: %v", err)
	}
	if err := g.Check(viewer, Request{Action: Delete, ResourceType: "Patient", ID: "1"}); !errors.Is(err, ErrDenied) {
		t.Fatalf("viewer delete: %v, want ErrDenied", err)
	}
	noRole := &Guard{Policy: DemoPolicy{}, Recorder: rec}
	if err := noRole.Check(ctx, Request{Action: Read, ResourceType: "Patient", ID: "1"}); !errors.Is(err, ErrDenied) {
		t.Fatalf("no principal: %v, want ErrDenied", err)
	}
	var nilGuard *Guard
	if err := nilGuard.Check(ctx, Request{Action: Read}); !errors.Is(err, ErrDenied) {
		t.Fatalf("nil guard: %v, want ErrDenied", err)
	}
	if len(rec.events) != 4 {
		t.Fatalf("%d decisions recorded, want 4", len(rec.events))
	}
	if e := rec.events[2]; e.Allowed || e.Request.Principal.Role != "viewer" || e.Reason == "" {
		t.Errorf("denial recorded as %+v", e)
	}
	if e := rec.events[0]; !e.Allowed || e.Request.Principal.Subject != "demo" {
		t.Errorf("default principal recorded as %+v", e)
	}
}
