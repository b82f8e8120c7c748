package recognition

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// state is the engine's in-memory view of the catalogue, the
// qualifications, the institutions and the decisions: small (thousands of
// records), rebuilt from the store at start and kept current by the hook's
// Committed step.
type state struct {
	progs   map[string]*Programme   // programme code →
	byCode  map[string][]*Item      // covered "system|code", bare code and item code → items of every programme
	members map[string][]Membership // Organization id →
	eqa     map[string][]EQAResult  // Organization id + "|" + item → by date
	orgs    map[string]orgInfo
	// The raw entities by "Type/id", from which the maps above are built
	// (an update or delete replaces or drops one entry).
	rawProg   map[string]*Programme
	rawItem   map[string]*Item
	rawMember map[string]Membership
	rawEQA    map[string]EQAResult
	decisions map[string]Decision // Task id →
}

type orgInfo struct {
	Name, City, District, Grade string
}

func newState() *state {
	return &state{
		rawProg: map[string]*Programme{}, rawItem: map[string]*Item{},
		rawMember: map[string]Membership{}, rawEQA: map[string]EQAResult{},
		orgs: map[string]orgInfo{}, decisions: map[string]Decision{},
	}
}

// rebuild derives the lookup maps from the raw entities.
func (s *state) rebuild() {
	s.progs = map[string]*Programme{}
	for _, p := range s.rawProg {
		cp := *p
		cp.Items = nil
		s.progs[p.Code] = &cp
	}
	s.byCode = map[string][]*Item{}
	keys := make([]string, 0, len(s.rawItem))
	for k := range s.rawItem {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		it := s.rawItem[k]
		p := s.progs[it.Programme]
		if p == nil {
			continue // an item of a programme that does not exist (yet)
		}
		p.Items = append(p.Items, it)
		add := func(key string) {
			if !slices.Contains(s.byCode[key], it) {
				s.byCode[key] = append(s.byCode[key], it)
			}
		}
		add(it.Code)
		add(csItem + "|" + it.Code)
		for _, c := range it.Codes {
			add(c)
			_, code, _ := strings.Cut(c, "|")
			add(code)
		}
	}
	s.members = map[string][]Membership{}
	for _, m := range s.rawMember {
		s.members[m.Organization] = append(s.members[m.Organization], m)
	}
	s.eqa = map[string][]EQAResult{}
	for _, e := range s.rawEQA {
		k := e.Organization + "|" + e.Item
		s.eqa[k] = append(s.eqa[k], e)
	}
	for _, l := range s.eqa {
		slices.SortFunc(l, func(a, b EQAResult) int { return a.Date.Compare(b.Date) })
	}
}

// member reports whether org belongs to programme prog on day d.
func (s *state) member(org, prog string, d time.Time) bool {
	for _, m := range s.members[org] {
		if m.Programme == prog && !d.Before(m.From) && (m.To.IsZero() || !d.After(endOfDay(m.To))) {
			return true
		}
	}
	return false
}

func endOfDay(t time.Time) time.Time { return t.Add(24*time.Hour - time.Nanosecond) }

// Parsing of the stored resources. They were written by Resources (or by
// a client following decision 011); what does not parse is ignored.

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func list(m map[string]any, k string) []any { l, _ := m[k].([]any); return l }

func mapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }

func codings(cc any) [][2]string {
	var out [][2]string
	for _, c := range list(mapOf(cc), "coding") {
		cm := mapOf(c)
		if code := str(cm, "code"); code != "" {
			out = append(out, [2]string{str(cm, "system"), code})
		}
	}
	return out
}

func codeIn(cc any, system string) string {
	for _, c := range codings(cc) {
		if c[0] == system {
			return c[1]
		}
	}
	return ""
}

func ident(res map[string]any, system string) string {
	for _, i := range list(res, "identifier") {
		if im := mapOf(i); str(im, "system") == system {
			return str(im, "value")
		}
	}
	return ""
}

func num(v any) float64 {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return 0
}

// parseDate reads a FHIR date or dateTime (its calendar day in its own
// zone, or loc when it has none) as midnight UTC of that day.
func parseDate(s string, loc *time.Location) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, f := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
		var t time.Time
		var err error
		if f == time.RFC3339Nano {
			t, err = time.Parse(f, s)
		} else {
			t, err = time.ParseInLocation(f, s, loc)
		}
		if err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func day(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }

func subExt(res map[string]any, url string) map[string]any {
	out := map[string]any{}
	for _, e := range list(res, "extension") {
		em := mapOf(e)
		if str(em, "url") != url {
			continue
		}
		for _, s := range list(em, "extension") {
			sm := mapOf(s)
			for k, v := range sm {
				if strings.HasPrefix(k, "value") {
					out[str(sm, "url")] = v
				}
			}
		}
	}
	return out
}

func parseProgramme(res map[string]any) *Programme {
	code := ident(res, csProg)
	if code == "" || str(res, "status") == "retired" {
		return nil
	}
	p := &Programme{Code: code, Name: str(res, "title"), NameEn: str(res, "subtitle")}
	for _, j := range list(res, "jurisdiction") {
		for _, c := range codings(j) {
			p.Region = append(p.Region, c[1])
		}
	}
	return p
}

func parseItem(res map[string]any) *Item {
	var prog string
	for _, u := range list(res, "useContext") {
		um := mapOf(u)
		if c := mapOf(um["code"]); str(c, "system") == usageType && str(c, "code") == "program" {
			prog = codeIn(um["valueCodeableConcept"], csProg)
		}
	}
	cs := codings(res["code"])
	code := codeIn(res["code"], csItem)
	if prog == "" || code == "" || str(res, "status") == "retired" {
		return nil
	}
	it := &Item{Programme: prog, Code: code, Name: str(res, "title"), NameEn: str(res, "subtitle")}
	for _, t := range list(res, "topic") {
		if c := codeIn(t, csCat); c != "" {
			it.Category = c
		}
	}
	for _, c := range cs {
		if c[0] != csItem && c[0] != "" {
			it.Codes = append(it.Codes, c[0]+"|"+c[1])
		}
	}
	x := subExt(res, extItem)
	it.WindowDays = int(num(x["windowDays"]))
	it.Price = num(mapOf(x["price"])["value"])
	it.Specimen, _ = x["specimen"].(string)
	it.MinGrade, _ = x["minGrade"].(string)
	it.EQA, _ = x["eqa"].(bool)
	if it.WindowDays < 1 {
		return nil
	}
	return it
}

func refID(ref any, typ string) string {
	r := str(mapOf(ref), "reference")
	t, id, ok := strings.Cut(r, "/")
	if !ok || t != typ || strings.Contains(id, "/") {
		if i := strings.LastIndex(r, "/"+typ+"/"); i >= 0 { // absolute reference
			return strings.SplitN(r[i+len(typ)+2:], "/", 2)[0]
		}
		return ""
	}
	return id
}

func parseMembership(res map[string]any, loc *time.Location) (Membership, bool) {
	var prog string
	for _, c := range list(res, "code") {
		if p := codeIn(c, csProg); p != "" {
			prog = p
		}
	}
	org := refID(res["participatingOrganization"], "Organization")
	per := mapOf(res["period"])
	from, ok := parseDate(str(per, "start"), loc)
	if prog == "" || org == "" || !ok {
		return Membership{}, false
	}
	m := Membership{Programme: prog, Organization: org, From: day(from)}
	if to, ok := parseDate(str(per, "end"), loc); ok {
		m.To = day(to)
	}
	if a, isBool := res["active"].(bool); isBool && !a && m.To.IsZero() {
		return Membership{}, false // inactive without an end: not a member
	}
	return m, true
}

func parseEQA(res map[string]any, loc *time.Location) (EQAResult, bool) {
	if codeIn(res["code"], csKind) != "eqa-result" {
		return EQAResult{}, false
	}
	x := subExt(res, extEQA)
	e := EQAResult{Organization: refID(res["subject"], "Organization")}
	e.Item, _ = x["item"].(string)
	e.Year = int(num(x["year"]))
	o, _ := x["outcome"].(string)
	e.Passed = o == "pass"
	d, ok := parseDate(str(res, "created"), loc)
	if !ok || e.Organization == "" || e.Item == "" || (o != "pass" && o != "fail") {
		return EQAResult{}, false
	}
	e.Date = day(d)
	if e.Year == 0 {
		e.Year = e.Date.Year()
	}
	return e, true
}

func parseOrg(res map[string]any) orgInfo {
	o := orgInfo{Name: str(res, "name")}
	for _, t := range list(res, "type") {
		if g := codeIn(t, csGrade); g != "" {
			o.Grade = g
		}
	}
	if a := list(res, "address"); len(a) > 0 {
		am := mapOf(a[0])
		o.City, o.District = str(am, "city"), str(am, "district")
	}
	return o
}

// gradeAtLeast compares hospital grades by their leading digit (3A ≥ 2).
func gradeAtLeast(grade, min string) bool {
	if min == "" {
		return true
	}
	g, err1 := strconv.Atoi(grade[:min1(len(grade))])
	m, err2 := strconv.Atoi(min[:1])
	return err1 == nil && err2 == nil && g >= m
}

func min1(n int) int {
	if n > 0 {
		return 1
	}
	return 0
}
