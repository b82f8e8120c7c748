package recognition

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/open"
	"github.com/xietong/xietong/store/postgres/pgtest"
)

// hookWriter writes resources the way the API does for the engine: its
// Prepare, the store's Put with the indexer's entries, Written in the
// transaction, Committed after it.
type hookWriter struct {
	e  *Engine
	st store.Store
	ix *search.Indexer
	t0 time.Time
}

func (w *hookWriter) Write(ctx context.Context, resources []map[string]any) error {
	tx, err := w.st.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var vs []*store.Version
	for _, r := range resources {
		typ, id := r["resourceType"].(string), r["id"].(string)
		if err := w.e.Prepare(ctx, typ, id, r); err != nil {
			return err
		}
		vid := int64(1)
		if cur, err := tx.Read(ctx, typ, id); err == nil {
			vid = cur.VersionID + 1
		}
		meta, _ := r["meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			r["meta"] = meta
		}
		meta["versionId"] = strconv.FormatInt(vid, 10)
		meta["lastUpdated"] = w.t0.Format(time.RFC3339Nano)
		b, err := fhirjson.Marshal(r)
		if err != nil {
			return err
		}
		x, err := w.ix.Index(typ, r)
		if err != nil {
			return err
		}
		if err := tx.Put(ctx, &store.Write{Type: typ, ID: id, VersionID: vid, LastUpdated: w.t0, Method: "PUT", Body: b, Index: x}); err != nil {
			return err
		}
		v := &store.Version{Type: typ, ID: id, VersionID: vid, LastUpdated: w.t0, Method: "PUT", Body: b}
		if _, err := w.e.Written(ctx, tx, v, r); err != nil {
			return err
		}
		vs = append(vs, v)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	w.e.Committed(ctx, vs)
	return nil
}

var remarkCatalogue = Catalogue{
	Programmes: []*Programme{{Code: "p1", Name: "检验", Items: []*Item{
		{Code: "K", Name: "钾", Category: "biochemistry", Codes: []string{"http://loinc.org|6298-4", "http://loinc.org|2823-3"}, WindowDays: 7, Price: 5, EQA: true},
		{Code: "Glu", Name: "葡萄糖", Category: "biochemistry", Codes: []string{"http://loinc.org|2339-0"}, WindowDays: 30, Price: 4, EQA: true},
	}}},
}

// TestRemarkReadsOnlyTheAffectedResults: after an EQA failure, a
// membership change or a catalogue change, re-marking reads the rows of
// the results concerned (one issuer's, one item's), not the projection.
func TestRemarkReadsOnlyTheAffectedResults(t *testing.T) {
	onBothStores(t, func(t *testing.T, ctx context.Context, kind string, st store.Store, e *Engine, w *hookWriter, now time.Time) {
		cat := remarkCatalogue
		for _, o := range []string{"big", "small", "other"} {
			cat.Members = append(cat.Members, Membership{Programme: "p1", Organization: o, From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
			for _, it := range []string{"K", "Glu"} {
				cat.EQA = append(cat.EQA, EQAResult{Organization: o, Item: it, Year: 2026, Date: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Passed: true})
			}
		}
		res := cat.Resources()
		for _, o := range []string{"big", "small", "other"} {
			res = append(res, map[string]any{"resourceType": "Organization", "id": o, "name": o})
		}
		if err := w.Write(ctx, res); err != nil {
			t.Fatal(err)
		}
		// big: 200 K and 200 Glu results; small: 3 K, 2 Glu; other: 1 K.
		var obs []map[string]any
		add := func(org, loinc string, n int) {
			for i := range n {
				obs = append(obs, map[string]any{"resourceType": "Observation", "id": fmt.Sprintf("%s-%s-%d", org, loinc, i), "status": "final",
					"code":              map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": loinc}}},
					"subject":           map[string]any{"reference": "Patient/p" + strconv.Itoa(i%20)},
					"effectiveDateTime": "2026-10-" + fmt.Sprintf("%02d", 1+i%28),
					"performer":         []any{map[string]any{"reference": "Organization/" + org}},
					"valueQuantity":     map[string]any{"value": 4.2, "unit": "mmol/L"}})
			}
		}
		add("big", "6298-4", 200)
		add("big", "2339-0", 200)
		add("small", "6298-4", 3)
		add("small", "2339-0", 2)
		add("other", "6298-4", 1)
		if err := w.Write(ctx, obs); err != nil {
			t.Fatal(err)
		}
		marked := func(id string) bool {
			v, err := st.Read(ctx, "Observation", id)
			if err != nil {
				t.Fatal(err)
			}
			return strings.Contains(string(v.Body), `"code":"HR"`)
		}
		if !marked("small-6298-4-0") || !marked("big-2339-0-7") {
			t.Fatal("results of qualified issuers are not marked")
		}

		for _, c := range []struct {
			name        string
			change      func() []remarkScope // what Committed queued
			wantScanned int
			wantChanged int
			marked      map[string]bool
		}{
			{"EQA failure of one issuer for one item", func() []remarkScope {
				q := EQAResult{Organization: "small", Item: "K", Year: 2026, Date: time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC), Passed: false}
				return commit(t, e, w, (&Catalogue{EQA: []EQAResult{q}}).Resources())
			}, 3, 3, map[string]bool{"small-6298-4-0": false, "small-2339-0-0": true, "big-6298-4-0": true, "other-6298-4-0": true}},
			{"membership of the small issuer ends", func() []remarkScope {
				m := Membership{Programme: "p1", Organization: "small", From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}
				return commit(t, e, w, (&Catalogue{Members: []Membership{m}}).Resources())
			}, 5, 2, map[string]bool{"small-2339-0-1": false, "big-2339-0-1": true}},
			{"a catalogue item changes its codes", func() []remarkScope {
				c := remarkCatalogue
				c.Programmes = []*Programme{{Code: "p1", Name: "检验", Items: []*Item{c.Programmes[0].Items[0], {Code: "Glu", Name: "葡萄糖", Category: "biochemistry", Codes: []string{"http://loinc.org|2345-7"}, WindowDays: 30, Price: 4, EQA: true}}}}
				return commit(t, e, w, c.Resources())
			}, 202, 200, map[string]bool{"big-2339-0-3": false, "big-6298-4-3": true}},
		} {
			t.Run(c.name, func(t *testing.T) {
				scopes := c.change()
				scanned, changed := 0, 0
				for _, sc := range scopes {
					n, s, err := e.remark(ctx, sc)
					if err != nil {
						t.Fatal(err)
					}
					scanned, changed = scanned+s, changed+n
				}
				if scanned != c.wantScanned || changed != c.wantChanged {
					t.Errorf("scopes %+v read %d projection rows and changed %d results; want %d and %d", scopes, scanned, changed, c.wantScanned, c.wantChanged)
				}
				for id, want := range c.marked {
					if got := marked(id); got != want {
						t.Errorf("%s marked %v, want %v", id, got, want)
					}
				}
			})
		}
		if kind == "sqlite" {
			// The plans: an index, never a scan of the whole table.
			for _, sc := range []remarkScope{{issuer: "small", codes: []string{"http://loinc.org|6298-4"}}, {codes: []string{"http://loinc.org|6298-4"}}, {issuer: "small", all: true}} {
				q, args := remarkQuery(sc)
				rows, err := e.sql.QuerySQL(ctx, "EXPLAIN QUERY PLAN "+q, args...)
				if err != nil {
					t.Fatal(err)
				}
				var plan []string
				for rows.Next() {
					var id, parent, notused int
					var detail string
					if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
						t.Fatal(err)
					}
					plan = append(plan, detail)
				}
				rows.Close()
				p := strings.Join(plan, "; ")
				if strings.Contains(p, "SCAN recognition_result") || !strings.Contains(p, "INDEX recognition_result_") {
					t.Errorf("scope %+v: plan %q reads the whole projection", sc, p)
				}
			}
		}
	})
}

// commit writes resources through w with a remarker that only records
// the scopes Committed queues (the test runs them itself).
func commit(t *testing.T, e *Engine, w *hookWriter, res []map[string]any) []remarkScope {
	t.Helper()
	e.auto = &remarker{pending: map[string]remarkScope{}, wake: make(chan struct{}, 1)}
	defer func() { e.auto = nil }()
	if err := w.Write(context.Background(), res); err != nil {
		t.Fatal(err)
	}
	var out []remarkScope
	for _, sc := range e.auto.pending {
		out = append(out, sc)
	}
	return out
}

// onBothStores runs f on a new store of each kind ("sqlite", "postgres" through
// pgtest), with an engine whose clock stands at 2026-11-01 10:00 UTC and
// whose follow-up writes go through a hookWriter.
func onBothStores(t *testing.T, f func(t *testing.T, ctx context.Context, kind string, st store.Store, e *Engine, w *hookWriter, now time.Time)) {
	for _, db := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "r.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Schema(t) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := open.Open(ctx, db.dsn(t), open.WithMigrate())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
			e, err := New(ctx, st, Options{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			w := &hookWriter{e: e, st: st, ix: search.NewIndexer(e.loc), t0: now}
			e.Writer = w
			f(t, ctx, db.name, st, e, w, now)
		})
	}
}
