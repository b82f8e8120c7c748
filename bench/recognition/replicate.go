package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
	_ "modernc.org/sqlite" // the driver the SQLite store uses
)

// replicate grows a SQLite database loaded with -load -patients S into
// copies × S patients: copy k (1 ≤ k < copies) repeats every seed
// Patient and Observation with patient number p + k·S, row for row — the
// resource row, its version (the JSON with its id and subject reference
// rewritten), its search-index rows (references to the seed patient
// rewritten) and its recognition projection row — with resource and
// version ids shifted past the previous copy. It is how a 10-million-row
// database is built in minutes instead of hours: the seed went through
// the store's write path with the real indexer, the copies are made by
// SQL inside SQLite, and verifyCopies then reads copies back through the
// store to show they answer as their seeds do.
func replicate(ctx context.Context, seed, copies int) error {
	db, err := sql.Open("sqlite", *dbFlag+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-1048576)&_pragma=temp_store(MEMORY)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var a, end, av, endV, rows int64
	// The seed's rows: the resources of patients 0..seed-1 (written by two
	// workers, so patients are not in order, but nothing else was written
	// between them).
	const seedRows = `FROM resource WHERE (type = 'Patient' AND id GLOB 'bench-pat-*' AND CAST(substr(id, 11) AS INTEGER) < :seed)
	   OR (type = 'Observation' AND id GLOB 'bench-obs-*' AND CAST(substr(id, 11, instr(substr(id, 11), '-') - 1) AS INTEGER) < :seed)`
	err = db.QueryRowContext(ctx, `SELECT min(rid), max(rid), min(vid), max(vid), count(*) `+seedRows, sql.Named("seed", seed)).Scan(&a, &end, &av, &endV, &rows)
	if err != nil {
		return err
	}
	if want := int64(seed * (1 + *obs / *patients)); rows != want {
		return fmt.Errorf("the seed has %d resources, not %d (patients 0 to %d with %d Observations each): load it with -load -patients %d -obs %d first", rows, want, seed-1, *obs / *patients, seed, seed**obs / *patients)
	}
	if end-a+1 != rows || endV-av != end-a {
		return fmt.Errorf("the seed's rows are not contiguous (rids %d..%d, %d rows, vids %d..%d)", a, end, rows, av, endV)
	}
	q := func(dst *int64, query string, args ...any) {
		if err == nil {
			err = db.QueryRowContext(ctx, query, args...).Scan(dst)
		}
	}
	span := end - a + 1
	cols := map[string][]string{}
	for _, t := range []string{"idx_string", "idx_token", "idx_reference", "idx_date", "idx_number", "idx_quantity", "idx_uri", "idx_composite"} {
		rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, t)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				return err
			}
			if c != "rid" {
				cols[t] = append(cols[t], c)
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	for k := 1; k < copies; k++ {
		kS := int64(k * seed)
		var n int64
		q(&n, `SELECT count(*) FROM resource WHERE type = 'Patient' AND id = ?`, patientID(int(kS)))
		if err != nil {
			return err
		}
		if n > 0 {
			log.Printf("copy %d is there already", k)
			continue
		}
		t0 := time.Now()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		off, offV := int64(k)*span, int64(k)*span // the seed's vids are as contiguous as its rids (checked above)
		stmts := []string{
			`DROP TABLE IF EXISTS temp.m`,
			`CREATE TEMP TABLE m (old_rid INTEGER PRIMARY KEY, new_rid INTEGER, type TEXT, old_id TEXT, new_id TEXT, p INTEGER)`,
			// p: the seed patient number; 'bench-pat-' and 'bench-obs-' are 10 characters.
			`INSERT INTO m SELECT rid, rid + {off}, type, id,
			   CASE WHEN type = 'Patient' THEN 'bench-pat-' || (CAST(substr(id, 11) AS INTEGER) + {ks})
			        ELSE 'bench-obs-' || (CAST(substr(id, 11, instr(substr(id, 11), '-') - 1) AS INTEGER) + {ks}) || substr(substr(id, 11), instr(substr(id, 11), '-')) END,
			   CASE WHEN type = 'Patient' THEN CAST(substr(id, 11) AS INTEGER)
			        ELSE CAST(substr(id, 11, instr(substr(id, 11), '-') - 1) AS INTEGER) END
			 FROM resource WHERE rid BETWEEN {a} AND {end}`,
			`INSERT INTO resource_version (vid, type, id, version, last_updated, method, deleted, body)
			 SELECT v.vid + {offv}, v.type, m.new_id, v.version, v.last_updated, v.method, v.deleted,
			   CAST(replace(replace(CAST(v.body AS TEXT), '"' || m.old_id || '"', '"' || m.new_id || '"'),
			     '"Patient/bench-pat-' || m.p || '"', '"Patient/bench-pat-' || (m.p + {ks}) || '"') AS BLOB)
			 FROM m JOIN resource_version v ON v.type = m.type AND v.id = m.old_id ORDER BY m.old_rid`,
			`INSERT INTO resource (rid, type, id, version, vid, last_updated, deleted)
			 SELECT m.new_rid, r.type, m.new_id, r.version, r.vid + {offv}, r.last_updated, r.deleted
			 FROM m JOIN resource r ON r.rid = m.old_rid ORDER BY m.old_rid`,
			`INSERT INTO recognition_result (patient, code, eff, rtype, rid, issuer, value, study, marked)
			 SELECT 'bench-pat-' || (m.p + {ks}), x.code, x.eff, x.rtype, m.new_id, x.issuer, x.value, x.study, x.marked
			 FROM m JOIN recognition_result x ON x.rid = m.old_id AND x.rtype = m.type ORDER BY m.old_rid`,
		}
		for t, cs := range cols {
			sel := make([]string, len(cs))
			for i, c := range cs {
				sel[i] = "x." + c
				if t == "idx_reference" && c == "target_id" {
					sel[i] = `CASE WHEN x.target_type = 'Patient' AND x.target_id GLOB 'bench-pat-*' THEN 'bench-pat-' || (CAST(substr(x.target_id, 11) AS INTEGER) + {ks}) ELSE x.target_id END`
				}
			}
			stmts = append(stmts, `INSERT INTO `+t+` (rid, `+strings.Join(cs, ", ")+`) SELECT m.new_rid, `+strings.Join(sel, ", ")+
				` FROM `+t+` x JOIN m ON m.old_rid = x.rid WHERE x.rid BETWEEN {a} AND {end} ORDER BY x.rid`)
		}
		r := strings.NewReplacer("{off}", strconv.FormatInt(off, 10), "{offv}", strconv.FormatInt(offV, 10), "{ks}", strconv.FormatInt(kS, 10), "{a}", strconv.FormatInt(a, 10), "{end}", strconv.FormatInt(end, 10))
		for i := range stmts {
			stmts[i] = r.Replace(stmts[i])
		}
		if *sqliteCLI != "" {
			// The same statements through the sqlite3 shell (native SQLite,
			// about 3.5 times less CPU than the pure-Go driver here).
			tx.Rollback()
			cmd := exec.CommandContext(ctx, *sqliteCLI, *dbFlag)
			cmd.Stdin = strings.NewReader("PRAGMA busy_timeout=10000; PRAGMA cache_size=-1048576; PRAGMA temp_store=MEMORY; PRAGMA synchronous=NORMAL;\n.bail on\nBEGIN;\n" + strings.Join(stmts, ";\n") + ";\nCOMMIT;\nPRAGMA wal_checkpoint(TRUNCATE);\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("copy %d: %s: %w: %s", k, *sqliteCLI, err, out)
			}
			log.Printf("copy %d of %d (patients %d to %d) in %s", k, copies-1, kS, kS+int64(seed)-1, time.Since(t0).Round(time.Second))
			continue
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				tx.Rollback()
				return fmt.Errorf("copy %d: %w\n%s", k, err, s)
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return err
		}
		log.Printf("copy %d of %d (patients %d to %d) in %s", k, copies-1, kS, kS+int64(seed)-1, time.Since(t0).Round(time.Second))
	}
	return nil
}

// verifyCopies reads sample copies back through the store and compares
// them with their seeds: the JSON (with the ids mapped), and the number
// of Observations the search index finds for the patient, for one of its
// codes and for a date range.
func verifyCopies(ctx context.Context, st store.Store, seed, copies, samples int) error {
	for i := range samples {
		p := (i * 7919) % seed
		k := 1 + i%(copies-1)
		cp := p + k*seed
		so, err := st.Read(ctx, "Observation", "bench-obs-"+strconv.Itoa(p)+"-3")
		if err != nil {
			return err
		}
		co, err := st.Read(ctx, "Observation", "bench-obs-"+strconv.Itoa(cp)+"-3")
		if err != nil {
			return fmt.Errorf("copy of %s: %w", so.ID, err)
		}
		want := strings.NewReplacer(`"`+so.ID+`"`, `"`+co.ID+`"`, `"Patient/`+patientID(p)+`"`, `"Patient/`+patientID(cp)+`"`).Replace(string(so.Body))
		if string(co.Body) != want {
			return fmt.Errorf("%s is not the copy of %s:\n%s\n%s", co.ID, so.ID, co.Body, so.Body)
		}
		for _, crit := range []url.Values{
			{"subject": {"Patient/" + patientID(p)}},
			{"patient": {patientID(p)}, "code": {"http://loinc.org|718-7,http://loinc.org|6298-4"}},
			{"subject": {"Patient/" + patientID(p)}, "date": {"ge2026-09-01"}, "_tag": {"https://xietong.dev/fhir/CodeSystem/recognition-mark|HR"}},
		} {
			n1, err := count(ctx, st, crit)
			if err != nil {
				return err
			}
			c := url.Values{}
			for key, v := range crit {
				c[key] = []string{strings.ReplaceAll(v[0], patientID(p), patientID(cp))}
			}
			n2, err := count(ctx, st, c)
			if err != nil {
				return err
			}
			if n1 != n2 || (crit.Has("subject") && len(crit) == 1 && n1 != *obs / *patients) {
				return fmt.Errorf("Observation?%s finds %d, its copy (%s) %d", crit.Encode(), n1, c.Encode(), n2)
			}
		}
	}
	log.Printf("verified %d copies against their seeds (JSON, and three searches each)", samples)
	return nil
}

func count(ctx context.Context, st store.Store, crit url.Values) (int, error) {
	c := url.Values{"_summary": {"count"}}
	for k, v := range crit {
		c[k] = v
	}
	req, err := search.Parse("Observation", c, search.Options{Strict: true, Zone: zone})
	if err != nil {
		return 0, err
	}
	res, err := st.Search(ctx, req.Query)
	if err != nil {
		return 0, err
	}
	if res.Total < 0 {
		return 0, fmt.Errorf("Observation?%s: no total", c.Encode())
	}
	return res.Total, nil
}
