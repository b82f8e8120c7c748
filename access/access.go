// Package access is the one authorisation point of Xietong: every read and
// write of a resource, by any path (the FHIR API, operations, the console,
// engines acting for a user), asks Guard.Check before touching the store,
// and every decision is handed to an audit Recorder.
//
// It must not depend on the store, the HTTP layer or any engine: callers
// describe the access; the guard decides and records.
package access

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Action is what a request does.
type Action string

const (
	Read      Action = "read" // read, vread
	Search    Action = "search"
	History   Action = "history"
	Create    Action = "create"
	Update    Action = "update" // update and patch
	Delete    Action = "delete"
	Operation Action = "operation"
)

// Principal is who acts. Until real authentication exists every request
// carries the demo principal the console or the API client chose; the
// guard and the audit trail treat it like any other.
type Principal struct {
	Subject      string // user or system id
	Role         string // clinician, cdc, commission, admin, system
	Organization string // Organization id the principal acts for ("" for the platform)
	Demo         bool   // chosen in demo mode, not authenticated
}

// Request describes one access.
type Request struct {
	Principal    Principal
	Action       Action
	ResourceType string // "" for system-wide searches and history
	ID           string // "" for type-level access
	Operation    string // "$everything" ... for Action Operation
	Source       string // where the request came from (remote address, "console", an engine name)
}

// ErrDenied is returned (wrapped) when the guard refuses an access.
var ErrDenied = errors.New("access denied")

// Policy decides whether an access is allowed.
type Policy interface {
	Allow(ctx context.Context, r Request) error
}

// Recorder keeps the audit trail. Record must not block on slow storage:
// implementations buffer.
type Recorder interface {
	Record(e Event)
}

// Event is one audited decision.
type Event struct {
	Time    time.Time
	Request Request
	Allowed bool
	Reason  string // why it was denied
}

// Guard combines a policy and a recorder. The zero value denies everything.
type Guard struct {
	Policy   Policy
	Recorder Recorder
	Now      func() time.Time
	// Default is the principal of a request whose context carries none
	// (in demo mode, the demo administrator); the zero value leaves such
	// requests without a role, which DemoPolicy denies.
	Default Principal
}

// Check authorises r and records the decision. A denial wraps ErrDenied.
func (g *Guard) Check(ctx context.Context, r Request) error {
	if r.Principal == (Principal{}) {
		if p, ok := PrincipalFrom(ctx); ok {
			r.Principal = p
		} else if g != nil {
			r.Principal = g.Default
		}
	}
	var err error
	if g == nil || g.Policy == nil {
		err = fmt.Errorf("%w: no access policy is configured", ErrDenied)
	} else {
		err = g.Policy.Allow(ctx, r)
	}
	if g != nil && g.Recorder != nil {
		now := time.Now
		if g.Now != nil {
			now = g.Now
		}
		e := Event{Time: now(), Request: r, Allowed: err == nil}
		if err != nil {
			e.Reason = err.Error()
		}
		g.Recorder.Record(e)
	}
	return err
}

// Syncer is a Recorder that can make the records it was handed durable
// on demand (audit.Writer).
type Syncer interface {
	Sync(ctx context.Context) error
}

// Sync makes every decision recorded so far durable, when the Recorder can
// (a Syncer); otherwise it returns nil. Writes call it before they begin,
// so that the record of a write is never less durable than the write.
func (g *Guard) Sync(ctx context.Context) error {
	if g == nil {
		return nil
	}
	if s, ok := g.Recorder.(Syncer); ok {
		return s.Sync(ctx)
	}
	return nil
}

type principalKey struct{}

// WithPrincipal returns a context carrying the acting principal.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// DemoPolicy is the policy of demo mode, before real authentication:
// every chosen role may read; writes need a role other than "viewer"; the
// region's reference data that decides recognition (the catalogue and the
// qualifications: see AdminTypes) is written by administrators and the
// platform's own engines only, as the console already offered it
// (decision 021). It still runs for every access, so the audit trail is
// complete.
type DemoPolicy struct{}

// AdminTypes are the resource types only an administrator (or an engine
// acting as "system") may create, update or delete: the recognition
// catalogue (PlanDefinition, ActivityDefinition) and the qualifications
// (OrganizationAffiliation: programme memberships and the directory's
// cooperations; Basic: EQA results). A hospital's system or a clinician
// writing them would change which results every institution of the
// region must accept.
var AdminTypes = map[string]bool{
	"PlanDefinition": true, "ActivityDefinition": true, "OrganizationAffiliation": true, "Basic": true,
}

// adminOperations change the catalogue or re-mark results region-wide.
var adminOperations = map[string]bool{
	"$recognition-import": true, "$recognition-remark": true,
}

func (DemoPolicy) Allow(_ context.Context, r Request) error {
	role := r.Principal.Role
	switch role {
	case "":
		return fmt.Errorf("%w: no role chosen", ErrDenied)
	case "viewer":
		if r.Action != Read && r.Action != Search && r.Action != History {
			return fmt.Errorf("%w: the viewer role may only read", ErrDenied)
		}
	}
	privileged := role == "admin" || role == "system"
	if r.Operation == "$audit" && role != "admin" {
		return fmt.Errorf("%w: only administrators may read the audit trail", ErrDenied)
	}
	if adminOperations[r.Operation] && !privileged {
		return fmt.Errorf("%w: only administrators may run %s", ErrDenied, r.Operation)
	}
	if (r.Action == Create || r.Action == Update || r.Action == Delete) && AdminTypes[r.ResourceType] && !privileged {
		return fmt.Errorf("%w: only administrators may write %s (the recognition catalogue and qualifications); the %s role may read it", ErrDenied, r.ResourceType, role)
	}
	return nil
}
