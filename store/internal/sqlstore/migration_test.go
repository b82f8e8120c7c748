package sqlstore

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSQLiteMigration0008KeepsEveryEntry: rebuilding the index tables
// clustered on (rid, param, seq) keeps every entry of every table (repeated
// entries included), numbers each resource's entries of a parameter 0, 1,
// ..., and leaves no rowid table behind.
func TestSQLiteMigration0008KeepsEveryEntry(t *testing.T) {
	m := newMigrationDB(t, 8)
	db, exec := m.DB, m.exec
	tables := []string{"idx_string", "idx_token", "idx_reference", "idx_date", "idx_number", "idx_quantity", "idx_uri", "idx_composite"}
	columns := func(table string) []string {
		rows, err := db.Query("SELECT name FROM pragma_table_info(?) ORDER BY name", table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var cols []string
		for rows.Next() {
			var c string
			rows.Scan(&c)
			if c != "seq" {
				cols = append(cols, c)
			}
		}
		return cols
	}
	// Entries inserted out of key order, one of them twice, rows of one
	// resource under two parameters.
	for _, table := range tables {
		cols := columns(table)
		for _, e := range []struct {
			rid   int
			param string
			v     int
		}{{2, "b", 1}, {1, "a", 1}, {2, "a", 2}, {1, "a", 3}, {2, "b", 1}, {2, "b", 4}, {1, "c", 5}} {
			vals := make([]any, len(cols))
			for i, c := range cols {
				switch c {
				case "rid":
					vals[i] = e.rid
				case "param":
					vals[i] = e.param
				default:
					vals[i] = e.v
				}
			}
			exec("INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES (?"+strings.Repeat(", ?", len(cols)-1)+")", vals...)
		}
	}
	dump := func(table string, cols []string) []string {
		rows, err := db.Query("SELECT " + strings.Join(cols, " || '|' || ") + " FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s sql.NullString
			rows.Scan(&s)
			out = append(out, s.String)
		}
		slices.Sort(out)
		return out
	}
	before := map[string][]string{}
	for _, table := range tables {
		before[table] = dump(table, columns(table))
	}
	m.apply()
	for _, table := range tables {
		cols := columns(table)
		if after := dump(table, cols); !slices.Equal(after, before[table]) {
			t.Errorf("%s: entries before\n%v\nafter\n%v", table, before[table], after)
		}
		seqs := dump(table, []string{"rid", "param", "seq"})
		want := []string{"1|a|0", "1|a|1", "1|c|0", "2|a|0", "2|b|0", "2|b|1", "2|b|2"}
		if !slices.Equal(seqs, want) {
			t.Errorf("%s: keys %v, want %v", table, seqs, want)
		}
		if _, err := db.Exec("SELECT rowid FROM " + table); err == nil {
			t.Errorf("%s is still a rowid table", table)
		}
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('idx_token_pat', 'idx_token_rid', 'idx_string_rid')").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d of the replaced indexes remain (%v)", n, err)
	}
}

// migrationDB is a new SQLite database at the schema before migration n,
// for a test of what migration n does to existing rows.
type migrationDB struct {
	*sql.DB
	t    *testing.T
	next string // the file of migration n
}

func newMigrationDB(t *testing.T, n int) *migrationDB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), fmt.Sprintf("m%d.db", n)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	migrations, err := filepath.Glob("../../sqlite/migrations/*.sql") // sorted: 0001, 0002, ...
	if err != nil || len(migrations) < n || !strings.Contains(migrations[n-1], fmt.Sprintf("%04d_", n)) {
		t.Fatal(migrations, err)
	}
	m := &migrationDB{DB: db, t: t, next: migrations[n-1]}
	for _, f := range migrations[:n-1] {
		m.execFile(f)
	}
	return m
}

func (m *migrationDB) exec(q string, args ...any) {
	m.t.Helper()
	if _, err := m.Exec(q, args...); err != nil {
		m.t.Fatal(q, err)
	}
}

func (m *migrationDB) execFile(f string) {
	m.t.Helper()
	ddl, err := os.ReadFile(f)
	if err != nil {
		m.t.Fatal(err)
	}
	m.exec(string(ddl))
}

// apply runs migration n.
func (m *migrationDB) apply() { m.t.Helper(); m.execFile(m.next) }
