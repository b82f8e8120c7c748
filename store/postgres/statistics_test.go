package postgres_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/xietong/xietong/store/postgres"
	"github.com/xietong/xietong/store/postgres/pgtest"
)

// TestTokenCodeEstimates checks that the planner sizes a code's token
// entries by the code, not by multiplying the selectivities of param, code
// and system as if they were independent (migration 0009, decision 026):
// an estimate 40 times too small made it sort every match of a common code
// to return the first page.
func TestTokenCodeEstimates(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	if err := postgres.Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// 100 codes of 200 entries each; the code decides the parameter (4
	// values) and the system (10), as a LOINC code decides its system.
	if _, err := conn.Exec(ctx, `INSERT INTO idx_token (rid, param, system, code, text)
		SELECT g, 'p' || (g % 100 % 4), 's' || (g % 100 % 10), 'c' || (g % 100), '' FROM generate_series(1, 20000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE idx_token`); err != nil {
		t.Fatal(err)
	}
	var actual int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM idx_token WHERE param = 'p1' AND code = 'c17' AND system = 's7'`).Scan(&actual); err != nil {
		t.Fatal(err)
	}
	var plan string
	if err := conn.QueryRow(ctx, `EXPLAIN (FORMAT JSON) SELECT rid FROM idx_token WHERE param = 'p1' AND code = 'c17' AND system = 's7'`).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	var out []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		}
	}
	if err := json.Unmarshal([]byte(plan), &out); err != nil || len(out) != 1 {
		t.Fatalf("plan %s: %v", plan, err)
	}
	// Independent columns would give 20000/4/100/10 = 5.
	if est := out[0].Plan.Rows; actual != 200 || est < float64(actual)/2 || est > float64(actual)*2 {
		t.Errorf("estimated %v entries of the code, there are %d", est, actual)
	}
}
