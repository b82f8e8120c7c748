package recognition

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhirapi"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
)

// Writer stores resources through the node's write path (validation,
// hooks, indexing, access and audit), all in one transaction. The server
// provides it; the engine uses it to import catalogues and to re-mark
// results, never from inside a hook.
type Writer interface {
	Write(ctx context.Context, resources []map[string]any) error
}

// Options configure an Engine.
type Options struct {
	// Zone is the zone of dates written without one (nil: Asia/Shanghai's
	// +08:00); it decides which calendar day a result belongs to.
	Zone *time.Location
	// Now is the clock (nil: time.Now); tests set it.
	Now    func() time.Time
	Logger *slog.Logger
	// AutoRemark re-marks stored results in the background (through the
	// Writer) when memberships, EQA results or the catalogue change;
	// without it, Observation/$recognition-remark does it on request.
	AutoRemark bool
}

// Engine is the recognition engine. It is a fhirapi.Hook (add it to
// Deps.Hooks) and serves the operations of operation.go. Safe for
// concurrent use.
type Engine struct {
	st     store.Store
	sql    store.EngineSQL
	loc    *time.Location
	now    func() time.Time
	log    *slog.Logger
	Writer Writer // set by the server before the operations that write are used
	// ResolveCode, when set (the server wires the e-health-card service),
	// turns a scanned one-code presented at the orderer into the master
	// Patient's id, for the type-level check's code parameter.
	ResolveCode func(ctx context.Context, code, orderer string) (string, error)

	providers providerCache // Encounter bodies' serviceProviders, read inside writes

	mu       sync.RWMutex
	s        *state
	auto     *remarker
	remarkMu sync.Mutex // one Remark at a time
}

var _ fhirapi.Hook = (*Engine)(nil)

// New migrates the engine's tables in st and loads the catalogue,
// qualifications, institutions and decisions from it. The store must
// implement store.EngineSQL (both SQL stores do).
func New(ctx context.Context, st store.Store, o Options) (*Engine, error) {
	es, ok := st.(store.EngineSQL)
	if !ok {
		return nil, errors.New("recognition: the store does not offer engine tables (store.EngineSQL)")
	}
	if o.Zone == nil {
		o.Zone = time.FixedZone("+08:00", 8*3600)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if err := Migrate(ctx, st); err != nil {
		return nil, err
	}
	e := &Engine{st: st, sql: es, loc: o.Zone, now: o.Now, log: o.Logger, s: newState()}
	if err := e.Reload(ctx); err != nil {
		return nil, err
	}
	if o.AutoRemark {
		e.startRemarker()
	}
	return e, nil
}

// watched are the types whose resources make the engine's state, with the
// search that finds them.
var watched = []struct{ typ, param, value string }{
	{"PlanDefinition", "identifier", csProg + "|"},
	{"ActivityDefinition", "identifier", csItem + "|"},
	{"OrganizationAffiliation", "role", csProg + "|"},
	{"Basic", "code", csKind + "|eqa-result"},
	{"Organization", "", ""},
	{"Task", "code", csKind + "|decision"},
}

// Reload rebuilds the in-memory state from the store.
func (e *Engine) Reload(ctx context.Context) error {
	s := newState()
	for _, w := range watched {
		params := url.Values{"_count": {"1000"}}
		if w.param != "" {
			params.Set(w.param, w.value)
		}
		req, err := search.Parse(w.typ, params, search.Options{Strict: true, MaxCount: 1000, Zone: e.loc})
		if err != nil {
			return fmt.Errorf("recognition: load %s: %w", w.typ, err)
		}
		q := req.Query
		q.Total = store.TotalNone
		for {
			res, err := e.st.Search(ctx, q)
			if err != nil {
				return fmt.Errorf("recognition: load %s: %w", w.typ, err)
			}
			for _, v := range res.Matches {
				m, err := decode(v.Body)
				if err == nil {
					e.apply(s, v.Type, v.ID, m)
				}
			}
			if res.NextCursor == "" {
				break
			}
			q.Cursor = res.NextCursor
		}
	}
	s.rebuild()
	e.mu.Lock()
	e.s = s
	e.mu.Unlock()
	return nil
}

func decode(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	return m, d.Decode(&m)
}

// apply records one current version (m nil: deleted) in s.
func (e *Engine) apply(s *state, typ, id string, m map[string]any) {
	k := typ + "/" + id
	switch typ {
	case "PlanDefinition":
		delete(s.rawProg, k)
		if p := parseProgramme(m); m != nil && p != nil {
			s.rawProg[k] = p
		}
	case "ActivityDefinition":
		delete(s.rawItem, k)
		if m != nil {
			if it := parseItem(m); it != nil {
				s.rawItem[k] = it
			}
		}
	case "OrganizationAffiliation":
		delete(s.rawMember, k)
		if m != nil {
			if ms, ok := parseMembership(m, e.loc); ok {
				s.rawMember[k] = ms
			}
		}
	case "Basic":
		delete(s.rawEQA, k)
		if m != nil {
			if q, ok := parseEQA(m, e.loc); ok {
				s.rawEQA[k] = q
			}
		}
	case "Organization":
		delete(s.orgs, id)
		if m != nil {
			s.orgs[id] = parseOrg(m)
		}
	case "Task":
		delete(s.decisions, id)
		if m != nil {
			if d, err := e.parseDecision(m); err == nil {
				d.ID = id
				s.decisions[id] = d
			}
		}
	}
}

func hasMark(res map[string]any) bool {
	for _, t := range list(mapOf(res["meta"]), "tag") {
		tm := mapOf(t)
		if str(tm, "system") == Tag && str(tm, "code") == MarkHR {
			return true
		}
	}
	return false
}

// setMark adds or removes the HR tag in res's meta.
func setMark(res map[string]any, on bool) {
	meta := mapOf(res["meta"])
	if meta == nil {
		if !on {
			return
		}
		meta = map[string]any{}
		res["meta"] = meta
	}
	var tags []any
	for _, t := range list(meta, "tag") {
		if str(mapOf(t), "system") != Tag {
			tags = append(tags, t)
		}
	}
	if on {
		tags = append(tags, map[string]any{"system": Tag, "code": MarkHR, "display": "互认 (mutually recognised result)"})
	}
	if len(tags) == 0 {
		delete(meta, "tag")
		if len(meta) == 0 {
			delete(res, "meta")
		}
		return
	}
	meta["tag"] = tags
}

// markFor reports whether a result with these codes, issued by issuer on
// eff, qualifies in some programme now (the window and the orderer are
// the check's business, not the mark's).
func (s *state) markFor(codes []string, issuer string, eff, now time.Time) bool {
	if issuer == "" {
		return false
	}
	for _, c := range codes {
		for _, it := range s.byCode[c] {
			if s.issuerReason(it, issuer, eff, now) == "" {
				return true
			}
		}
	}
	return false
}

// sameMarkRules reports whether two versions of an item mark the same
// results (the window and the price do not matter to the mark).
func sameMarkRules(a, b *Item) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Programme == b.Programme && a.Code == b.Code && a.MinGrade == b.MinGrade && a.EQA == b.EQA && slices.Equal(a.Codes, b.Codes)
}

// newScope is a re-mark scope with its codes sorted and unique.
func newScope(issuer string, codes []string) remarkScope {
	codes = slices.Clone(codes)
	slices.Sort(codes)
	return remarkScope{issuer: issuer, codes: slices.Compact(codes)}
}

// programmeCodes are the codes the items of programme p cover ("" : none).
func (s *state) programmeCodes(p string) []string {
	var out []string
	for _, it := range s.rawItem {
		if p != "" && it.Programme == p {
			out = append(out, it.Codes...)
		}
	}
	return out
}

// itemCodes are the codes item code I covers in any programme.
func (s *state) itemCodes(item string) []string {
	var out []string
	for _, it := range s.rawItem {
		if it.Code == item {
			out = append(out, it.Codes...)
		}
	}
	return out
}

// Reasons a prior result does not qualify (csWhy codes).
const (
	WhyNotInCatalogue   = "not-in-catalogue"
	WhyOrdererNotMember = "orderer-not-in-programme"
	WhyNoPrior          = "no-prior-result"
	WhyOutsideWindow    = "outside-window"
	WhyIssuerUnknown    = "issuer-unknown"
	WhyIssuerNotMember  = "issuer-not-in-programme"
	WhyIssuerGrade      = "issuer-grade"
	WhyEQAFailed        = "eqa-failed"
	WhyEQAMissing       = "eqa-missing"
)

// WhyText explains each reason.
var WhyText = map[string]string{
	WhyNotInCatalogue:   "The item is in no recognition programme's catalogue.",
	WhyOrdererNotMember: "The ordering institution takes part in no programme that recognises this item.",
	WhyNoPrior:          "The patient has no prior result for this item.",
	WhyOutsideWindow:    "The prior result is older than the item's validity window.",
	WhyIssuerUnknown:    "The prior result names no issuing institution.",
	WhyIssuerNotMember:  "The issuing institution was not in the programme on the result's date.",
	WhyIssuerGrade:      "The issuing institution's grade is below what the item requires.",
	WhyEQAFailed:        "The issuing institution failed the external quality assessment (EQA) of this item; its results are withdrawn from the failure date.",
	WhyEQAMissing:       "The issuing institution has no passed EQA of this item for the result's year or the year before.",
}

// issuerReason is "" when issuer is qualified for it for a result dated
// eff, judged at the instant at; else the reason.
func (s *state) issuerReason(it *Item, issuer string, eff, at time.Time) string {
	if issuer == "" {
		return WhyIssuerUnknown
	}
	if !s.member(issuer, it.Programme, day(eff.In(time.UTC))) {
		return WhyIssuerNotMember
	}
	if it.MinGrade != "" && !gradeAtLeast(s.orgs[issuer].Grade, it.MinGrade) {
		return WhyIssuerGrade
	}
	eqa := s.eqa[issuer+"|"+it.Code]
	// The latest assessment on or before the check's day, and the latest
	// on or before the result's day: a failure withdraws recognition from
	// its date (so at the check), and results issued while withdrawn stay
	// withdrawn after a later pass.
	var latestAt, latestEff *EQAResult
	passed := false
	for i := range eqa {
		q := &eqa[i]
		if !q.Date.After(at) {
			latestAt = q
			if q.Passed && (q.Year == eff.Year() || q.Year == eff.Year()-1) {
				passed = true
			}
		}
		if !q.Date.After(eff) {
			latestEff = q
		}
	}
	if (latestAt != nil && !latestAt.Passed) || (latestEff != nil && !latestEff.Passed) {
		return WhyEQAFailed
	}
	if it.EQA && !passed {
		return WhyEQAMissing
	}
	return ""
}

// Prepare implements fhirapi.Hook: it marks results whose issuer is named
// as performer (and strips a mark the engine cannot confirm yet: Written
// adds it when the issuer turns out to qualify), and rejects decision Tasks
// that break the rules (decision.go).
func (e *Engine) Prepare(ctx context.Context, typ, id string, res map[string]any) error {
	switch typ {
	case "Observation", "DiagnosticReport":
		r, ok, _ := e.project(ctx, nil, typ, id, res)
		on := false
		if ok {
			e.mu.RLock()
			on = e.s.markFor(r.codes, r.issuer, e.localDay(r.eff), e.localDay(e.now()))
			e.mu.RUnlock()
		}
		setMark(res, on)
	case "Task":
		if codeIn(res["code"], csKind) == "decision" {
			d, err := e.parseDecision(res)
			if err != nil {
				return err
			}
			e.mu.RLock()
			known := len(e.s.byCode[d.Item]) > 0
			e.mu.RUnlock()
			if !known {
				return outcome.BadRequest("recognition decision: the item %q is in no recognition catalogue.", d.Item).At("Task.input")
			}
		}
	}
	return nil
}

// Written implements fhirapi.Hook: it replaces the result's projection
// rows in the write's transaction, and asks for a follow-up version with
// the mark when only the transaction could tell the issuer (a result
// whose issuer is its Encounter's serviceProvider, or a DiagnosticReport
// naming the performer of its Observations).
func (e *Engine) Written(ctx context.Context, tx store.Reader, v *store.Version, res map[string]any) ([]fhirapi.Followup, error) {
	if v.Type != "Observation" && !imageTypes[v.Type] {
		return nil, nil
	}
	et := engineTx(tx)
	if et == nil {
		return nil, errors.New("recognition: the transaction offers no engine tables")
	}
	if imageTypes[v.Type] {
		if err := writeImages(ctx, et, v.Type, v.ID, v.VersionID > 1 || v.Deleted, res); err != nil {
			return nil, err
		}
		if v.Type != "DiagnosticReport" {
			return nil, nil
		}
	}
	if v.VersionID > 1 || v.Deleted {
		if err := et.ExecSQL(ctx, `DELETE FROM recognition_result WHERE rid = ? AND rtype = ?`, v.ID, v.Type); err != nil {
			return nil, err
		}
	}
	if res == nil {
		return nil, nil
	}
	r, ok, err := e.project(ctx, tx, v.Type, v.ID, res)
	if err != nil || !ok {
		return nil, err
	}
	e.mu.RLock()
	on := e.s.markFor(r.codes, r.issuer, e.localDay(r.eff), e.localDay(e.now()))
	e.mu.RUnlock()
	if err := e.writeRows(ctx, et, r, on); err != nil {
		return nil, err
	}
	var fs []fhirapi.Followup
	if on != hasMark(res) {
		cp := cloneTop(res)
		setMark(cp, on)
		fs = append(fs, fhirapi.Followup{Resource: cp, IfVersion: v.VersionID})
	}
	if v.Type == "DiagnosticReport" && r.issuer != "" {
		more, err := e.adoptResults(ctx, tx, et, res, r.issuer)
		if err != nil {
			return nil, err
		}
		fs = append(fs, more...)
	}
	return fs, nil
}

// adoptResults gives a report's Observations that name no issuer the
// report's performer, and marks those that then qualify. Their rows are
// read with one query per report (adoptBatch ids at a time), not one per
// result: each query inside the serial writer costs database/sql a
// goroutine, and most results name their issuer already (no row).
func (e *Engine) adoptResults(ctx context.Context, tx store.Reader, et store.EngineTx, report map[string]any, issuer string) ([]fhirapi.Followup, error) {
	var ids []string
	for _, ref := range list(report, "result") {
		if id := refID(ref, "Observation"); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	type orphan struct {
		codes []string
		eff   int64
	}
	orphans := map[string]*orphan{}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), adoptBatch)]
		ids = ids[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		rows, err := et.QuerySQL(ctx, `SELECT rid, code, eff FROM recognition_result WHERE rid IN (?`+strings.Repeat(", ?", len(batch)-1)+`) AND rtype = 'Observation' AND issuer = ''`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, c string
			var eff int64
			if err := rows.Scan(&id, &c, &eff); err != nil {
				rows.Close()
				return nil, err
			}
			o := orphans[id]
			if o == nil {
				o = &orphan{}
				orphans[id] = o
			}
			o.codes, o.eff = append(o.codes, c), eff
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	var fs []fhirapi.Followup
	for _, ref := range list(report, "result") {
		id := refID(ref, "Observation")
		o := orphans[id]
		if o == nil {
			continue
		}
		delete(orphans, id) // a result listed twice is adopted once
		e.mu.RLock()
		on := e.s.markFor(o.codes, issuer, e.localDay(time.Unix(o.eff, 0)), e.localDay(e.now()))
		e.mu.RUnlock()
		if err := et.ExecSQL(ctx, `UPDATE recognition_result SET issuer = ?, marked = ? WHERE rid = ? AND rtype = 'Observation'`, issuer, b2i(on), id); err != nil {
			return nil, err
		}
		if !on {
			continue
		}
		v, err := tx.Read(ctx, "Observation", id)
		if err != nil {
			continue
		}
		m, err := decode(v.Body)
		if err != nil || hasMark(m) {
			continue
		}
		setMark(m, true)
		fs = append(fs, fhirapi.Followup{Resource: m, IfVersion: v.VersionID})
	}
	return fs, nil
}

// adoptBatch bounds the ids of one query (SQLite allows 32,766 variables).
const adoptBatch = 500

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cloneTop(m map[string]any) map[string]any {
	cp := make(map[string]any, len(m))
	for k, v := range m {
		cp[k] = v
	}
	if meta := mapOf(m["meta"]); meta != nil {
		mc := make(map[string]any, len(meta))
		for k, v := range meta {
			mc[k] = v
		}
		cp["meta"] = mc
	}
	return cp
}

// Committed implements fhirapi.Hook: catalogue, qualification,
// institution and decision changes update the in-memory state.
func (e *Engine) Committed(ctx context.Context, versions []*store.Version) {
	var touched bool
	var remark []remarkScope
	for _, v := range versions {
		switch v.Type {
		case "PlanDefinition", "ActivityDefinition", "OrganizationAffiliation", "Basic", "Organization", "Task":
		default:
			continue
		}
		var m map[string]any
		if !v.Deleted {
			var err error
			if m, err = decode(v.Body); err != nil {
				continue
			}
		}
		e.mu.Lock()
		k := v.Type + "/" + v.ID
		switch v.Type {
		case "ActivityDefinition":
			// The item's codes before and after, at every issuer, when
			// what the mark depends on changed (not the window or price).
			var codes []string
			old := e.s.rawItem[k]
			var it *Item
			if m != nil {
				it = parseItem(m)
			}
			if !sameMarkRules(old, it) {
				if old != nil {
					codes = append(codes, old.Codes...)
				}
				if it != nil {
					codes = append(codes, it.Codes...)
				}
				remark = append(remark, newScope("", codes))
			}
		case "PlanDefinition":
			// A programme created, retired or removed: its items' codes.
			old := e.s.rawProg[k]
			var p *Programme
			if m != nil {
				p = parseProgramme(m)
			}
			if (old == nil) != (p == nil) || (old != nil && old.Code != p.Code) {
				if old != nil {
					remark = append(remark, newScope("", e.s.programmeCodes(old.Code)))
				}
				if p != nil {
					remark = append(remark, newScope("", e.s.programmeCodes(p.Code)))
				}
			}
		case "OrganizationAffiliation":
			if old, ok := e.s.rawMember[k]; ok {
				remark = append(remark, newScope(old.Organization, e.s.programmeCodes(old.Programme)))
			}
			if m != nil {
				if mb, ok := parseMembership(m, e.loc); ok {
					remark = append(remark, newScope(mb.Organization, e.s.programmeCodes(mb.Programme)))
				}
			}
		case "Basic":
			if old, ok := e.s.rawEQA[k]; ok {
				remark = append(remark, newScope(old.Organization, e.s.itemCodes(old.Item)))
			}
			if m != nil {
				if q, ok := parseEQA(m, e.loc); ok {
					remark = append(remark, newScope(q.Organization, e.s.itemCodes(q.Item)))
				}
			}
		case "Organization":
			// A new grade matters only to an institution in a programme.
			if len(e.s.members[v.ID]) > 0 && (m == nil || parseOrg(m).Grade != e.s.orgs[v.ID].Grade) {
				remark = append(remark, remarkScope{issuer: v.ID, all: true})
			}
		}
		e.apply(e.s, v.Type, v.ID, m)
		e.mu.Unlock()
		touched = true
	}

	if touched {
		e.mu.Lock()
		e.s.rebuild()
		e.mu.Unlock()
		// A scope without codes (an item or programme that covers none)
		// can change no mark; only an institution's new grade concerns
		// all of its results.
		remark = slices.DeleteFunc(remark, func(sc remarkScope) bool { return len(sc.codes) == 0 && !sc.all })
		e.queueRemark(remark)
	}
}
