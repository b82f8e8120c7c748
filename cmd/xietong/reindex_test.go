package main

import (
	"bytes"
	"context"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/open"
	"github.com/xietong/xietong/store/postgres/pgtest"
)

// TestReindex writes resources the way an older binary did (no index
// entries at all), runs `xietong reindex` on both stores, and checks that
// the searches the entries serve find them afterwards (canonical units, the
// token entries' patient), that versions are untouched and deletions stay
// out, that a second run and a resumed run are harmless, and that the run
// is in the audit trail.
func TestReindex(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testReindex(t, filepath.Join(t.TempDir(), "reindex.db")) })
	t.Run("postgres", func(t *testing.T) { testReindex(t, pgtest.Schema(t)) })
}

func testReindex(t *testing.T, dsn string) {
	ctx := context.Background()
	st, err := open.Open(ctx, dsn, open.WithMigrate())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	put := func(typ, id string, version int64, body string) {
		t.Helper()
		tx, err := st.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		w := &store.Write{Type: typ, ID: id, VersionID: version, LastUpdated: now, Method: "PUT", Body: []byte(body), Delete: body == ""}
		if err := tx.Put(ctx, w); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	obs := func(id, code, value, unit string) string {
		return `{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"` + code + `"}]},
			"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":` + value + `,"system":"http://unitsofmeasure.org","code":"` + unit + `"}}`
	}
	put("Patient", "p1", 1, `{"resourceType":"Patient","id":"p1","name":[{"family":"Wang"}]}`)
	put("Patient", "p2", 1, `{"resourceType":"Patient","id":"p2","name":[{"family":"Zhao"}]}`)
	put("Observation", "o1", 1, obs("o1", "2339-0", "95", "mg/dL"))
	put("Observation", "o2", 1, obs("o2", "2339-0", "1", "mg/dL"))
	put("Observation", "o2", 2, obs("o2", "2339-0", "1.2", "g/L"))
	put("Observation", "o3", 1, obs("o3", "718-7", "13", "g/dL"))
	put("Observation", "o3", 2, "") // deleted
	for i := range 5 {
		id := "x" + string(rune('a'+i))
		put("Organization", id, 1, `{"resourceType":"Organization","id":"`+id+`","name":"Org `+id+`"}`)
	}

	find := func(typ, q string) []string {
		t.Helper()
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		r, err := search.Parse(typ, v, search.Options{Strict: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Search(ctx, r.Query)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range res.Matches {
			ids = append(ids, m.ID)
		}
		slices.Sort(ids)
		return ids
	}
	checks := []struct{ typ, q, want string }{
		{"Observation", "value-quantity=gt1|http://unitsofmeasure.org|g/L", "o2"},
		{"Observation", "value-quantity=950|http://unitsofmeasure.org|mg/L", "o1"},
		{"Observation", "code=http://loinc.org|2339-0", "o1 o2"},
		{"Observation", "code=718-7", ""},
		{"Patient", "_has:Observation:patient:code=http://loinc.org|2339-0", "p1"},
		{"Patient", "name=zhao", "p2"},
		{"Organization", "name=org", "xa xb xc xd xe"},
	}
	for _, c := range checks {
		if got := find(c.typ, c.q); len(got) != 0 {
			t.Fatalf("%s?%s before the reindex: %v", c.typ, c.q, got)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	reindex := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(ctx, append([]string{"reindex", "--db", dsn}, args...), nil, &out, &errOut); code != 0 {
			t.Fatalf("reindex %v: exit %d: %s %s", args, code, out.String(), errOut.String())
		}
		return out.String()
	}
	// 9 current resources (o3 is deleted), 2 per batch.
	out := reindex("--batch", "2")
	if !strings.Contains(out, "done: 9 resources reindexed, 0 skipped") {
		t.Errorf("first run: %s", out)
	}
	st, err = open.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		for _, c := range checks {
			if got := strings.Join(find(c.typ, c.q), " "); got != c.want {
				t.Errorf("%s: %s?%s: %q, want %q", when, c.typ, c.q, got, c.want)
			}
		}
		if v, err := st.Read(ctx, "Observation", "o2"); err != nil || v.VersionID != 2 {
			t.Errorf("%s: o2 is version %v (%v), want 2", when, v, err)
		}
	}
	check("after the reindex")
	st.Close()

	// Again, one type only; then resumed after the first batch.
	if out := reindex("--type", "Observation"); !strings.Contains(out, "done: 2 resources reindexed") {
		t.Errorf("second run: %s", out)
	}
	first := reindex("--batch", "4")
	cur := regexp.MustCompile(`--after (\S+)`).FindStringSubmatch(first)
	if cur == nil {
		t.Fatalf("no cursor in %q", first)
	}
	if out := reindex("--batch", "4", "--after", cur[1]); !strings.Contains(out, "done: 5 resources reindexed") {
		t.Errorf("resumed after the first 4: %s", out)
	}
	var errOut bytes.Buffer
	if code := run(ctx, []string{"reindex", "--db", dsn, "--after", "not-a-cursor"}, nil, &bytes.Buffer{}, &errOut); code != 1 || !strings.Contains(errOut.String(), "cursor") {
		t.Errorf("a bad cursor: exit %d, %s", code, errOut.String())
	}

	st, err = open.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check("after three more runs")
	recs, _, err := st.(store.AuditLog).ReadAudit(ctx, store.AuditQuery{Subject: "system/reindex"})
	if err != nil || len(recs) < 4 {
		t.Errorf("audit records of the runs: %d, %v", len(recs), err)
	}
}
