package recognition

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/store"
)

// A DiagnosticReport naming its performer gives that issuer to its
// results that name none (and only to those), once each, and asks for the
// mark on those that then qualify.
func TestReportAdoptsItsOrphanResults(t *testing.T) {
	onBothStores(t, func(t *testing.T, ctx context.Context, kind string, st store.Store, e *Engine, w *hookWriter, now time.Time) {
		cat := remarkCatalogue
		cat.Members = []Membership{{Programme: "p1", Organization: "lab", From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}}
		cat.EQA = nil
		for _, it := range []string{"K", "Glu"} {
			cat.EQA = append(cat.EQA, EQAResult{Organization: "lab", Item: it, Year: 2026, Date: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Passed: true})
		}
		res := append(cat.Resources(), map[string]any{"resourceType": "Organization", "id": "lab", "name": "lab"},
			map[string]any{"resourceType": "Organization", "id": "other", "name": "other"})
		obs := func(id, loinc, performer, status string) map[string]any {
			o := map[string]any{"resourceType": "Observation", "id": id, "status": status,
				"code":              map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": loinc}}},
				"subject":           map[string]any{"reference": "Patient/p1"},
				"effectiveDateTime": "2026-10-01"}
			if performer != "" {
				o["performer"] = []any{map[string]any{"reference": "Organization/" + performer}}
			}
			return o
		}
		res = append(res, obs("o1", "6298-4", "", "final"), obs("o2", "2339-0", "", "final"),
			obs("o3", "6298-4", "other", "final"), obs("o4", "6298-4", "", "preliminary"), obs("o5", "2823-3", "", "final"))
		if err := w.Write(ctx, res); err != nil {
			t.Fatal(err)
		}

		report := func(id string, results ...string) []string {
			t.Helper()
			dr := map[string]any{"resourceType": "DiagnosticReport", "id": id, "status": "final",
				"code":              map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "24323-8"}}},
				"subject":           map[string]any{"reference": "Patient/p1"},
				"effectiveDateTime": "2026-10-01",
				"performer":         []any{map[string]any{"reference": "Organization/lab"}}}
			var refs []any
			for _, r := range results {
				refs = append(refs, map[string]any{"reference": "Observation/" + r})
			}
			dr["result"] = refs
			tx, err := st.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if err := e.Prepare(ctx, "DiagnosticReport", id, dr); err != nil {
				t.Fatal(err)
			}
			body, _ := fhirjson.Marshal(dr)
			x, _ := w.ix.Index("DiagnosticReport", dr)
			if err := tx.Put(ctx, &store.Write{Type: "DiagnosticReport", ID: id, VersionID: 1, LastUpdated: now, Method: "PUT", Body: body, Index: x}); err != nil {
				t.Fatal(err)
			}
			fs, err := e.Written(ctx, tx, &store.Version{Type: "DiagnosticReport", ID: id, VersionID: 1, LastUpdated: now, Method: "PUT", Body: body}, dr)
			if err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			var marked []string
			for _, f := range fs {
				if f.Resource["resourceType"] == "Observation" && hasMark(f.Resource) {
					marked = append(marked, f.Resource["id"].(string)+"@"+strconv.FormatInt(f.IfVersion, 10))
				}
			}
			return marked
		}
		issuers := func() map[string]string {
			t.Helper()
			rows, err := st.(store.EngineSQL).QuerySQL(ctx, `SELECT rid, issuer, marked FROM recognition_result WHERE rtype = 'Observation'`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[string]string{}
			for rows.Next() {
				var id, issuer string
				var m int
				if err := rows.Scan(&id, &issuer, &m); err != nil {
					t.Fatal(err)
				}
				out[id] = issuer + "/" + strconv.Itoa(m)
			}
			return out
		}

		// o1 listed twice, o3 has its own issuer, o4 has no row, o9 does
		// not exist; o5 is not in the report.
		got := report("dr1", "o1", "o3", "o2", "o4", "o1", "o9")
		if want := []string{"o1@1", "o2@1"}; !slices.Equal(got, want) {
			t.Errorf("marked by the report: %v, want %v", got, want)
		}
		rows := issuers()
		want := map[string]string{"o1": "lab/1", "o2": "lab/1", "o3": "other/0", "o5": "/0"}
		if len(rows) != len(want) {
			t.Errorf("rows: %v, want %v", rows, want)
		}
		for id, w := range want {
			if rows[id] != w {
				t.Errorf("row of %s: %q, want %q (all: %v)", id, rows[id], w, rows)
			}
		}
		// A second report naming them again adopts nothing more.
		if got := report("dr2", "o2", "o1", "o5"); !slices.Equal(got, []string{"o5@1"}) {
			t.Errorf("second report marked %v, want [o5@1]", got)
		}
	})
}
