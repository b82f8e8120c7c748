package sqlstore

import (
	"fmt"
	"math"
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
}

// where writes the conditions that select current, non-deleted resources
// of the given types (alias a is the resource table) matching every clause.
func (b *builder) where(a string, types []string, clauses []store.Clause) error {
	b.w(a + ".deleted = 0")
	// Without statistics SQLite's planner prefers walking every resource
	// of the type and probing the index subquery for each; when a clause
	// can drive the search from an index instead, the unary + takes the
	// type column out of the index choice (PostgreSQL plans from its
	// statistics and has no unary + for text).
	typ := " AND " + a + ".type"
	if b.d == SQLite && drives(clauses) {
		typ = " AND +" + a + ".type"
	}
	if len(types) == 1 {
		b.w(typ + " = ").arg(types[0])
	} else if len(types) > 1 {
		b.w(typ + " IN ").in(types)
	}
	for _, c := range clauses {
		if len(c) == 0 {
			return fmt.Errorf("%w: empty clause", store.ErrInvalid)
		}
		b.w(" AND (")
		for i := range c {
			if i > 0 {
				b.w(" OR ")
			}
			if err := b.pred(a, &c[i]); err != nil {
				return err
			}
		}
		b.w(")")
	}
	return nil
}

// drives reports whether some clause selects resources from an index
// table alone: every predicate in it is a positive value match.
func drives(clauses []store.Clause) bool {
	for _, c := range clauses {
		ok := len(c) > 0
		for i := range c {
			p := &c[i]
			if p.Has != nil || p.Not || p.Missing != nil || p.Param == store.ParamID || p.Param == store.ParamLastUpdated {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// pred writes one predicate as a boolean expression over resource alias a.
func (b *builder) pred(a string, p *store.Predicate) error {
	switch {
	case p.Has != nil:
		return b.has(a, p.Has)
	case p.Chain != nil:
		return b.chain(a, p)
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
	table, ok := indexTable[p.Type]
	if !ok {
		return fmt.Errorf("%w: parameter %q has unknown type %q", store.ErrUnsupported, p.Param, p.Type)
	}
	x := b.newAlias("x")
	if p.Missing != nil {
		if *p.Missing {
			b.w(a + ".rid NOT IN ")
		} else {
			b.w(a + ".rid IN ")
		}
		b.w("(SELECT " + x + ".rid FROM " + table + " " + x + " WHERE " + x + ".param = ").arg(p.Param).w(")")
		return nil
	}
	if p.Not {
		if p.Type != store.TypeToken {
			return fmt.Errorf("%w: :not on a %s parameter", store.ErrUnsupported, p.Type)
		}
		b.w(a + ".rid NOT IN ")
	} else {
		b.w(a + ".rid IN ")
	}
	b.w("(SELECT " + x + ".rid FROM " + table + " " + x + " WHERE " + x + ".param = ").arg(p.Param)
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
		if err := b.rangeCmp(c+"low", c+"high", p.Prefix, p.DateLow, p.DateHigh, dateDelta(p)); err != nil {
			return err
		}
	case store.TypeNumber:
		b.w(" AND ")
		if err := b.rangeCmp(c+"low", c+"high", p.Prefix, p.NumLow, p.NumHigh, numDelta(p)); err != nil {
			return err
		}
	case store.TypeQuantity:
		lo, hi := c+"low", c+"high"
		if p.Canonical {
			lo, hi = c+"canonical_low", c+"canonical_high"
			if p.Code != "" {
				b.w(" AND " + c + "canonical_code = ").arg(p.Code)
			}
		} else {
			if p.System != "" {
				b.w(" AND " + c + "system = ").arg(p.System)
			}
			if p.Code != "" {
				b.w(" AND " + c + "code = ").arg(p.Code)
			}
		}
		b.w(" AND ")
		if err := b.rangeCmp(lo, hi, p.Prefix, p.NumLow, p.NumHigh, numDelta(p)); err != nil {
			return err
		}
	case store.TypeURI:
		b.w(" AND " + c + "uri = ").arg(p.URI)
	}
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

// chain: the reference parameter p.Param points at a current resource of
// one of p.Chain.Types that matches p.Chain.Where.
func (b *builder) chain(a string, p *store.Predicate) error {
	x, t := b.newAlias("x"), b.newAlias("t")
	b.w(a + ".rid IN (SELECT " + x + ".rid FROM idx_reference " + x + " JOIN resource " + t +
		" ON " + t + ".type = " + x + ".target_type AND " + t + ".id = " + x + ".target_id WHERE " + x + ".param = ").arg(p.Param).w(" AND ")
	if err := b.where(t, p.Chain.Types, p.Chain.Where); err != nil {
		return err
	}
	b.w(")")
	return nil
}

// has: some current resource of h.Type whose reference parameter h.Param
// points at a matches h.Where.
func (b *builder) has(a string, h *store.Has) error {
	x, s := b.newAlias("x"), b.newAlias("s")
	b.w("EXISTS (SELECT 1 FROM idx_reference " + x + " JOIN resource " + s + " ON " + s + ".rid = " + x + ".rid WHERE " +
		x + ".target_type = " + a + ".type AND " + x + ".target_id = " + a + ".id AND " + x + ".param = ").arg(h.Param).w(" AND ")
	var types []string
	if h.Type != "" {
		types = []string{h.Type}
	}
	if err := b.where(s, types, h.Where); err != nil {
		return err
	}
	b.w(")")
	return nil
}
