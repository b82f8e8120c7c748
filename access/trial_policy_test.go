package access

import (
	"context"
	"errors"
	"testing"
)

// The recognition catalogue and the qualifications are written by
// administrators and engines only; every role still reads them.
func TestDemoPolicyCatalogueWrites(t *testing.T) {
	ctx := context.Background()
	p := DemoPolicy{}
	for _, typ := range []string{"PlanDefinition", "ActivityDefinition", "OrganizationAffiliation", "Basic"} {
		for _, role := range []string{"clinician", "commission", "cdc", "viewer"} {
			for _, a := range []Action{Create, Update, Delete} {
				if err := p.Allow(ctx, Request{Principal: Principal{Role: role}, Action: a, ResourceType: typ}); !errors.Is(err, ErrDenied) {
					t.Errorf("%s %s %s: %v, want denied", role, a, typ, err)
				}
			}
			for _, a := range []Action{Read, Search, History} {
				if err := p.Allow(ctx, Request{Principal: Principal{Role: role}, Action: a, ResourceType: typ}); err != nil {
					t.Errorf("%s %s %s: %v", role, a, typ, err)
				}
			}
		}
		for _, role := range []string{"admin", "system"} {
			if err := p.Allow(ctx, Request{Principal: Principal{Role: role}, Action: Update, ResourceType: typ, ID: "x"}); err != nil {
				t.Errorf("%s update %s: %v", role, typ, err)
			}
		}
	}
	// other resources stay writable by the working roles
	for _, role := range []string{"clinician", "commission", "cdc"} {
		if err := p.Allow(ctx, Request{Principal: Principal{Role: role}, Action: Create, ResourceType: "Observation"}); err != nil {
			t.Errorf("%s create Observation: %v", role, err)
		}
	}
	for _, op := range []string{"$recognition-import", "$recognition-remark"} {
		if err := p.Allow(ctx, Request{Principal: Principal{Role: "clinician"}, Action: Operation, Operation: op}); !errors.Is(err, ErrDenied) {
			t.Errorf("clinician %s: %v", op, err)
		}
		if err := p.Allow(ctx, Request{Principal: Principal{Role: "admin"}, Action: Operation, Operation: op}); err != nil {
			t.Errorf("admin %s: %v", op, err)
		}
	}
	if err := p.Allow(ctx, Request{Principal: Principal{Role: "system"}, Action: Operation, Operation: "$audit"}); !errors.Is(err, ErrDenied) {
		t.Errorf("system $audit: %v (the audit trail is for administrators)", err)
	}
}
