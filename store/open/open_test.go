package open_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/floor"
	"github.com/xietong/xietong/store/open"
	"github.com/xietong/xietong/store/postgres"
	"github.com/xietong/xietong/store/postgres/pgtest"
	"github.com/xietong/xietong/store/sqlite"
)

func TestIsPostgres(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://u@h/db":            true,
		"postgresql://u@h/db?x=y":      true,
		"/var/lib/xietong/region.db":   false,
		"region.db":                    false,
		"postgres.db":                  false,
		"./postgres://not-a-url/x.db":  false,
		"file:/tmp/x.db":               false,
		"C:\\\\data\\\\region.db":      false,
		"postgres:/missing-slash/x.db": false,
	} {
		if got := open.IsPostgres(dsn); got != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", dsn, got, want)
		}
	}
}

func roundTrip(t *testing.T, dsn string) {
	ctx := context.Background()
	if _, err := open.Open(ctx, dsn); !errors.Is(err, store.ErrSchema) {
		t.Fatalf("open before migrate: %v, want ErrSchema", err)
	}
	if err := open.Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	s, err := open.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := tx.Put(ctx, &store.Write{Type: "Patient", ID: "a", VersionID: 1, LastUpdated: time.Now(), Method: "POST", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(ctx, "Patient", "a"); err != nil {
		t.Fatal(err)
	}
	d, err := floor.Floor(ctx, dsn, [][]byte{[]byte(`{"a":1}`), []byte(`{"b":2}`), []byte(`{"c":3}`)}, 2)
	if err != nil || d <= 0 {
		t.Fatalf("floor: %v, %v", d, err)
	}
}

func TestSQLite(t *testing.T) {
	roundTrip(t, filepath.Join(t.TempDir(), "region.db"))
}

func TestPostgres(t *testing.T) {
	roundTrip(t, pgtest.Schema(t))
}

// TestSchemasAgree: both databases have the same tables with the same
// columns, so the shared SQL means the same thing on each.
func TestSchemasAgree(t *testing.T) {
	ctx := context.Background()
	if n1, err := sqlite.Migrations(); err != nil {
		t.Fatal(err)
	} else if n2, err := postgres.Migrations(); err != nil || len(n1) != len(n2) {
		t.Fatalf("migration counts differ: %d vs %d (%v)", len(n1), len(n2), err)
	}
	path := filepath.Join(t.TempDir(), "s.db")
	sdb, err := sqlite.Open(ctx, path, sqlite.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	sdb.Close()
	lite := map[string][]string{}
	{
		raw, err := sqlOpen(path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		rows, err := raw.Query(`SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.name`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var tbl, col string
			rows.Scan(&tbl, &col)
			lite[tbl] = append(lite[tbl], col)
		}
		rows.Close()
	}
	dsn := pgtest.Schema(t)
	pdb, err := postgres.Open(ctx, dsn, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	pdb.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	pg := map[string][]string{}
	for rows.Next() {
		var tbl, col string
		rows.Scan(&tbl, &col)
		pg[tbl] = append(pg[tbl], col)
	}
	rows.Close()
	if len(lite) != len(pg) {
		t.Errorf("tables: sqlite %d, postgres %d", len(lite), len(pg))
	}
	for tbl, cols := range lite {
		if !slices.Equal(cols, pg[tbl]) {
			t.Errorf("%s: sqlite %v, postgres %v", tbl, cols, pg[tbl])
		}
	}
}
