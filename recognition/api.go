package recognition

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"

	"github.com/xietong/xietong/fhir/outcome"
)

// Programmes returns the catalogue as it stands: copies of the
// programmes with their items, sorted by code (for the console).
func (e *Engine) Programmes() []Programme {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]Programme, 0, len(e.s.progs))
	for _, p := range e.s.progs {
		cp := *p
		cp.Items = make([]*Item, len(p.Items))
		for i, it := range p.Items {
			c := *it
			cp.Items[i] = &c
		}
		out = append(out, cp)
	}
	slices.SortFunc(out, func(a, b Programme) int { return strings.Compare(a.Code, b.Code) })
	return out
}

// Members returns the memberships of an institution ("" for all).
func (e *Engine) Members(org string) []Membership {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []Membership
	for _, m := range e.s.rawMember {
		if org == "" || m.Organization == org {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Membership) int {
		return strings.Compare(a.Organization+"|"+a.Programme, b.Organization+"|"+b.Programme)
	})
	return out
}

// Record checks a decision and writes it as a Task through the Writer; it
// returns the Task's id. The errors are those of a POSTed decision Task
// (400 with the rule that was broken).
func (e *Engine) Record(ctx context.Context, d Decision) (string, error) {
	if e.Writer == nil {
		return "", errors.New("recognition: no Writer configured")
	}
	if d.ID == "" {
		var b [12]byte
		rand.Read(b[:])
		d.ID = "recognition-decision-" + hex.EncodeToString(b[:])
	}
	res := d.Resource()
	if err := e.Prepare(ctx, "Task", d.ID, res); err != nil {
		return "", err
	}
	if d.Date.IsZero() {
		return "", outcome.BadRequest("recognition decision: the date is required.")
	}
	if err := e.Writer.Write(ctx, []map[string]any{res}); err != nil {
		return "", err
	}
	return d.ID, nil
}
