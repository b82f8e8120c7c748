package demo_test

import (
	"strings"
	"testing"

	"github.com/xietong/xietong/demo"
	"github.com/xietong/xietong/empi"
	"github.com/xietong/xietong/identity/match"
)

// The near-duplicates give the EMPI work in a fresh demo: the records with
// the resident's ID number link automatically to the resident, the ones
// without go to the review queue with the resident as the candidate.
// Checked with the EMPI's own matcher and model on a region of 2,000
// patients (50 near-duplicates).
func TestDuplicatesMatch(t *testing.T) {
	cfg := demo.Small()
	cfg.Patients = 2000
	g := generate(t, cfg)
	if len(g.dups) < 40 {
		t.Fatalf("%d near-duplicate records in the small region, want at least 4 (one of each kind)", len(g.dups))
	}
	ix := match.NewIndex(match.DefaultModel())
	master := map[string]match.MasterID{}
	for _, p := range g.byType["Patient"] {
		res := ix.Link(empi.Record(p))
		master[p["id"].(string)] = res.Master
	}
	decisions := map[match.Decision]int{}
	for _, d := range g.dups {
		id := d["id"].(string)
		orig := "demo-pat-" + strings.TrimPrefix(id, "demo-dup-")
		_, hasID := residentID(d)
		res := ix.Link(empi.Record(d))
		decisions[res.Decision]++
		want := match.Review
		if hasID {
			want = match.Link
		}
		if res.Decision != want {
			t.Errorf("%s (%v): decision %v, want %v; candidates %+v", id, d["name"], res.Decision, want, res.Candidates)
			continue
		}
		if len(res.Candidates) == 0 || res.Candidates[0].Master != master[orig] {
			t.Errorf("%s: best candidate %+v, want the master of %s", id, res.Candidates, orig)
		}
		if _, ok := g.byRef["Patient/"+orig]; !ok {
			t.Errorf("%s: no resident %s", id, orig)
		}
	}
	if decisions[match.Link] == 0 || decisions[match.Review] == 0 {
		t.Errorf("decisions %v: want some linked and some for review", decisions)
	}
}

func residentID(p obj) (string, bool) {
	ids := identifiers(p, "https://xietong.dev/fhir/sid/resident-id")
	if len(ids) == 0 {
		return "", false
	}
	return ids[0], true
}
