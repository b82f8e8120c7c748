package recognition

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xietong/xietong/store"
)

// The projection table: one row per result and covered-code candidate (every
// coding of an Observation's or DiagnosticReport's code), with what the
// check needs and nothing else. It is written in the transaction of the
// result's version (Hook.Written), so it is exactly as durable as the
// result. Patients are the ids the result names (a source Patient or a
// master); the check follows the EMPI's links at read time, so a merge
// after the results were filed needs no rewrite here.
//
// eff is the result's date (effective[x], else issued) in Unix seconds;
// issuer the Organization id ("" when unknown); marked whether the stored
// version carries the HR tag.
var migrations = map[string][]string{
	"sqlite": {
		`CREATE TABLE recognition_result (
			patient TEXT NOT NULL,
			code    TEXT NOT NULL,
			eff     INTEGER NOT NULL,
			rtype   TEXT NOT NULL,
			rid     TEXT NOT NULL,
			issuer  TEXT NOT NULL,
			value   TEXT NOT NULL,
			study   TEXT NOT NULL,
			marked  INTEGER NOT NULL
		);
		CREATE INDEX recognition_result_patient ON recognition_result (patient, code, eff);
		CREATE INDEX recognition_result_rid ON recognition_result (rid)`,
		remarkIndexes,
		imageTable,
	},
	"postgres": {
		`CREATE TABLE recognition_result (
			patient TEXT NOT NULL,
			code    TEXT NOT NULL,
			eff     BIGINT NOT NULL,
			rtype   TEXT NOT NULL,
			rid     TEXT NOT NULL,
			issuer  TEXT NOT NULL,
			value   TEXT NOT NULL,
			study   TEXT NOT NULL,
			marked  INTEGER NOT NULL
		);
		CREATE INDEX recognition_result_patient ON recognition_result (patient, code, eff);
		CREATE INDEX recognition_result_rid ON recognition_result (rid)`,
		remarkIndexes,
		imageTable,
	},
}

// remarkIndexes (version 2) let re-marking read only the results a
// qualification change affects: one issuer's (of some codes), or one
// item's codes at every issuer.
const remarkIndexes = `CREATE INDEX recognition_result_issuer ON recognition_result (issuer, code);
		CREATE INDEX recognition_result_code ON recognition_result (code, issuer)`

// Migrate creates or upgrades the engine's tables in st (idempotent), in
// one store transaction, recording the version in recognition_schema. It
// refuses a database whose recognition schema is newer than this binary.
func Migrate(ctx context.Context, st store.Store) error {
	tx, err := st.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	et, ok := tx.(store.EngineTx)
	if !ok {
		return errors.New("recognition: the store does not offer engine tables (store.EngineTx)")
	}
	if err := et.ExecSQL(ctx, `CREATE TABLE IF NOT EXISTS recognition_schema (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	rows, err := et.QuerySQL(ctx, `SELECT coalesce(max(version), 0) FROM recognition_schema`)
	if err != nil {
		return err
	}
	var have int
	for rows.Next() {
		if err := rows.Scan(&have); err != nil {
			rows.Close()
			return err
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	ms := migrations[et.Dialect()]
	if have > len(ms) {
		return fmt.Errorf("recognition: %w: tables at version %d, this binary knows %d", store.ErrSchema, have, len(ms))
	}
	for v := have + 1; v <= len(ms); v++ {
		for _, stmt := range strings.Split(ms[v-1], ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if err := et.ExecSQL(ctx, stmt); err != nil {
				return fmt.Errorf("recognition migration %d: %w", v, err)
			}
		}
		if err := et.ExecSQL(ctx, `INSERT INTO recognition_schema (version) VALUES (?)`, v); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// engineTx finds the store's engine capability behind the API's wrappers.
func engineTx(r store.Reader) store.EngineTx {
	for range 4 {
		if et, ok := r.(store.EngineTx); ok {
			return et
		}
		u, ok := r.(interface{ Unwrap() store.Tx })
		if !ok {
			return nil
		}
		r = u.Unwrap()
	}
	return nil
}

// result is what the projection keeps of one result version.
type result struct {
	patient string
	codes   []string // "system|code"
	eff     time.Time
	typ, id string
	issuer  string
	value   string
	study   string
}

var finalStatus = map[string]bool{"final": true, "amended": true, "corrected": true, "appended": true}

// project reads a result resource. ok is false when it is not one the
// check can use (no Patient subject, no date, no code, not final).
// issuerFromEncounter, when non-nil, resolves an Encounter's
// serviceProvider for results that name no performer.
func (e *Engine) project(ctx context.Context, r store.Reader, typ, id string, res map[string]any) (result, bool, error) {
	out := result{typ: typ, id: id}
	if !finalStatus[str(res, "status")] {
		return out, false, nil
	}
	out.patient = refID(res["subject"], "Patient")
	if out.patient == "" {
		return out, false, nil
	}
	eff := str(res, "effectiveDateTime")
	if eff == "" {
		eff = str(mapOf(res["effectivePeriod"]), "start")
	}
	if eff == "" {
		eff = str(res, "issued")
	}
	t, ok := parseDate(eff, e.loc)
	if !ok {
		return out, false, nil
	}
	out.eff = t
	for _, c := range codings(res["code"]) {
		if c[0] != "" {
			out.codes = append(out.codes, c[0]+"|"+c[1])
		}
	}
	if len(out.codes) == 0 {
		return out, false, nil
	}
	out.issuer = e.issuer(res)
	if out.issuer == "" && r != nil {
		if enc := refID(res["encounter"], "Encounter"); enc != "" {
			v, err := r.Read(ctx, "Encounter", enc)
			if err == nil {
				out.issuer = e.providers.of(v.Body)
			} else if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrGone) {
				return out, false, err
			}
		}
	}
	switch typ {
	case "Observation":
		out.value = observationValue(res)
	case "DiagnosticReport":
		out.value = str(res, "conclusion")
		if is := list(res, "imagingStudy"); len(is) > 0 {
			out.study = refID(is[0], "ImagingStudy")
		}
	}
	if len(out.value) > 200 {
		out.value = truncate(out.value, 200)
	}
	return out, true, nil
}

// serviceProvider is the Organization id of an Encounter's
// serviceProvider, from its stored JSON. Only that member is decoded: a
// Synthea result names its Encounter, so every Observation of a Bundle
// read one, and decoding the whole Encounter into a tree cost ~5 % of the
// ingest's CPU (docs/decisions/017-ingest-cpu.md).
func serviceProvider(body []byte) string {
	var enc struct {
		ServiceProvider struct {
			Reference string `json:"reference"`
		} `json:"serviceProvider"`
	}
	if json.Unmarshal(body, &enc) != nil {
		return ""
	}
	return refID(map[string]any{"reference": enc.ServiceProvider.Reference}, "Organization")
}

// providerCache remembers serviceProvider's answer per Encounter body,
// keyed by the body's bytes themselves, so it cannot go stale: a changed
// or rolled-back Encounter has other bytes, or is never read again. The
// results of one Encounter (a Synthea encounter has several) read it one
// after the other inside the serial writer, and decoding it each time was
// ~3 µs per resource of the writer's time (docs/decisions/022, round 2).
type providerCache struct {
	mu sync.Mutex
	m  map[string]string
}

// providerCacheSize bounds the cache (it starts again when full), and
// providerBodyMax the bodies kept: ~1,000 Encounters of a few KiB.
const (
	providerCacheSize = 1024
	providerBodyMax   = 8 << 10
)

func (c *providerCache) of(body []byte) string {
	c.mu.Lock()
	p, ok := c.m[string(body)] // no copy: the compiler looks up by the bytes
	c.mu.Unlock()
	if ok {
		return p
	}
	p = serviceProvider(body)
	if len(body) <= providerBodyMax {
		c.mu.Lock()
		if c.m == nil || len(c.m) >= providerCacheSize {
			c.m = make(map[string]string, providerCacheSize)
		}
		c.m[string(body)] = p
		c.mu.Unlock()
	}
	return p
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// issuer is the Organization named as performer (the first one).
func (e *Engine) issuer(res map[string]any) string {
	for _, p := range list(res, "performer") {
		if id := refID(p, "Organization"); id != "" {
			return id
		}
	}
	return ""
}

func observationValue(res map[string]any) string {
	if q := mapOf(res["valueQuantity"]); q != nil {
		v := fmt.Sprint(q["value"])
		if u := str(q, "unit"); u != "" {
			return v + " " + u
		}
		if u := str(q, "code"); u != "" {
			return v + " " + u
		}
		return v
	}
	if s := str(res, "valueString"); s != "" {
		return s
	}
	if cc := mapOf(res["valueCodeableConcept"]); cc != nil {
		if t := str(cc, "text"); t != "" {
			return t
		}
		for _, c := range list(cc, "coding") {
			if d := str(mapOf(c), "display"); d != "" {
				return d
			}
			return str(mapOf(c), "code")
		}
	}
	for _, k := range []string{"valueBoolean", "valueInteger"} {
		if v, ok := res[k]; ok {
			return fmt.Sprint(v)
		}
	}
	return ""
}

const insertRow = ` INTO recognition_result (patient, code, eff, rtype, rid, issuer, value, study, marked) VALUES `

// insertSQL inserts n rows. On SQLite it is INSERT OR IGNORE, as the
// store's own index rows are (decision 003): the table has no constraint
// a row bound from Go can break (NOT NULL only), and a statement that
// cannot abort half-way needs no statement journal. With the default
// ABORT, SQLite copied every page each result's statement touched into
// one, half of the statement's CPU (docs/decisions/017-ingest-cpu.md).
func insertSQL(dialect string, n int) string {
	verb := "INSERT"
	if dialect == "sqlite" {
		verb = "INSERT OR IGNORE"
	}
	return verb + insertRow + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", n), ", ")
}

func (e *Engine) writeRows(ctx context.Context, et store.EngineTx, r result, marked bool) error {
	args := make([]any, 0, 9*len(r.codes))
	m := 0
	if marked {
		m = 1
	}
	for _, c := range r.codes {
		args = append(args, r.patient, c, r.eff.Unix(), r.typ, r.id, r.issuer, r.value, r.study, m)
	}
	return et.ExecSQL(ctx, insertSQL(et.Dialect(), len(r.codes)), args...)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
