package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // tests only: the package itself imports no driver

	"github.com/xietong/xietong/store"
)

var tableScan = regexp.MustCompile(`(?m)^SCAN (?:[^p]|p[^0-9])`)

var coroutineScan = regexp.MustCompile(`(?m)^SCAN [re]$`)

// TestSQLitePlansDriveFromIndexes pins the query plans of selective
// searches on an empty, unanalysed SQLite database (the state of every new
// region): they must start from the index table and look resources up by
// row id, never walk all resources of the type.
func TestSQLitePlansDriveFromIndexes(t *testing.T) {
	plan := sqlitePlan(t)
	yes := true
	one := func(p store.Predicate) []store.Clause { return []store.Clause{{p}} }
	cases := map[string][]store.Clause{
		"token":           one(store.Predicate{Param: "code", Type: store.TypeToken, System: "http://loinc.org", Code: "1234-5"}),
		"token any":       one(store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "1234-5"}),
		"reference":       one(store.Predicate{Param: "subject", Type: store.TypeReference, TargetType: "Patient", TargetID: "p1"}),
		"reference any":   one(store.Predicate{Param: "subject", Type: store.TypeReference, TargetID: "p1"}),
		"string":          one(store.Predicate{Param: "name", Type: store.TypeString, String: "zh"}),
		"string exact":    one(store.Predicate{Param: "name", Type: store.TypeString, String: "Zh", Match: store.StringExact}),
		"date eq":         one(store.Predicate{Param: "date", Type: store.TypeDate, DateLow: 1, DateHigh: 2}),
		"uri":             one(store.Predicate{Param: "url", Type: store.TypeURI, URI: "http://x"}),
		"token OR string": {{{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "a"}, {Param: "name", Type: store.TypeString, String: "zh"}}},
		// One patient's observations by code and date range: driven by the
		// reference, the others probed per row (never every date entry).
		"patient code dates": {
			{{Param: "date", Type: store.TypeDate, Prefix: store.PrefixGe, DateLow: 1, DateHigh: 2}},
			{{Param: "code", Type: store.TypeToken, System: "http://loinc.org", Code: "1234-5"}},
			{{Param: "date", Type: store.TypeDate, Prefix: store.PrefixLe, DateLow: 5, DateHigh: 6}},
			{{Param: "patient", Type: store.TypeReference, TargetType: "Patient", TargetID: "p1"}},
		},
		"compartment OR": {{
			{Param: "subject", Type: store.TypeReference, TargetType: "Patient", TargetID: "p1"},
			{Param: "performer", Type: store.TypeReference, TargetType: "Patient", TargetID: "p1"},
		}},
		"chain": one(store.Predicate{Param: "subject", Type: store.TypeReference, Chain: &store.Chain{
			Types: []string{"Patient"}, Where: one(store.Predicate{Param: "name", Type: store.TypeString, String: "zh"})}}),
		"has": one(store.Predicate{Has: &store.Has{Type: "Observation", Param: "patient",
			Where: one(store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "1234-5"})}}),
		"has with a filter": {
			{{Param: "name", Type: store.TypeString, String: "zh"}},
			{{Has: &store.Has{Type: "Observation", Param: "patient",
				Where: one(store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "1234-5"})}}},
		},
		// Patients by their resources' codes, through idx_token.pat.
		"patient has": one(store.Predicate{Has: &store.Has{Type: "Observation", Param: "patient",
			Where: one(store.Predicate{Param: "code", Type: store.TypeToken, System: "http://loinc.org", Code: "1234-5"})}}),
		"patient has OR": one(store.Predicate{Has: &store.Has{Type: "Observation", Param: "patient",
			Where: []store.Clause{{{Param: "code", Type: store.TypeToken, System: "http://loinc.org", Code: "1234-5"}, {Param: "code", Type: store.TypeToken, AnySystem: true, Code: "9"}}}}}),
		"patient has with a filter": {
			{{Param: "name", Type: store.TypeString, String: "zh"}},
			{{Has: &store.Has{Type: "Observation", Param: "patient",
				Where: one(store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "1234-5"})}}},
		},
		"token and :missing and :not": {
			{{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "a"}},
			{{Param: "value-quantity", Type: store.TypeQuantity, Missing: &yes}},
			{{Param: "status", Type: store.TypeToken, AnySystem: true, Code: "final", Not: true}},
		},
	}
	for name, where := range cases {
		b := newBuilder(SQLite)
		b.w("SELECT r.rid FROM resource r WHERE ")
		types := []string{"Observation"}
		if strings.HasPrefix(name, "patient has") {
			types = []string{"Patient"}
		}
		if err := b.where("r", types, where, true); err != nil {
			t.Fatal(err)
		}
		text := plan(b.String(), b.args...)
		t.Logf("%s:\n%s", name, text)
		// A SCAN of a table walks all its rows; a SCAN of a co-routine
		// (alias p<n>: the patients of a _has, streamed) does not.
		if !strings.Contains(text, "SEARCH r USING INTEGER PRIMARY KEY") || tableScan.MatchString(text) ||
			strings.Contains(text, "idx_date_range") && name == "patient code dates" ||
			strings.HasPrefix(name, "patient has") && !strings.Contains(text, "USING COVERING INDEX idx_token_code (param=? AND code=? AND pat") {
			t.Errorf("%s: plan does not drive from the index:\n%s\n%s", name, b.String(), text)
		}
	}
}

// TestSQLiteMigration0004FillsPatientKeys: the migration fills the token
// entries of existing resources with the key store.Index.PatientKey gives
// new ones.
func TestSQLiteMigration0004FillsPatientKeys(t *testing.T) {
	m := newMigrationDB(t, 4)
	db, exec := m.DB, m.exec
	refs := map[string][]store.ReferenceEntry{
		"Observation/o1": {{Param: "patient", TargetType: "Patient", TargetID: "p1"}, {Param: "subject", TargetType: "Patient", TargetID: "p1"}},
		"Appointment/a1": {{Param: "patient", TargetType: "Patient", TargetID: "p1"}, {Param: "patient", TargetType: "Patient", TargetID: "p2"}},
		"Encounter/e1":   {{Param: "patient", TargetType: "Patient", TargetID: "p2"}, {Param: "patient", TargetType: "Patient", TargetID: "p2"}},
		"Observation/o2": {{Param: "subject", TargetType: "Group", TargetID: "g1"}, {Param: "patient", URL: "http://elsewhere/Patient/9"}},
		"Patient/p1":     nil,
	}
	rid := 0
	rids := map[string]int{}
	for key, rs := range refs {
		rid++
		rids[key] = rid
		typ, id, _ := strings.Cut(key, "/")
		exec("INSERT INTO resource (rid, type, id, version, vid, last_updated) VALUES (?, ?, ?, 1, ?, 0)", rid, typ, id, rid)
		for _, r := range rs {
			exec("INSERT INTO idx_reference (rid, param, target_type, target_id, url) VALUES (?, ?, ?, ?, ?)", rid, r.Param, r.TargetType, r.TargetID, r.URL)
		}
		exec("INSERT INTO idx_token (rid, param, system, code, text) VALUES (?, 'code', 's', 'c1', ''), (?, 'status', '', 'final', '')", rid, rid)
	}
	m.apply()
	for key, rs := range refs {
		typ, _, _ := strings.Cut(key, "/")
		want := (&store.Index{References: rs}).PatientKey(typ)
		rows, err := db.Query("SELECT pat FROM idx_token WHERE rid = ?", rids[key])
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var pat string
			if err := rows.Scan(&pat); err != nil {
				t.Fatal(err)
			}
			n++
			if pat != want {
				t.Errorf("%s: pat %q, want %q", key, pat, want)
			}
		}
		rows.Close()
		if n != 2 {
			t.Errorf("%s: %d token rows", key, n)
		}
	}
	if got := (&store.Index{References: refs["Appointment/a1"]}).PatientKey("Appointment"); got != "Appointment/"+store.PatientMany {
		t.Errorf("PatientKey of two patients: %q", got)
	}
}

// sqlitePlan opens an empty SQLite database with every migration applied
// and returns a function giving the query plan of a statement.
func sqlitePlan(t *testing.T) func(q string, args ...any) string {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	migrations, err := filepath.Glob("../../sqlite/migrations/*.sql")
	if err != nil || len(migrations) < 7 {
		t.Fatal(migrations, err)
	}
	for _, m := range migrations { // Glob sorts: 0001, 0002, ...
		ddl, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(ddl)); err != nil {
			t.Fatal(m, err)
		}
	}
	return func(q string, args ...any) string {
		t.Helper()
		rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(q, err)
		}
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		return strings.Join(plan, "\n")
	}
}

// TestSQLitePlansTypedReferenceSets pins the searches that count their
// matches from the reference entries (migration 0007, decision 019): a
// reference to one target and a chain read idx_reference_target with the
// source type and no resource row per entry; only the page's rows are
// looked up. Filters that need the resource row keep the resource table.
func TestSQLitePlansTypedReferenceSets(t *testing.T) {
	plan := sqlitePlan(t)
	one := func(p store.Predicate) []store.Clause { return []store.Clause{{p}} }
	patient := store.Predicate{Param: "patient", Type: store.TypeReference, TargetType: "Patient", TargetID: "p1"}
	chain := store.Predicate{Param: "subject", Type: store.TypeReference, Chain: &store.Chain{
		Types: []string{"Patient"}, Where: one(store.Predicate{Param: "name", Type: store.TypeString, String: "zh"})}}
	code := store.Predicate{Param: "code", Type: store.TypeToken, System: "http://loinc.org", Code: "1234-5"}
	cases := []struct {
		name    string
		where   []store.Clause
		sorts   []store.Sort
		indexed bool // counted from the entries alone
	}{
		{"reference", one(patient), nil, true},
		{"chain", one(chain), nil, true},
		{"reference and code", []store.Clause{{code}, {{Param: "subject", Type: store.TypeReference, TargetType: "Patient", TargetID: "p1"}}}, nil, true},
		{"chain and date", []store.Clause{{{Param: "date", Type: store.TypeDate, DateLow: 1, DateHigh: 2}}, {chain}}, nil, true},
		{"reference sorted by code", one(patient), []store.Sort{{Param: "code", Type: store.TypeToken}}, true},
		{"reference sorted by _lastUpdated", one(patient), []store.Sort{{Param: store.ParamLastUpdated}}, false},
		{"reference and _id", []store.Clause{{patient}, {{Param: store.ParamID, Code: "o1", Not: true}}}, nil, false},
		{"token", one(code), nil, false},
	}
	// Patients by their Observations' codes (decision 014): the live
	// Patients from resource_patient_live, no resource row.
	for name, where := range map[string][]store.Clause{
		"patient has": one(store.Predicate{Has: &store.Has{Type: "Observation", Param: "patient", Where: one(code)}}),
		"patient has and a name": {{{Has: &store.Has{Type: "Observation", Param: "patient", Where: one(code)}}},
			{{Param: "name", Type: store.TypeString, String: "zh"}}},
	} {
		b := newBuilder(SQLite)
		b.w("SELECT count(*)")
		if err := b.from([]string{"Patient"}, where, nil); err != nil {
			t.Fatal(err)
		}
		text := plan(b.String(), b.args...)
		t.Logf("%s:\n%s\n%s", name, b.String(), text)
		if strings.Contains(text, "SEARCH r USING INTEGER PRIMARY KEY") || !strings.Contains(text, "USING COVERING INDEX resource_patient_live") ||
			tableScan.MatchString(coroutineScan.ReplaceAllString(text, "")) {
			t.Errorf("%s: not counted from the indexes alone:\n%s\n%s", name, b.String(), text)
		}
	}
	// One patient's resources by a code: the token entries' patient keys.
	patientCode := map[string][]store.Clause{
		"patient code":          {{patient}, {code}},
		"patient code dates":    {{{Param: "date", Type: store.TypeDate, Prefix: store.PrefixGe, DateLow: 1, DateHigh: 2}}, {code}, {patient}},
		"patient id code":       {{{Param: "patient", Type: store.TypeReference, TargetID: "p1"}}, {code}},
		"patient codes":         {{patient}, {code, {Param: "code", Type: store.TypeToken, AnySystem: true, Code: "9"}}},
		"patient code _updated": {{patient}, {code}, {{Param: store.ParamLastUpdated, Type: store.TypeDate, Prefix: store.PrefixGt, DateLow: 1, DateHigh: 2}}},
	}
	for name, where := range patientCode {
		b := newBuilder(SQLite)
		b.w("SELECT count(*)")
		if err := b.from([]string{"Observation"}, where, nil); err != nil {
			t.Fatal(err)
		}
		text := plan(b.String(), b.args...)
		t.Logf("%s:\n%s\n%s", name, b.String(), text)
		if !strings.Contains(text, "idx_token_code (param=? AND code=? AND pat=?") || tableScan.MatchString(coroutineScan.ReplaceAllString(text, "")) ||
			strings.Contains(text, "idx_date_range") {
			t.Errorf("%s: not driven by the patient keys:\n%s\n%s", name, b.String(), text)
		}
	}
	for _, c := range cases {
		b := newBuilder(SQLite)
		b.w("SELECT count(*)")
		if err := b.from([]string{"Observation"}, c.where, c.sorts); err != nil {
			t.Fatal(err)
		}
		text := plan(b.String(), b.args...)
		t.Logf("%s:\n%s\n%s", c.name, b.String(), text)
		usesRows := strings.Contains(text, "SEARCH r USING INTEGER PRIMARY KEY")
		// SCAN r and SCAN e walk the set's co-routines when there are.
		scans := tableScan.MatchString(coroutineScan.ReplaceAllString(text, ""))
		if !strings.Contains(text, "CO-ROUTINE r") {
			scans = tableScan.MatchString(text)
		}
		if scans || usesRows == c.indexed {
			t.Errorf("%s: want counted from the entries alone = %v:\n%s\n%s", c.name, c.indexed, b.String(), text)
		}
		if c.indexed && (!strings.Contains(text, "idx_reference_target") || !strings.Contains(b.String(), "source_type")) {
			t.Errorf("%s: not read from idx_reference_target by source type:\n%s\n%s", c.name, b.String(), text)
		}
	}
}

// TestSQLiteMigration0007FillsSourceTypes: the migration gives the
// reference entries of existing resources their resource's type, as Put
// writes it for new ones, and the target index leads to it.
func TestSQLiteMigration0007FillsSourceTypes(t *testing.T) {
	m := newMigrationDB(t, 7)
	db, exec := m.DB, m.exec
	types := []string{"Observation", "Encounter", "Observation", "Condition"}
	for i, typ := range types {
		rid := i + 1
		exec("INSERT INTO resource (rid, type, id, version, vid, last_updated) VALUES (?, ?, ?, 1, ?, 0)", rid, typ, fmt.Sprint("r", rid), rid)
		exec("INSERT INTO idx_reference (rid, param, target_type, target_id, url) VALUES (?, 'subject', 'Patient', 'p1', ''), (?, 'patient', 'Patient', 'p1', '')", rid, rid)
	}
	m.apply()
	rows, err := db.Query("SELECT rid, source_type FROM idx_reference")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var rid int
		var st string
		if err := rows.Scan(&rid, &st); err != nil {
			t.Fatal(err)
		}
		n++
		if st != types[rid-1] {
			t.Errorf("rid %d: source_type %q, want %q", rid, st, types[rid-1])
		}
	}
	rows.Close()
	if n != 2*len(types) {
		t.Errorf("%d reference rows", n)
	}
	var got int
	if err := db.QueryRow("SELECT count(*) FROM idx_reference INDEXED BY idx_reference_target WHERE target_id = 'p1' AND target_type = 'Patient' AND param = 'subject' AND source_type = 'Observation'").Scan(&got); err != nil || got != 2 {
		t.Errorf("by the target index: %d, %v", got, err)
	}
}
