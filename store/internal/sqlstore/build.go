package sqlstore

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xietong/xietong/store"
)

// builder accumulates SQL text and its bound arguments in step, so a
// placeholder is always written together with the value it stands for.
type builder struct {
	d     Dialect
	sb    strings.Builder
	args  []any
	alias int
	// valueDependent: the statement leans on a partial index through
	// its values (the patient keys of PostgreSQL's idx_token_pat), which
	// a plan made for any values does not see (SearchQuerier).
	valueDependent bool
}

func newBuilder(d Dialect) *builder { return &builder{d: d} }

func (b *builder) w(s string) *builder { b.sb.WriteString(s); return b }

func (b *builder) arg(v any) *builder {
	b.args = append(b.args, v)
	if b.d == Postgres {
		b.sb.WriteString("$" + strconv.Itoa(len(b.args)))
	} else {
		b.sb.WriteByte('?')
	}
	return b
}

// in writes "(?, ?, ...)" for a non-empty list.
func (b *builder) in(vals []string) *builder {
	b.w("(")
	for i, v := range vals {
		if i > 0 {
			b.w(", ")
		}
		b.arg(v)
	}
	return b.w(")")
}

func (b *builder) String() string { return b.sb.String() }

func (b *builder) newAlias(prefix string) string {
	b.alias++
	return prefix + strconv.Itoa(b.alias)
}

// indexTable is the index table of each parameter type.
var indexTable = map[store.ParamType]string{
	store.TypeString:    "idx_string",
	store.TypeToken:     "idx_token",
	store.TypeReference: "idx_reference",
	store.TypeDate:      "idx_date",
	store.TypeNumber:    "idx_number",
	store.TypeQuantity:  "idx_quantity",
	store.TypeURI:       "idx_uri",
	store.TypeComposite: "idx_composite",
	store.TypeNear:      "idx_number", // "near:lat" and "near:lon" number entries
}

// tableParam is the index table and parameter name of a predicate's
// entries.
func tableParam(p *store.Predicate) (string, string, error) {
	table, ok := indexTable[p.Type]
	if !ok {
		return "", "", fmt.Errorf("%w: parameter %q has unknown type %q", store.ErrUnsupported, p.Param, p.Type)
	}
	if p.Type == store.TypeNear {
		return table, store.NearLat, nil
	}
	return table, p.Param, nil
}

// where writes the conditions that select current, non-deleted resources
// of the given types (alias a is the resource table) matching every clause.
//
// When free, a is not yet bound and the search may be driven: the clause
// judged most selective (driver) becomes "a.rid IN (set of row ids)" and
// every other clause a filter correlated on a's row (EXISTS ... x.rid =
// a.rid). Uncorrelated "rid IN" lists for every clause made SQLite
// materialise whole parameters (every date of every resource) to filter a
// patient's handful of rows; a correlated probe costs an index lookup per
// driving row instead. When not free, a is bound by the enclosing join
// (a chain's target, a _has source) and every clause is a filter.
func (b *builder) where(a string, types []string, clauses []store.Clause, free bool) error {
	d := -1
	if free {
		d = driver(clauses)
	}
	b.w(a + ".deleted = 0")
	// SQLite without statistics prefers walking every resource of the
	// type and probing each; when a clause drives, the unary + takes the
	// type column out of the index choice (PostgreSQL plans from its
	// statistics and has no unary + for text).
	typ := " AND " + a + ".type"
	if b.d == SQLite && d >= 0 {
		typ = " AND +" + a + ".type"
	}
	b.oneOf(typ, types)
	if d >= 0 {
		if len(clauses[d]) == 0 {
			return fmt.Errorf("%w: empty clause", store.ErrInvalid)
		}
		b.w(" AND " + a + ".rid IN (")
		if err := b.set(clauses[d], types); err != nil {
			return err
		}
		b.w(")")
	}
	return b.filters(a, types, clauses, d)
}

// from writes " FROM rows r WHERE conditions": the current, non-deleted
// resources of the types that match every clause, as alias r with at
// least the column rid, for a search that may be driven (where's free).
//
// When the driving clause's set is read from reference entries restricted
// to the searched types (a reference to a given target, a chain: typedSet)
// and nothing else needs the resource row (rid-only filters and sort
// keys), the set itself is the rows: index entries exist for current,
// non-deleted versions only, and since migration 0007 each reference entry
// carries its resource's type, so the resource row would only repeat what
// the entry says. A chain on a common family name then counts 6,000
// Observations from the index instead of reading 23,000 resource rows.
//
// One patient's resources by a code (Observation?patient=X&code=Y) are
// read from the token entries' patient keys (patientTokens).
func (b *builder) from(types []string, clauses []store.Clause, sorts []store.Sort) error {
	if pc, tc := patientTokens(types, clauses); pc >= 0 {
		// Candidates, a superset of the matches; every clause filters them.
		if ridOnly(clauses, -1, sorts) {
			b.w(" FROM (SELECT DISTINCT e.rid AS rid FROM (")
			b.patientTokenSet(types[0], &clauses[pc][0], clauses[tc])
			b.w(") e) r WHERE 1 = 1")
		} else {
			typ := " AND r.type = "
			if b.d == SQLite {
				typ = " AND +r.type = " // see where
			}
			b.w(" FROM resource r WHERE r.deleted = 0" + typ).arg(types[0]).w(" AND r.rid IN (")
			b.patientTokenSet(types[0], &clauses[pc][0], clauses[tc])
			b.w(")")
		}
		return b.filters("r", types, clauses, -1)
	}
	if d := driver(clauses); d >= 0 && len(types) > 0 && (typedSet(clauses[d]) || len(clauses[d]) == 1 && patientHas(&clauses[d][0], types)) &&
		ridOnly(clauses, d, sorts) {
		b.w(" FROM (SELECT DISTINCT e.rid AS rid FROM (")
		if err := b.set(clauses[d], types); err != nil {
			return err
		}
		b.w(") e) r WHERE 1 = 1")
		return b.filters("r", types, clauses, d)
	}
	b.w(" FROM resource r WHERE ")
	return b.where("r", types, clauses, true)
}

// patientTokens finds, in a search of one type, a clause that is one
// reference to a patient by the "patient" parameter (pc) and a clause of
// plain code matches (tc), or -1, -1. The token entries' patient key
// (idx_token.pat, migration 0004) holds "T/<patient id>" on every token
// entry of a resource of type T whose patient is that one Patient, and
// "T/*" when it has several; so the entries of the codes with one of those
// two keys are every resource of the type with the code and the patient
// (and a few with the code and several patients, which the reference
// clause then filters): at a million resources about 1 row, where the
// patient's resources of the type are about 140.
func patientTokens(types []string, clauses []store.Clause) (pc, tc int) {
	pc, tc = -1, -1
	if len(types) != 1 {
		return -1, -1
	}
	for i, c := range clauses {
		switch {
		case pc < 0 && len(c) == 1 && c[0].Param == store.PatientParam && c[0].Type == store.TypeReference &&
			c[0].TargetID != "" && c[0].URL == "" && (c[0].TargetType == "" || c[0].TargetType == "Patient") &&
			c[0].Chain == nil && c[0].Has == nil && !c[0].Not && c[0].Missing == nil:
			pc = i
		case tc < 0 && plainCodes(c):
			tc = i
		}
	}
	if pc < 0 || tc < 0 {
		return -1, -1
	}
	return pc, tc
}

// plainCodes reports whether every predicate of c is a plain code match
// (code=a,b with or without a system, or an expanded code set).
func plainCodes(c store.Clause) bool {
	if len(c) == 0 {
		return false
	}
	for i := range c {
		q := &c[i]
		if q.Type != store.TypeToken || q.Chain != nil || q.Has != nil || q.Not || q.Missing != nil || q.TextSearch ||
			q.Param == store.ParamID || !q.CodeSet && q.Code == "" {
			return false
		}
	}
	return true
}

// patientTokenSet writes the candidates of a patientTokens search: the
// token entries matching clause c whose patient key is typ/<id> or typ/*,
// and, when the reference names no target type (patient=X), the resources
// whose patient entry points at a non-Patient X (a Group: some patient
// parameters allow one), which no key records. All are of type typ.
func (b *builder) patientTokenSet(typ string, ref *store.Predicate, c store.Clause) {
	b.valueDependent = true
	x := b.newAlias("x")
	b.w("SELECT " + x + ".rid FROM idx_token " + x + " WHERE (")
	for i := range c {
		if i > 0 {
			b.w(" OR ")
		}
		q := &c[i]
		b.w("(").paramIs(x, q.Param, q.Also)
		// On SQLite the unary + keeps the system out of the index choice.
		// Before migration 0008 that kept SQLite (without statistics) off
		// a (param, code, system) index, every patient's entries of the
		// code; the one token index now leads with (param, code, pat), and
		// the system filters the patient's few entries of the code.
		sys := x + ".system"
		if b.d == SQLite {
			sys = "+" + sys
		}
		switch {
		case q.CodeSet:
			b.w(" AND ")
			b.codings(sys, x+".code", q.Codings)
		default:
			b.w(" AND " + x + ".code = ").arg(q.Code)
			if !q.AnySystem {
				b.w(" AND " + sys + " = ").arg(q.System)
			}
		}
		b.w(" AND " + x + ".pat IN (").arg(typ + "/" + ref.TargetID).w(", ").arg(typ + "/" + store.PatientMany).w(") AND " + x + ".pat <> '')")
	}
	b.w(")")
	if ref.TargetType == "" {
		y := b.newAlias("y")
		b.w(" UNION ALL SELECT " + y + ".rid FROM idx_reference " + y + " WHERE " + y + ".target_id = ").arg(ref.TargetID).
			w(" AND " + y + ".target_type <> 'Patient' AND " + y + ".param = ").arg(store.PatientParam).w(" AND " + y + ".source_type = ").arg(typ)
	}
}

// typedSet reports whether set writes every predicate of c as a lookup of
// reference entries, which it restricts to the searched types.
func typedSet(c store.Clause) bool {
	if len(c) == 0 {
		return false
	}
	for i := range c {
		p := &c[i]
		if p.Type != store.TypeReference || p.Has != nil || p.Not || p.Missing != nil || p.Param == store.ParamID {
			return false
		}
		if p.Chain == nil && (p.TargetID == "" || p.URL != "") {
			return false
		}
	}
	return true
}

// ridOnly reports whether the clauses other than the driver d, and the
// sort keys, refer to the bound resource by its row id alone (no id, type,
// last update or deletion flag).
func ridOnly(clauses []store.Clause, d int, sorts []store.Sort) bool {
	for _, s := range sorts {
		if s.Param == store.ParamID || s.Param == store.ParamLastUpdated {
			return false
		}
	}
	for i, c := range clauses {
		if i == d {
			continue
		}
		for j := range c {
			p := &c[j]
			if p.Has != nil || p.Param == store.ParamID || p.Param == store.ParamLastUpdated {
				return false
			}
		}
	}
	return true
}

// filters writes " AND (...)" for every clause but the driver d, each a
// condition on the bound row a.
func (b *builder) filters(a string, types []string, clauses []store.Clause, d int) error {
	for i, c := range clauses {
		if len(c) == 0 {
			return fmt.Errorf("%w: empty clause", store.ErrInvalid)
		}
		if i == d {
			continue
		}
		b.w(" AND (")
		for j := range c {
			if j > 0 {
				b.w(" OR ")
			}
			if patientHas(&c[j], types) {
				b.hasPatientFilter(a, c[j].Has)
				continue
			}
			if err := b.filter(a, &c[j]); err != nil {
				return err
			}
		}
		b.w(")")
	}
	return nil
}

// driver picks the clause to drive a search from: the one with the best
// score (a disjunction scores as its weakest predicate), or -1 when no
// clause can drive or an _id clause should (the (type, id) key answers it).
func driver(clauses []store.Clause) int {
	best, bestScore := -1, 0
	for i, c := range clauses {
		s := clauseScore(c)
		if s < 0 {
			return -1
		}
		if s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

// clauseScore rates how few rows a clause's set is likely to hold, without
// statistics: 0 when it cannot drive, -1 for an _id match.
func clauseScore(c store.Clause) int {
	score := math.MaxInt
	ids := len(c) > 0
	for i := range c {
		p := &c[i]
		if p.Param == store.ParamID && p.Has == nil && p.Chain == nil && !p.Not && p.Missing == nil {
			score = min(score, 100) // set writes it as a (type, id) lookup
			continue
		}
		ids = false
		score = min(score, predScore(p))
	}
	if ids {
		return -1
	}
	return score
}

func predScore(p *store.Predicate) int {
	switch {
	case p.Has != nil:
		return max(innerScore(p.Has.Where)-2, 5)
	case p.Chain != nil:
		return max(innerScore(p.Chain.Where)-1, 5)
	case p.Not || p.Missing != nil || p.Param == store.ParamID || p.Param == store.ParamLastUpdated:
		return 0
	}
	switch p.Type {
	case store.TypeReference:
		switch {
		case p.TargetID != "":
			return 90
		case p.URL != "":
			return 85
		}
		// A target type alone (any Patient): no index leads with it; the
		// resources of the type, probed one by one, are cheaper.
		return 0
	case store.TypeToken:
		switch {
		case p.TextSearch:
			return 10
		case p.CodeSet:
			return 60
		case p.Code != "":
			return 70
		}
		return 20
	case store.TypeString:
		switch p.Match {
		case store.StringExact:
			return 65
		case store.StringStartsWith:
			return 50
		}
		return 10
	case store.TypeURI:
		if p.Below {
			return 45
		}
		return 65
	case store.TypeComposite:
		if len(p.Components) > 0 {
			return max(predScore(&p.Components[0]), 40) + 5
		}
		return 0
	case store.TypeNear:
		return 60
	case store.TypeQuantity:
		return 40
	case store.TypeDate, store.TypeNumber:
		return 30
	}
	return 0
}

// innerScore is the score of the best clause of a nested search.
func innerScore(clauses []store.Clause) int {
	best := 0
	for _, c := range clauses {
		s := clauseScore(c)
		if s < 0 {
			return 95
		}
		best = max(best, s)
	}
	return best
}

// set writes a subquery selecting the row ids of the resources that match
// any predicate of a driving clause. Reference predicates on the same
// target are one index lookup (param IN ...): a compartment clause is an
// OR of several; other predicates are united.
func (b *builder) set(c store.Clause, types []string) error {
	done := make([]bool, len(c))
	first := true
	for i := range c {
		if done[i] {
			continue
		}
		if !first {
			b.w(" UNION ")
		}
		first = false
		p := &c[i]
		if p.Chain == nil && p.Has == nil && p.Type == store.TypeReference && p.TargetID != "" && p.Missing == nil {
			params := []string{p.Param}
			for j := i + 1; j < len(c); j++ {
				q := &c[j]
				if !done[j] && q.Chain == nil && q.Has == nil && q.Type == store.TypeReference && q.Missing == nil &&
					q.TargetID == p.TargetID && q.TargetType == p.TargetType && q.URL == "" {
					done[j] = true
					if !slices.Contains(params, q.Param) {
						params = append(params, q.Param)
					}
				}
			}
			x := b.newAlias("x")
			b.w("SELECT " + x + ".rid FROM idx_reference " + x + " WHERE " + x + ".target_id = ").arg(p.TargetID)
			if p.TargetType != "" {
				b.w(" AND " + x + ".target_type = ").arg(p.TargetType)
			}
			b.oneOf(" AND "+x+".param", params)
			b.sourceType(x, types)
			continue
		}
		if p.Param == store.ParamID {
			// An _id beside other predicates (a compartment's own resource).
			t := b.newAlias("t")
			b.w("SELECT " + t + ".rid FROM resource " + t + " WHERE " + t + ".id = ").arg(p.Code)
			b.oneOf(" AND "+t+".type", types)
			continue
		}
		if patientHas(p, types) {
			b.hasPatientSet(p.Has)
			continue
		}
		if err := b.predSet(p, types); err != nil {
			return err
		}
	}
	return nil
}

// sourceType writes the condition that reference entry x belongs to a
// resource of one of the types (none: any type).
func (b *builder) sourceType(x string, types []string) {
	b.oneOf(" AND "+x+".source_type", types)
}

// oneOf writes "col = ?" for one value, "col IN (?, ...)" for several and
// nothing for none (col carries its leading " AND " when it needs one).
func (b *builder) oneOf(col string, vals []string) *builder {
	switch len(vals) {
	case 0:
		return b
	case 1:
		return b.w(col + " = ").arg(vals[0])
	}
	return b.w(col + " IN ").in(vals)
}

// predSet writes a subquery selecting the row ids of the resources one
// positive predicate matches. The caller restricts the type; a chain's
// entries are restricted to the types here already (typedSet).
func (b *builder) predSet(p *store.Predicate, types []string) error {
	switch {
	case p.Has != nil:
		// Driven from the inner side: the matching sources, the references
		// they hold, the resources those point at.
		x, s, t := b.newAlias("x"), b.newAlias("s"), b.newAlias("t")
		b.w("SELECT " + t + ".rid FROM resource " + s + " JOIN idx_reference " + x + " ON " + x + ".rid = " + s + ".rid JOIN resource " + t +
			" ON " + t + ".type = " + x + ".target_type AND " + t + ".id = " + x + ".target_id WHERE " + x + ".param = ").arg(p.Has.Param).w(" AND ")
		return b.where(s, hasTypes(p.Has), p.Has.Where, true)
	case p.Chain != nil:
		x, t := b.newAlias("x"), b.newAlias("t")
		b.w("SELECT " + x + ".rid FROM resource " + t + " JOIN idx_reference " + x + " ON " + x + ".target_id = " + t + ".id AND " + x + ".target_type = " + t + ".type WHERE " + x + ".param = ").arg(p.Param)
		b.sourceType(x, types)
		b.w(" AND ")
		return b.where(t, p.Chain.Types, p.Chain.Where, true)
	}
	table, param, err := tableParam(p)
	if err != nil {
		return err
	}
	x := b.newAlias("x")
	b.w("SELECT " + x + ".rid FROM " + table + " " + x + " WHERE ")
	b.paramIs(x, param, p.Also)
	return b.valueCond(x, p)
}

// patientHas reports whether p is a reverse chain the token entries'
// patient column (idx_token.pat, store.Index.PatientKey) answers: Patients
// (and only Patients are searched) that some resource of one type points
// at by its "patient" parameter, the resource matched by one clause of
// plain code matches (Patient?_has:Observation:patient:code=a,b).
func patientHas(p *store.Predicate, types []string) bool {
	h := p.Has
	if h == nil || h.Type == "" || h.Param != store.PatientParam || len(types) != 1 || types[0] != "Patient" || len(h.Where) != 1 {
		return false
	}
	return plainCodes(h.Where[0])
}

// hasPatientCond writes the conditions on token entry x of a
// patientHas's inner clause: any of its predicates, each on an entry with
// a patient (the literal condition that pat is not empty, in every
// branch, lets PostgreSQL use its partial index idx_token_pat for each).
func (b *builder) hasPatientCond(x string, h *store.Has) {
	b.w("(")
	for i := range h.Where[0] {
		if i > 0 {
			b.w(" OR ")
		}
		b.hasPatientPred(x, &h.Where[0][i])
	}
	b.w(")")
}

func (b *builder) hasPatientPred(x string, q *store.Predicate) {
	b.w("(").paramIs(x, q.Param, q.Also)
	_ = b.valueCond(x, q) // a plain token: valueCond cannot fail
	b.w(" AND " + x + ".pat <> '')")
}

// hasPatientKeys writes the distinct patient keys "T/<patient id>" (T is
// h.Type; not "T/*", several patients) of the token entries that match h's
// clause. One code is a range of the token index, its keys streamed in
// index order. Several codes are one range each, united: written as an OR,
// SQLite answers it on the clustered token table (migration 0008) with a
// "MULTI-INDEX OR", which is not covering on a WITHOUT ROWID table and
// reads every matching entry's table row (21,000 for a common code).
func (b *builder) hasPatientKeys(h *store.Has, prefix string) {
	keys := func(distinct, x string, q *store.Predicate) {
		b.w("SELECT " + distinct + x + ".pat AS pat FROM idx_token " + x + " WHERE ")
		b.hasPatientPred(x, q)
		b.w(" AND " + x + ".pat >= ").arg(prefix).w(" AND " + x + ".pat < ").arg(h.Type + "0") // "0" follows "/"
		b.w(" AND " + x + ".pat <> ").arg(prefix + store.PatientMany)
	}
	c := h.Where[0]
	if len(c) == 1 {
		x := b.newAlias("x")
		keys("DISTINCT ", x, &c[0])
		return
	}
	k := b.newAlias("p") // a co-routine, streamed (plan_test's convention)
	b.w("SELECT DISTINCT " + k + ".pat AS pat FROM (")
	for i := range c {
		if i > 0 {
			b.w(" UNION ALL ")
		}
		keys("", b.newAlias("x"), &c[i])
	}
	b.w(") " + k)
}

// hasPatientSet writes the row ids of the live Patients a patientHas
// matches (from the partial index resource_patient_live, migration 0007,
// without their resource rows):
// the patients of the token entries that match and carry the key of a
// resource of h.Type (an index-only scan of the code's entries, however
// many resources match, and one lookup per patient); and, by the general
// join, those of resources that point at several patients (key "T/*").
// It is written to need no temporary B-tree (the distinct keys stream in
// index order; the two parts, the right side of an IN, are a UNION ALL):
// in modernc.org/sqlite allocating and freeing temporary B-tree pages was
// most of such a query's CPU time.
func (b *builder) hasPatientSet(h *store.Has) {
	b.valueDependent = true
	prefix := h.Type + "/"
	p, t := b.newAlias("p"), b.newAlias("t")
	b.w("SELECT " + t + ".rid FROM (")
	b.hasPatientKeys(h, prefix)
	b.w(") " + p + " JOIN resource " + t + b.livePatients() + " ON " + t + ".type = 'Patient' AND " + t + ".deleted = 0 AND " + t + ".id = substr(" + p + ".pat, ").arg(len(prefix) + 1).w(")")
	x, f := b.newAlias("x"), b.newAlias("f")
	t = b.newAlias("t")
	b.w(" UNION ALL SELECT " + t + ".rid FROM idx_token " + x + " JOIN idx_reference " + f + " ON " + f + ".rid = " + x + ".rid JOIN resource " + t + b.livePatients() +
		" ON " + t + ".type = 'Patient' AND " + t + ".deleted = 0 AND " + t + ".id = " + f + ".target_id WHERE ")
	b.hasPatientCond(x, h)
	b.w(" AND " + x + ".pat = ").arg(prefix + store.PatientMany).w(" AND ")
	b.paramEq(f, store.PatientParam)
	b.w(" AND " + f + ".target_type = 'Patient'")
}

// livePatients names, on SQLite, the partial index of live Patients for a
// resource alias joined by type 'Patient', not deleted, and id: without
// statistics SQLite prefers the (type, id) key, whose rows must then be
// read to see deletion.
func (b *builder) livePatients() string {
	if b.d == SQLite {
		return " INDEXED BY resource_patient_live"
	}
	return ""
}

// hasPatientFilter writes a patientHas as a condition on the bound
// Patient row a: one index probe for the key "T/<a's id>", and one for
// resources pointing at several patients.
func (b *builder) hasPatientFilter(a string, h *store.Has) {
	b.valueDependent = true
	prefix := h.Type + "/"
	y := b.newAlias("y")
	b.w("(EXISTS (SELECT 1 FROM idx_token " + y + " WHERE ")
	b.hasPatientCond(y, h)
	b.w(" AND " + y + ".pat = CAST(").arg(prefix).w(" AS TEXT) || " + a + ".id)")
	x, f := b.newAlias("x"), b.newAlias("f")
	b.w(" OR EXISTS (SELECT 1 FROM idx_token " + x + " JOIN idx_reference " + f + " ON " + f + ".rid = " + x + ".rid WHERE ")
	b.hasPatientCond(x, h)
	b.w(" AND " + x + ".pat = ").arg(prefix + store.PatientMany).w(" AND ")
	b.paramEq(f, store.PatientParam)
	b.w(" AND " + f + ".target_type = 'Patient' AND " + f + ".target_id = " + a + ".id))")
}

func hasTypes(h *store.Has) []string {
	if h.Type == "" {
		return nil
	}
	return []string{h.Type}
}

// paramEq writes "x.param = ?" for a probe correlated on x.rid. On SQLite
// the unary + keeps the planner on the table's key (rid, param, seq),
// scanning the resource's entries of the table: given param it prefers an
// index leading with param and a value (param, code), i.e. every entry of
// that code (measured: without the +, the plans of plan_test probe
// idx_token_code and idx_date_range per driving row).
func (b *builder) paramEq(x, param string) *builder {
	return b.paramsEq(x, param, nil)
}

// paramsEq is paramEq for a parameter whose entries include those of also
// (store.Predicate.Also).
func (b *builder) paramsEq(x, param string, also []string) *builder {
	if b.d == SQLite {
		b.w("+")
	}
	return b.paramIs(x, param, also)
}

// paramIs writes "x.param = ?", or "x.param IN (?, ...)" when the
// parameter's entries include those of others (store.Predicate.Also).
func (b *builder) paramIs(x, param string, also []string) *builder {
	return b.oneOf(x+".param", append([]string{param}, also...))
}

// filter writes one predicate as a boolean expression over the bound row a.
func (b *builder) filter(a string, p *store.Predicate) error {
	switch {
	case p.Has != nil:
		x, s := b.newAlias("x"), b.newAlias("s")
		b.w("EXISTS (SELECT 1 FROM idx_reference " + x + " JOIN resource " + s + " ON " + s + ".rid = " + x + ".rid WHERE " +
			x + ".target_id = " + a + ".id AND " + x + ".target_type = " + a + ".type AND " + x + ".param = ").arg(p.Has.Param)
		b.sourceType(x, hasTypes(p.Has))
		b.w(" AND ")
		if err := b.where(s, hasTypes(p.Has), p.Has.Where, false); err != nil {
			return err
		}
		b.w(")")
		return nil
	case p.Chain != nil:
		x, t := b.newAlias("x"), b.newAlias("t")
		b.w("EXISTS (SELECT 1 FROM idx_reference " + x + " JOIN resource " + t + " ON " + t + ".type = " + x + ".target_type AND " +
			t + ".id = " + x + ".target_id WHERE " + x + ".rid = " + a + ".rid AND ")
		b.paramEq(x, p.Param).w(" AND ")
		if err := b.where(t, p.Chain.Types, p.Chain.Where, false); err != nil {
			return err
		}
		b.w(")")
		return nil
	}
	switch p.Param {
	case store.ParamID:
		switch {
		case p.Missing != nil:
			b.w(boolSQL(!*p.Missing))
		case p.Not:
			b.w(a + ".id <> ").arg(p.Code)
		default:
			b.w(a + ".id = ").arg(p.Code)
		}
		return nil
	case store.ParamLastUpdated:
		if p.Missing != nil {
			b.w(boolSQL(!*p.Missing))
			return nil
		}
		return b.rangeCmp(a+".last_updated", a+".last_updated", p.Prefix, p.DateLow, p.DateHigh, dateDelta(p))
	}
	table, param, err := tableParam(p)
	if err != nil {
		return err
	}
	if p.Not && p.Missing == nil && p.Type != store.TypeToken {
		return fmt.Errorf("%w: :not on a %s parameter", store.ErrUnsupported, p.Type)
	}
	if p.Not || p.Missing != nil && *p.Missing {
		b.w("NOT ")
	}
	x := b.newAlias("x")
	b.w("EXISTS (SELECT 1 FROM " + table + " " + x + " WHERE " + x + ".rid = " + a + ".rid AND ")
	b.paramsEq(x, param, p.Also)
	if p.Missing == nil {
		if err := b.valueCond(x, p); err != nil {
			return err
		}
	}
	b.w(")")
	return nil
}

// valueCond writes " AND ..." comparing the columns of index row x with
// the predicate's value.
func (b *builder) valueCond(x string, p *store.Predicate) error {
	c := x + "."
	switch p.Type {
	case store.TypeString:
		switch p.Match {
		case store.StringStartsWith:
			// A range, not LIKE: it uses the (param, norm) index in both
			// databases (norm compares bytewise: BINARY / COLLATE "C").
			b.w(" AND " + c + "norm >= ").arg(p.String).w(" AND " + c + "norm < ").arg(p.String + "\U0010FFFF")
		case store.StringExact:
			b.w(" AND " + c + "exact = ").arg(p.String)
		case store.StringContains:
			b.w(" AND " + c + "norm LIKE ").arg("%" + likeEscape(p.String) + "%").w(` ESCAPE '\'`)
		default:
			return fmt.Errorf("%w: string match %d", store.ErrUnsupported, p.Match)
		}
	case store.TypeToken:
		if p.TextSearch {
			v := likeEscape(strings.ToLower(p.String))
			b.w(" AND (lower(" + c + "text) LIKE ").arg(v + "%").w(` ESCAPE '\' OR lower(` + c + "text) LIKE ").arg("% " + v + "%").w(` ESCAPE '\')`)
			break
		}
		if p.CodeSet {
			b.w(" AND ")
			b.codings(c+"system", c+"code", p.Codings)
			break
		}
		if p.Code != "" {
			b.w(" AND " + c + "code = ").arg(p.Code)
		}
		if !p.AnySystem {
			b.w(" AND " + c + "system = ").arg(p.System)
		}
	case store.TypeReference:
		switch {
		case p.URL != "":
			b.w(" AND " + c + "url = ").arg(p.URL)
		case p.TargetID != "":
			b.w(" AND " + c + "target_id = ").arg(p.TargetID)
			if p.TargetType != "" {
				b.w(" AND " + c + "target_type = ").arg(p.TargetType)
			}
		case p.TargetType != "":
			b.w(" AND " + c + "target_type = ").arg(p.TargetType)
		default:
			return fmt.Errorf("%w: reference predicate on %q without a target", store.ErrInvalid, p.Param)
		}
	case store.TypeDate:
		b.w(" AND ")
		return b.rangeCmp(c+"low", c+"high", p.Prefix, p.DateLow, p.DateHigh, dateDelta(p))
	case store.TypeNumber:
		b.w(" AND ")
		return b.rangeCmp(c+"low", c+"high", p.Prefix, p.NumLow, p.NumHigh, numDelta(p))
	case store.TypeQuantity:
		lo, hi := c+"low", c+"high"
		if p.Canonical {
			lo, hi = c+"canonical_low", c+"canonical_high"
			// The literal keeps SQLite on the partial index
			// idx_quantity_canonical.
			b.w(" AND " + c + "canonical_code = ").arg(p.Code).w(" AND " + c + "canonical_code <> ''")
		} else {
			if p.System != "" {
				b.w(" AND " + c + "system = ").arg(p.System)
			}
			if p.Code != "" {
				b.w(" AND " + c + "code = ").arg(p.Code)
			}
		}
		b.w(" AND ")
		return b.rangeCmp(lo, hi, p.Prefix, p.NumLow, p.NumHigh, numDelta(p))
	case store.TypeURI:
		if p.Below {
			b.w(" AND " + c + "uri >= ").arg(p.URI).w(" AND " + c + "uri < ").arg(p.URI + "\U0010FFFF")
		} else {
			b.w(" AND " + c + "uri = ").arg(p.URI)
		}
	case store.TypeComposite:
		if len(p.Components) == 0 || len(p.Components) > store.MaxComponents {
			return fmt.Errorf("%w: composite %q with %d components", store.ErrInvalid, p.Param, len(p.Components))
		}
		for k := range p.Components {
			if err := b.componentCond(c, k+1, &p.Components[k]); err != nil {
				return err
			}
		}
	case store.TypeNear:
		return b.nearCond(x, p.Near)
	default:
		return fmt.Errorf("%w: parameter %q has unknown type %q", store.ErrUnsupported, p.Param, p.Type)
	}
	return nil
}

// codings writes "(system = ? AND code IN (...)) OR ..." grouped by system;
// an empty list matches nothing.
func (b *builder) codings(system, code string, cs []store.Coding) {
	if len(cs) == 0 {
		b.w("1 = 0")
		return
	}
	var systems []string
	bySystem := map[string][]string{}
	for _, c := range cs {
		if _, ok := bySystem[c.System]; !ok {
			systems = append(systems, c.System)
		}
		bySystem[c.System] = append(bySystem[c.System], c.Code)
	}
	b.w("(")
	for i, sys := range systems {
		if i > 0 {
			b.w(" OR ")
		}
		b.w("(" + system + " = ").arg(sys).w(" AND " + code + " IN ").in(bySystem[sys]).w(")")
	}
	b.w(")")
}

// componentCond writes the conditions of component k (1-based) of a
// composite entry, held as store.CompositeEntry describes.
func (b *builder) componentCond(c string, k int, p *store.Predicate) error {
	n := strconv.Itoa(k)
	sys, code, lo, hi := c+"system"+n, c+"code"+n, c+"low"+n, c+"high"+n
	switch p.Type {
	case store.TypeToken:
		switch {
		case p.CodeSet:
			b.w(" AND ")
			b.codings(sys, code, p.Codings)
		default:
			if p.Code != "" {
				b.w(" AND " + code + " = ").arg(p.Code)
			}
			if !p.AnySystem {
				b.w(" AND " + sys + " = ").arg(p.System)
			}
		}
	case store.TypeURI:
		b.w(" AND " + code + " = ").arg(p.URI)
	case store.TypeString:
		switch p.Match {
		case store.StringExact:
			b.w(" AND " + sys + " = ").arg(p.String)
		case store.StringContains:
			b.w(" AND " + code + " LIKE ").arg("%" + likeEscape(p.String) + "%").w(` ESCAPE '\'`)
		default:
			b.w(" AND " + code + " >= ").arg(p.String).w(" AND " + code + " < ").arg(p.String + "\U0010FFFF")
		}
	case store.TypeReference:
		switch {
		case p.URL != "":
			b.w(" AND " + sys + " = '' AND " + code + " = ").arg(p.URL)
		case p.TargetID != "":
			b.w(" AND " + code + " = ").arg(p.TargetID)
			if p.TargetType != "" {
				b.w(" AND " + sys + " = ").arg(p.TargetType)
			}
		default:
			return fmt.Errorf("%w: reference component without a target", store.ErrInvalid)
		}
	case store.TypeDate:
		b.w(" AND ")
		d, _ := dateDelta(p).(int64)
		return b.rangeCmp(lo, hi, p.Prefix, float64(p.DateLow), float64(p.DateHigh), float64(d))
	case store.TypeNumber, store.TypeQuantity:
		if p.Type == store.TypeQuantity {
			if p.System != "" {
				b.w(" AND " + sys + " = ").arg(p.System)
			}
			if p.Code != "" {
				b.w(" AND " + code + " = ").arg(p.Code)
			}
		}
		b.w(" AND ")
		return b.rangeCmp(lo, hi, p.Prefix, p.NumLow, p.NumHigh, numDelta(p))
	default:
		return fmt.Errorf("%w: a %s component", store.ErrUnsupported, p.Type)
	}
	return nil
}

// earthKm is the mean Earth radius (IUGG) used for near.
const earthKm = 6371.0088

// nearCond writes, for the latitude entry x of a Location, a bounding box
// on the latitude (the index range), the longitude entry in the box, and
// the great-circle (haversine) distance within n.Km.
func (b *builder) nearCond(x string, n *store.Near) error {
	if n == nil || n.Km < 0 || math.IsNaN(n.Km) {
		return fmt.Errorf("%w: near without a point and distance", store.ErrInvalid)
	}
	dlat := n.Km / (earthKm * math.Pi / 180)
	b.w(" AND " + x + ".low >= ").arg(n.Lat - dlat).w(" AND " + x + ".low <= ").arg(n.Lat + dlat)
	o := b.newAlias("o")
	b.w(" AND EXISTS (SELECT 1 FROM idx_number " + o + " WHERE " + o + ".rid = " + x + ".rid AND ")
	b.paramEq(o, store.NearLon)
	// The longitude box, where it is one interval (away from the poles
	// and the antimeridian); the distance below decides anyway.
	if cos := math.Cos((math.Abs(n.Lat) + dlat) * math.Pi / 180); cos > 0.01 {
		dlon := dlat / cos
		if lo, hi := n.Lon-dlon, n.Lon+dlon; lo >= -180 && hi <= 180 {
			b.w(" AND " + o + ".low >= ").arg(lo).w(" AND " + o + ".low <= ").arg(hi)
		}
	}
	least := "min"
	if b.d == Postgres {
		least = "least"
	}
	// 2 R asin(sqrt(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2))) <= km
	b.w(" AND 2 * " + strconv.FormatFloat(earthKm, 'f', -1, 64) + " * asin(sqrt(" + least + "(1.0, ")
	b.w("power(sin(radians(" + x + ".low - ").arg(n.Lat).w(") / 2), 2) + cos(radians(").arg(n.Lat).w(")) * cos(radians(" + x + ".low)) * ")
	b.w("power(sin(radians(" + o + ".low - ").arg(n.Lon).w(") / 2), 2)))) <= ").arg(n.Km)
	b.w(")")
	return nil
}

// rangeCmp writes the R4 prefix semantics over ranges
// (http://hl7.org/fhir/R4/search.html#prefix): the target value covers
// [lo, hi], the search value [sl, sh]; delta widens the search range for ap.
func (b *builder) rangeCmp(lo, hi string, p store.Prefix, sl, sh, delta any) error {
	contains := func() {
		b.w("(" + lo + " >= ").arg(sl).w(" AND " + hi + " <= ").arg(sh).w(")")
	}
	switch p {
	case store.PrefixEq, "":
		contains()
	case store.PrefixNe:
		b.w("NOT ")
		contains()
	case store.PrefixGt:
		b.w(hi + " > ").arg(sh)
	case store.PrefixLt:
		b.w(lo + " < ").arg(sl)
	case store.PrefixGe:
		b.w("(" + hi + " > ").arg(sh).w(" OR ")
		contains()
		b.w(")")
	case store.PrefixLe:
		b.w("(" + lo + " < ").arg(sl).w(" OR ")
		contains()
		b.w(")")
	case store.PrefixSa:
		b.w(lo + " > ").arg(sh)
	case store.PrefixEb:
		b.w(hi + " < ").arg(sl)
	case store.PrefixAp:
		switch d := delta.(type) {
		case int64:
			b.w("(" + lo + " <= ").arg(sh.(int64) + d).w(" AND " + hi + " >= ").arg(sl.(int64) - d).w(")")
		case float64:
			b.w("(" + lo + " <= ").arg(sh.(float64) + d).w(" AND " + hi + " >= ").arg(sl.(float64) - d).w(")")
		}
	default:
		return fmt.Errorf("%w: prefix %q", store.ErrUnsupported, p)
	}
	return nil
}

// now is the clock for ap on dates; a variable so tests can pin it.
var now = time.Now

// dateDelta is the ap leeway of a date: 10% of the gap between now and the
// value, as R4 suggests, and at least nothing.
func dateDelta(p *store.Predicate) any {
	mid := p.DateLow/2 + p.DateHigh/2
	gap := now().UnixMicro() - mid
	if gap < 0 {
		gap = -gap
	}
	return gap / 10
}

// numDelta is the ap leeway of a number or quantity: 10% of the value.
func numDelta(p *store.Predicate) any {
	return math.Abs(p.NumLow/2+p.NumHigh/2) / 10
}

func boolSQL(v bool) string {
	if v {
		return "1 = 1"
	}
	return "1 = 0"
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
