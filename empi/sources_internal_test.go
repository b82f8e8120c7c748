package empi

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/open"
)

// A master's sources read by id through its seealso links and the source
// just written (sourcesLinked) are the ones the search by link finds
// (sourcesOf): a source that moved to another master, a deleted one and
// the master itself are left out, the new one is in.
func TestSourcesLinkedAgreesWithSearch(t *testing.T) {
	ctx := context.Background()
	st, err := open.Open(ctx, filepath.Join(t.TempDir(), "s.db"), open.WithMigrate())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ix := search.NewIndexer(time.UTC)
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	refer := func(id, master string) map[string]any {
		return map[string]any{"resourceType": "Patient", "id": id, "name": []any{map[string]any{"text": "张伟"}},
			"link": []any{map[string]any{"other": map[string]any{"reference": "Patient/" + master}, "type": "refer"}}}
	}
	master := Golden("m", []*store.Version{{ID: "a"}, {ID: "moved"}, {ID: "gone"}}, []map[string]any{refer("a", "m"), refer("moved", "m"), refer("gone", "m")}, BasisAsserted, now)
	put := func(tx store.Tx, res map[string]any, version int64, del bool) {
		t.Helper()
		b, err := fhirjson.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		w := &store.Write{Type: "Patient", ID: res["id"].(string), VersionID: version, LastUpdated: now, Method: "PUT", Body: b, Delete: del}
		if !del {
			if w.Index, err = ix.Index("Patient", res); err != nil {
				t.Fatal(err)
			}
		} else {
			w.Body, w.Method = nil, "DELETE"
		}
		if err := tx.Put(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	put(tx, master, 1, false)
	put(tx, refer("a", "m"), 1, false)
	put(tx, refer("moved", "m"), 1, false)
	put(tx, refer("gone", "m"), 1, false)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx, err = st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	put(tx, refer("moved", "other"), 2, false)
	put(tx, map[string]any{"resourceType": "Patient", "id": "gone"}, 2, true)
	put(tx, refer("new", "m"), 1, false)
	prev, err := tx.Read(ctx, "Patient", "m")
	if err != nil {
		t.Fatal(err)
	}
	pm, err := fhirjson.Decode(prev.Body, fhirjson.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(vs []*store.Version) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.ID)
		}
		slices.Sort(out)
		return out
	}
	searched, _, err := sourcesOf(ctx, tx, "m")
	if err != nil {
		t.Fatal(err)
	}
	linked, bodies, err := sourcesLinked(ctx, tx, "m", pm, "new")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(linked), ids(searched); !slices.Equal(got, want) || !slices.Equal(got, []string{"a", "new"}) {
		t.Fatalf("sources by seealso links %v, by search %v; want [a new] from both", got, want)
	}
	if len(bodies) != len(linked) || bodies[0]["id"] != linked[0].ID {
		t.Fatalf("bodies do not go with their versions: %v", bodies)
	}
}
