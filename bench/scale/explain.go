package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL for -explain
	_ "modernc.org/sqlite"             // SQLite for -explain

	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store/open"
)

// explainQuery is the SQL the store runs for one query kind, written out
// by hand after store/internal/sqlstore/build.go (the page query carries
// the total as a window count; the count query is what _summary=count
// runs). ? placeholders.
type explainQuery struct {
	Name, SQL string
	Args      []any
}

func explainQueries(s *sample, r *rand.Rand) []explainQuery {
	id, b := s.patient(r)
	var o obsFact
	for len(b.Obs) == 0 {
		id, b = s.patient(r)
	}
	o = b.Obs[r.IntN(len(b.Obs))]
	d, _ := time.Parse("2006-01-02", o.Effective[:10])
	zone := time.FixedZone("CST", 8*3600)
	geLo, geHi, _ := search.DateRange(d.AddDate(0, -6, 0).Format("2006-01-02"), zone)
	leLo, leHi, _ := search.DateRange(d.AddDate(0, 6, 0).Format("2006-01-02"), zone)
	fam := search.NormalizeString(b.Family)
	common := strings.SplitN(s.commonCodes[0], "|", 2)
	page := func(where string) string {
		return "SELECT v.vid, m.rid, m.total FROM (SELECT m.* FROM (SELECT r.rid AS rid, count(*) OVER () AS total FROM resource r WHERE " + where +
			") m ORDER BY m.rid LIMIT 51) m JOIN resource r ON r.rid = m.rid JOIN resource_version v ON v.vid = r.vid ORDER BY m.rid"
	}
	// Since decision 019 a reference or chain driver is read from the
	// reference entries by their source type, with no resource row (the
	// FROM is the set itself); a0 and c0 are the forms before. Kind a is
	// hand-written here and has drifted: the store now answers one
	// patient's resources by a code from the token entries' patient keys
	// (sqlstore's patientTokens), so "a page" below is the reference-driver
	// form it used before that, not the SQL the store runs.
	aFilters := " AND (EXISTS (SELECT 1 FROM idx_token x1 WHERE x1.rid = r.rid AND +x1.param = 'code' AND x1.code = ? AND x1.system = ?))" +
		" AND (EXISTS (SELECT 1 FROM idx_date x2 WHERE x2.rid = r.rid AND +x2.param = 'date' AND (x2.high > ? OR (x2.low >= ? AND x2.high <= ?))))" +
		" AND (EXISTS (SELECT 1 FROM idx_date x3 WHERE x3.rid = r.rid AND +x3.param = 'date' AND (x3.low < ? OR (x3.low >= ? AND x3.high <= ?))))"
	a0Where := "r.deleted = 0 AND +r.type = 'Observation'" + aFilters +
		" AND r.rid IN (SELECT x4.rid FROM idx_reference x4 WHERE x4.target_id = ? AND x4.target_type = 'Patient' AND x4.param = 'patient')"
	aFrom := "(SELECT DISTINCT e.rid AS rid FROM (SELECT x4.rid FROM idx_reference x4 WHERE x4.target_id = ? AND x4.target_type = 'Patient' AND x4.param = 'patient' AND x4.source_type = 'Observation') e) r"
	aWhere := "1 = 1" + aFilters
	aArgs := []any{id, o.Code, o.System, geHi, geLo, geHi, leLo, leLo, leHi}
	a0Args := []any{o.Code, o.System, geHi, geLo, geHi, leLo, leLo, leHi, id}
	bWhere := "r.deleted = 0 AND +r.type = 'Observation' AND r.rid IN (SELECT x1.rid FROM idx_token x1 WHERE x1.param = 'code' AND x1.code = ? AND x1.system = ?)"
	bArgs := []any{common[1], common[0]}
	c0Where := "r.deleted = 0 AND +r.type = 'Observation' AND r.rid IN (SELECT x1.rid FROM resource t2 JOIN idx_reference x1 ON x1.target_id = t2.id AND x1.target_type = t2.type" +
		" WHERE x1.param = 'subject' AND t2.deleted = 0 AND +t2.type = 'Patient' AND t2.rid IN (SELECT x3.rid FROM idx_string x3 WHERE x3.param = 'name' AND x3.norm >= ? AND x3.norm < ?))"
	cFrom := "(SELECT DISTINCT e.rid AS rid FROM (SELECT x1.rid FROM resource t2 JOIN idx_reference x1 ON x1.target_id = t2.id AND x1.target_type = t2.type" +
		" WHERE x1.param = 'subject' AND x1.source_type = 'Observation' AND t2.deleted = 0 AND +t2.type = 'Patient' AND t2.rid IN (SELECT x3.rid FROM idx_string x3 WHERE x3.param = 'name' AND x3.norm >= ? AND x3.norm < ?)) e) r"
	cWhere := "1 = 1"
	cArgs := []any{fam, fam + "\U0010FFFF"}
	dWhere := "r.deleted = 0 AND +r.type = 'Patient' AND r.rid IN (SELECT t3.rid FROM resource s2 JOIN idx_reference x1 ON x1.rid = s2.rid JOIN resource t3 ON t3.type = x1.target_type AND t3.id = x1.target_id" +
		" WHERE x1.param = 'patient' AND s2.deleted = 0 AND +s2.type = 'Observation' AND s2.rid IN (SELECT x4.rid FROM idx_token x4 WHERE x4.param = 'code' AND x4.code = ? AND x4.system = ?))"
	dArgs := []any{o.Code, o.System}
	// d since decision 014: the patients straight from the token entries'
	// patient keys; the general join only for resources with several.
	tok := "((%[1]s.param = 'code' AND %[1]s.code = ? AND %[1]s.system = ? AND %[1]s.pat <> ''))"
	d14Where := "r.deleted = 0 AND +r.type = 'Patient' AND r.rid IN (SELECT t2.rid FROM (SELECT DISTINCT x1.pat AS pat FROM idx_token x1 WHERE " + fmt.Sprintf(tok, "x1") +
		" AND x1.pat >= 'Observation/' AND x1.pat < 'Observation0' AND x1.pat <> 'Observation/*') p9 JOIN resource t2 ON t2.type = 'Patient' AND t2.id = substr(p9.pat, 13)" +
		" UNION ALL SELECT t8.rid FROM idx_token x5 JOIN idx_reference f6 ON f6.rid = x5.rid JOIN resource t8 ON t8.type = f6.target_type AND t8.id = f6.target_id WHERE " + fmt.Sprintf(tok, "x5") +
		" AND x5.pat = 'Observation/*' AND +f6.param = 'patient' AND f6.target_type = 'Patient')"
	d14Args := []any{o.Code, o.System, o.Code, o.System}
	fWhere := "r.deleted = 0 AND r.type = 'Observation'"
	count := func(w string) string { return "SELECT count(*) FROM resource r WHERE " + w }
	countFrom := func(from, w string) string { return "SELECT count(*) FROM " + from + " WHERE " + w }
	pageFrom := func(from, w string) string {
		return strings.Replace(page(w), "FROM resource r WHERE", "FROM "+from+" WHERE", 1)
	}
	return []explainQuery{
		{"a page", pageFrom(aFrom, aWhere), aArgs}, // the total from the page: ≈ 1 match, no next page
		{"a0 count", count(a0Where), a0Args}, {"a0 page", page(a0Where), a0Args},
		{"b count", count(bWhere), bArgs}, {"b page", page(bWhere), bArgs},
		{"c count", countFrom(cFrom, cWhere), cArgs}, {"c page", pageFrom(cFrom, cWhere), cArgs},
		{"c0 count", count(c0Where), cArgs}, {"c0 page", page(c0Where), cArgs},
		{"d count", count(d14Where), d14Args}, {"d page", page(d14Where), d14Args},
		{"d0 count", count(dWhere), dArgs}, {"d0 page", page(dWhere), dArgs}, // before decision 014
		{"f count", count(fWhere), nil},
	}
}

var unaryPlus = regexp.MustCompile(`\+([a-z][0-9]*\.[a-z_]+)`)

// explain prints the plan and the time of each kind's SQL, straight on the
// database (EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL).
func explain(ctx context.Context, dsn string, src []*srcBundle, seed uint64, only string) error {
	pg := open.IsPostgres(dsn)
	driver := "sqlite"
	if pg {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	s := &sample{src: src}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM resource WHERE type = 'Patient'").Scan(&s.patients); err != nil {
		return err
	}
	freq := map[string]int{}
	for _, b := range src {
		for _, o := range b.Obs {
			freq[o.System+"|"+o.Code]++
		}
	}
	for c := range freq {
		s.commonCodes = append(s.commonCodes, c)
	}
	sort.Slice(s.commonCodes, func(i, j int) bool {
		a, b := s.commonCodes[i], s.commonCodes[j]
		return freq[a] > freq[b] || freq[a] == freq[b] && a < b
	})
	r := rand.New(rand.NewPCG(seed, 99))
	for _, q := range explainQueries(s, r) {
		if only != "" && !strings.Contains(","+only+",", ","+strings.Fields(q.Name)[0]+",") {
			continue
		}
		text := q.SQL
		if pg {
			n := 0
			var sb strings.Builder
			for _, c := range text {
				if c == '?' {
					n++
					sb.WriteString("$" + strconv.Itoa(n))
				} else {
					sb.WriteRune(c)
				}
			}
			// PostgreSQL has no unary + on text.
			text = unaryPlus.ReplaceAllString(sb.String(), "$1")
		}
		fmt.Printf("== %s\n%s\nargs %v\n", q.Name, text, q.Args)
		var lats []time.Duration
		for i := 0; i < 5; i++ {
			t0 := time.Now()
			rows, err := db.QueryContext(ctx, text, q.Args...)
			if err != nil {
				return fmt.Errorf("%s: %w", q.Name, err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			lats = append(lats, time.Since(t0))
		}
		sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
		fmt.Printf("time: median of 5 %s (min %s)\n", ms(lats[2]), ms(lats[0]))
		prefix := "EXPLAIN QUERY PLAN "
		if pg {
			prefix = "EXPLAIN (ANALYZE, BUFFERS) "
		}
		rows, err := db.QueryContext(ctx, prefix+text, q.Args...)
		if err != nil {
			return fmt.Errorf("explain %s: %w", q.Name, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return err
			}
			if pg {
				fmt.Printf("  %v\n", vals[0])
			} else {
				fmt.Printf("  %v|%v %v\n", vals[0], vals[1], vals[3])
			}
		}
		rows.Close()
	}
	return nil
}
