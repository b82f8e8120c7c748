package server_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// $match (PDQm ITI-119) as the trial used it: a clerk who has only the
// patient's record number at another institution, or a Hong Kong
// resident's permit, found nobody (the index compares demographics only),
// and a misspelt onlyCertainMatches was ignored, so probable matches came
// back to a caller that asked for certain ones only.
func TestTrial5MatchByIdentifier(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "match.db"))
	do(t, "PUT", base+"/Patient/j1", fj, docPatient("j1", "440104001", "GZ0501", sidHKMacao, "H12345678", "陳偉強", "male", "1975-10-10")).wantStatus(t, 201)
	do(t, "PUT", base+"/Patient/k1", fj, withID("k1", pat("440106001", "TH0601", "", "", "林志明", "male", "1988-08-08", ""))).wantStatus(t, 201)
	m := masterOf(t, base, "j1")
	k := masterOf(t, base, "k1")
	query := func(ident string) string {
		return params(`{"name":"resource","resource":{"resourceType":"Patient","identifier":[` + ident + `]}}`)
	}
	for _, tt := range []struct{ name, ident, master string }{
		{"permit as typed", `{"system":"` + sidHKMacao + `","value":"h1234 5678"}`, m},
		{"record number", `{"system":"` + sidMRN + `440106001","value":"TH0601"}`, k},
	} {
		r := do(t, "POST", base+"/Patient/$match", fj, query(tt.ident)).wantStatus(t, 200)
		if r.str("total") != "1" || r.str("entry", 0, "resource", "id") != tt.master || r.str("entry", 0, "search", "extension", 0, "valueCode") != "certain" {
			t.Errorf("%s: want Patient/%s certain alone, got %s", tt.name, tt.master, r.body)
		}
	}
	r := do(t, "POST", base+"/Patient/$match", fj, query(`{"system":"`+sidHKMacao+`","value":"X1"}`))
	if r.status != 400 || !strings.Contains(r.diagnostics(), "H or M") {
		t.Errorf("a malformed permit number: %d %s, want 400 saying what a permit number is", r.status, r.body)
	}
	r = do(t, "POST", base+"/Patient/$match", fj, params(`{"name":"resource","resource":{"resourceType":"Patient","name":[{"text":"陈伟强"}]}}`, `{"name":"onlyCertainMatch","valueBoolean":true}`))
	if r.status != 400 || !strings.Contains(r.diagnostics(), "onlyCertainMatches") {
		t.Errorf("a misspelt onlyCertainMatches: %d %s, want 400 naming the parameters $match takes", r.status, r.body)
	}
}

// A query with a birth date (and an identifier nobody carries) graded a
// stranger born that day "probable": PDQm's probable is a close match a
// person should review, and a shared birth date is none.
func TestTrial5MatchOnBirthDateAloneIsNotProbable(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "birth.db"))
	do(t, "PUT", base+"/Patient/y1", fj, withID("y1", pat("440104001", "GZ0701", "", "", "于艳涵", "female", "1980-01-02", "13912345678"))).wantStatus(t, 201)
	r := do(t, "POST", base+"/Patient/$match", fj, params(`{"name":"resource","resource":{"resourceType":"Patient","birthDate":"1980-01-02","identifier":[{"system":"`+sidPassport+`USA","value":"545123456"}]}}`)).wantStatus(t, 200)
	if strings.Contains(string(r.body), `"probable"`) || strings.Contains(string(r.body), `"certain"`) {
		t.Errorf("a stranger born the same day is graded above possible: %s", r.body)
	}
}
