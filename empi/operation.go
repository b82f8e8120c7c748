package empi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhir/respond"
	"github.com/xietong/xietong/identity/match"
	"github.com/xietong/xietong/store"
)

// Match grades (http://hl7.org/fhir/StructureDefinition/match-grade).
const (
	GradeCertain      = "certain"
	GradeProbable     = "probable"
	GradePossible     = "possible"
	GradeCertainlyNot = "certainly-not"
)

const (
	// DefaultCount is the number of matches returned without count.
	DefaultCount = 10
	// MaxCount caps count.
	MaxCount = 100
	// maxBody bounds the request body.
	maxBody = 1 << 20
)

// Request is a parsed $match request.
type Request struct {
	Patient            map[string]any
	OnlyCertainMatches bool
	Count              int
}

// Match is one answer of $match.
type Match struct {
	ID    string  // the master Patient's id
	Grade string  // certain, probable or possible
	Score float64 // in [0,1]
	// Candidate is the index's answer: levels, rule and log2 score.
	Candidate match.Candidate
}

// Settle is how far back a catch-up (Sync) re-reads the Patient history
// before the newest version it has seen: the API stamps a version's
// lastUpdated before its transaction commits, so a version committed after
// a newer-stamped one can appear behind it.
const Settle = time.Minute

// Match returns the master Patients that may be the person of the query
// Patient, best first. See MatchOperation for the semantics of
// onlyCertain and count (count <= 0: DefaultCount).
func (e *Engine) Match(ctx context.Context, q Request) ([]Match, error) {
	if err := e.maybeSync(ctx); err != nil {
		return nil, err
	}
	count := q.Count
	if count <= 0 {
		count = DefaultCount
	}
	count = min(count, MaxCount)
	rec := Record(q.Patient)
	rec.Source = ""
	held, err := e.holders(ctx, queryIdentifiers(q.Patient), "")
	if err != nil {
		return nil, err
	}
	cands := e.ix.Match(rec, 0)
	e.mu.Lock()
	var out []Match
	vetoed := map[string]bool{}
	for _, c := range cands {
		id := e.byMID[c.Master]
		if m := e.masters[id]; m == nil || m.retired || m.version == 0 {
			continue // retired, or not committed yet
		}
		g := e.grade(c)
		if c.Rule == match.RuleDifferentID {
			vetoed[id] = true
		}
		if g == GradeCertainlyNot || (q.OnlyCertainMatches && g != GradeCertain) {
			continue
		}
		out = append(out, Match{ID: id, Grade: g, Score: e.probability(c, g), Candidate: c})
	}
	// A record that carries one of the query's identifiers (its number
	// at an institution, a travel document) is the person: its master is
	// certain, unless it holds a different valid resident ID number.
	for _, h := range held {
		s := e.sources[h]
		if s == nil || !e.live(s.master) || e.masters[s.master].version == 0 || vetoed[s.master] {
			continue
		}
		i := slices.IndexFunc(out, func(m Match) bool { return m.ID == s.master })
		if i < 0 {
			out = append(out, Match{ID: s.master})
			i = len(out) - 1
		}
		out[i].Grade, out[i].Score = GradeCertain, max(out[i].Score, identifierScore)
	}
	e.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Match) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	if q.OnlyCertainMatches && len(out) > 1 {
		// Two certain masters are two persons that would both link: no
		// certain answer, and the specification wants none rather than
		// several.
		return nil, nil
	}
	if len(out) > count {
		out = out[:count]
	}
	return out, nil
}

// identifierScore is the search.score of a master found by an identifier
// one of its records carries: certain, as a same valid ID number is.
const identifierScore = 0.99

// queryIdentifiers are the identifiers of a $match query Patient looked
// up as they are (system|value): all but resident ID numbers, which the
// index compares (valid or not, consistent or not), and old ones.
func queryIdentifiers(p map[string]any) []string {
	var out []string
	for _, x := range list(p["identifier"]) {
		ident := obj(x)
		sys, v := str(ident["system"]), strings.TrimSpace(str(ident["value"]))
		if sys == "" || v == "" || residentSystem(sys) || str(ident["use"]) == "old" {
			continue
		}
		out = append(out, sys+"|"+v)
	}
	return out
}

// grade maps a candidate to a match grade: a Link (the same valid ID
// number, or a score at or above AutoLink with identifying evidence) is
// certain; a Review probable; a score of at least zero (the evidence
// favours a match over a non-match) possible; a different valid ID
// number, or a negative score, certainly-not.
func (e *Engine) grade(c match.Candidate) string {
	switch {
	case c.Rule == match.RuleDifferentID:
		return GradeCertainlyNot
	case c.Decision == match.Link:
		return GradeCertain
	case c.Decision == match.Review:
		return GradeProbable
	case c.Score >= 0:
		return GradePossible
	}
	return GradeCertainlyNot
}

// probability maps the log2 likelihood ratio to [0,1] within the band of
// the grade, so that ordering by it orders by grade, then by score:
// possible [0, 0.5), probable [0.5, 0.9), certain [0.9, 1]. Within a
// band the score moves linearly between the band's thresholds (certain:
// from AutoLink, approaching 1 as 2^-(score-AutoLink) vanishes).
func (e *Engine) probability(c match.Candidate, grade string) float64 {
	lo, hi := e.model.Review, e.model.AutoLink
	var p float64
	switch grade {
	case GradeCertain:
		x := math.Max(0, c.Score-hi)
		p = 0.9 + 0.1*(1-math.Exp2(-x/4))
		if c.Rule == match.RuleSameID {
			p = math.Max(p, 0.99)
		}
	case GradeProbable:
		f := 0.0
		if hi > lo {
			f = math.Min(1, math.Max(0, (c.Score-lo)/(hi-lo)))
		}
		p = 0.5 + 0.399*f
	default:
		f := 0.0
		if lo > 0 {
			f = math.Min(1, math.Max(0, c.Score/lo))
		}
		p = 0.499 * f
	}
	return math.Round(p*1000) / 1000
}

// MatchOperation serves POST [base]/Patient/$match (FHIR R4 Patient-match,
// IHE PDQm ITI-119). The body is a Parameters resource with resource (a
// Patient), onlyCertainMatches (boolean) and count (positive integer), or
// a bare Patient. The answer is a searchset Bundle of the matching
// Patients with search.mode "match", search.score in [0,1] and the
// match-grade extension, best first, at most count (default 10, at most
// 100) entries. With onlyCertainMatches only certain matches are
// returned, and none when the certain ones are not all one person.
//
// Errors: a Content-Type other than FHIR JSON is 415; a body that is not
// a Patient or a Parameters with exactly one Patient resource, a count
// that is not a positive valueInteger or an onlyCertainMatches that is
// not a valueBoolean is 400, and so is a query Patient whose birthDate is
// not a day of the calendar or whose resident ID number is not one (a
// wrong check character: checkQueryPatient); a body over 1 MiB is 413;
// GET is 405. A parameter other than these three is 400 (a misspelt
// onlyCertainMatches must not widen the answer).
//
// A record carrying one of the query's identifiers other than a resident
// ID number (an institution's record number, a travel document,
// normalised first) makes its master a certain match.
func (e *Engine) MatchOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported", "Patient/$match is invoked with POST and a Parameters or Patient body.")
	}
	if id != "" {
		return outcome.NotSupported("$match is a type-level operation: POST [base]/Patient/$match.")
	}
	q, err := ParseRequest(r)
	if err != nil {
		return err
	}
	ms, err := e.Match(r.Context(), q)
	if err != nil {
		return err
	}
	base := strings.TrimRight(e.cfg.Base, "/")
	if base == "" {
		base = requestBase(r)
	}
	body, err := e.renderMatches(r.Context(), base, ms)
	if err != nil {
		return err
	}
	return respond.Body(w, r, http.StatusOK, body)
}

// renderMatches reads the matched masters in one query (an _id search:
// one round trip however many there are, where reading them one by one
// cost a round trip and a decode each) and writes the searchset Bundle
// around their stored JSON as it is: a stored body is the resource a read
// answers, so it is spliced in, not decoded and encoded again. Masters
// deleted since the index saw them are left out.
func (e *Engine) renderMatches(ctx context.Context, base string, ms []Match) ([]byte, error) {
	bodies := map[string][]byte{}
	if len(ms) > 0 {
		ids := make(store.Clause, len(ms))
		for i, x := range ms {
			ids[i] = store.Predicate{Param: store.ParamID, Type: store.TypeToken, Code: x.ID}
		}
		res, err := e.st.Search(ctx, &store.Query{Types: []string{"Patient"}, Where: []store.Clause{ids}, Count: len(ms), Total: store.TotalNone})
		if err != nil {
			return nil, err
		}
		for _, v := range res.Matches {
			if !v.Deleted && len(v.Body) > 0 {
				bodies[v.ID] = v.Body
			}
		}
	}
	n := 0
	for _, x := range ms {
		if bodies[x.ID] != nil {
			n++
		}
	}
	size := 80
	for _, b := range bodies {
		size += len(b) + len(base) + 200
	}
	out := make([]byte, 0, size)
	out = append(out, `{"resourceType":"Bundle","type":"searchset","total":`...)
	out = strconv.AppendInt(out, int64(n), 10)
	if n > 0 {
		out = append(out, `,"entry":[`...)
		first := true
		for _, x := range ms {
			b := bodies[x.ID]
			if b == nil {
				continue
			}
			if !first {
				out = append(out, ',')
			}
			first = false
			out = append(out, `{"fullUrl":`...)
			u, _ := json.Marshal(base + "/Patient/" + x.ID) // a string always marshals
			out = append(out, u...)
			out = append(out, `,"resource":`...)
			out = append(out, b...)
			out = append(out, `,"search":{"extension":[{"url":"`+ExtMatchGrade+`","valueCode":"`...)
			out = append(out, x.Grade...) // one of four fixed codes
			out = append(out, `"}],"mode":"match","score":`...)
			out = strconv.AppendFloat(out, x.Score, 'f', -1, 64)
			out = append(out, "}}"...)
		}
		out = append(out, ']')
	}
	out = append(out, '}')
	return out, nil
}

// ParseRequest reads the body of a $match call.
func ParseRequest(r *http.Request) (Request, error) {
	q := Request{Count: DefaultCount}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err != nil:
		return q, outcome.New(http.StatusUnsupportedMediaType, "not-supported", "Patient/$match needs a Content-Type of application/fhir+json.")
	case mt == "application/fhir+json" || mt == "application/json" || mt == "application/json+fhir":
	default:
		return q, outcome.New(http.StatusUnsupportedMediaType, "not-supported", "Content-Type %s is not supported: this server speaks FHIR JSON (application/fhir+json).", mt)
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return q, outcome.New(http.StatusRequestEntityTooLarge, "too-costly", "The $match body is larger than %d bytes.", maxBody)
		}
		return q, outcome.BadRequest("The $match body could not be read: %v", err)
	}
	res, err := fhirjson.Decode(data, fhirjson.Limits{})
	if err != nil {
		return q, outcome.Wrap(err, http.StatusBadRequest, "structure", "The $match body is not a FHIR JSON resource: %v", err)
	}
	switch rt := str(res["resourceType"]); rt {
	case "Patient":
		q.Patient = res
		return q, checkQueryPatient(res, "Patient")
	case "Parameters":
	default:
		return q, outcome.BadRequest("Patient/$match takes a Parameters resource (or a bare Patient), not a %s.", rt)
	}
	params, ok := res["parameter"].([]any)
	if !ok && res["parameter"] != nil {
		return q, outcome.BadRequest("Parameters.parameter must be an array.").At("Parameters.parameter")
	}
	seen := map[string]bool{}
	for i, x := range params {
		p, ok := x.(map[string]any)
		at := "Parameters.parameter[" + strconv.Itoa(i) + "]"
		if !ok {
			return q, outcome.BadRequest("Parameters.parameter entries must be objects.").At(at)
		}
		name := str(p["name"])
		switch name {
		case "resource", "onlyCertainMatches", "count":
		default:
			// A misspelt onlyCertainMatches would otherwise return
			// probable matches to a caller that wants certain ones only.
			return q, outcome.BadRequest("Patient/$match takes the parameters resource, onlyCertainMatches and count, not %q.", name).At(at + ".name")
		}
		if seen[name] {
			return q, outcome.BadRequest("The parameter %s is given more than once.", name).At(at)
		}
		seen[name] = true
		switch name {
		case "resource":
			pr, ok := p["resource"].(map[string]any)
			if !ok {
				return q, outcome.BadRequest("The parameter resource must carry a Patient in parameter.resource.").At(at + ".resource")
			}
			if rt := str(pr["resourceType"]); rt != "Patient" {
				return q, outcome.BadRequest("The parameter resource must be a Patient, not a %s.", rt).At(at + ".resource")
			}
			q.Patient = pr
		case "onlyCertainMatches":
			b, ok := p["valueBoolean"].(bool)
			if !ok {
				return q, outcome.BadRequest("onlyCertainMatches must be given as valueBoolean.").At(at + ".valueBoolean")
			}
			q.OnlyCertainMatches = b
		case "count":
			n, ok := p["valueInteger"].(json.Number)
			if !ok {
				return q, outcome.BadRequest("count must be given as valueInteger.").At(at + ".valueInteger")
			}
			c, err := strconv.Atoi(n.String())
			if err != nil || c < 1 {
				return q, outcome.BadRequest("count must be a positive integer, not %s.", n).At(at + ".valueInteger")
			}
			q.Count = c
		}
	}
	if q.Patient == nil {
		return q, outcome.BadRequest("Patient/$match needs the parameter resource (the Patient to match).").At("Parameters.parameter")
	}
	return q, checkQueryPatient(q.Patient, "Parameters.parameter.resource")
}

// checkQueryPatient refuses a query Patient whose birthDate is not a FHIR
// date or not a day of the calendar (1980-02-30): matched without it, the
// answer would rest on the name alone, as if the date were unknown.
//
// It refuses as well a resident ID number (an identifier of the resident
// ID system) that is not one (a wrong check character, an impossible
// date, a wrong length): matched without it, a mistyped number would
// silently fall back to the other details, and the clerk who typed it
// would never learn that the card and the record disagree. A travel
// document is checked and normalised as a write's is (checkDocument).
func checkQueryPatient(p map[string]any, at string) error {
	for i, x := range list(p["identifier"]) {
		ident := obj(x)
		sys := str(ident["system"])
		if str(ident["use"]) == "old" {
			continue
		}
		if !residentSystem(sys) {
			if err := checkDocument(ident, at+".identifier["+strconv.Itoa(i)+"].value", time.Now()); err != nil {
				var oe *outcome.Error
				if errors.As(err, &oe) {
					oe.Status = http.StatusBadRequest
				}
				return err
			}
			continue
		}
		v := str(ident["value"])
		if _, err := parseResidentID(v, time.Now()); err != nil {
			return outcome.BadRequest("The resident ID number %q of the Patient to match is not valid: %v. Check it against the card, or leave it out to match on the other details. Nothing was matched.", v, err).At(at + ".identifier[" + strconv.Itoa(i) + "].value")
		}
	}
	v, ok := p["birthDate"]
	if !ok {
		return nil
	}
	s, isStr := v.(string)
	layout := map[int]string{4: "2006", 7: "2006-01", 10: "2006-01-02"}[len(s)]
	if isStr && layout != "" {
		if t, err := time.Parse(layout, s); err == nil && t.Format(layout) == s {
			return nil
		}
	}
	return outcome.BadRequest("The birthDate %v of the Patient to match is not a date of the calendar (YYYY, YYYY-MM or YYYY-MM-DD); correct it or leave it out. Nothing was matched.", v).At(at + ".birthDate")
}

// requestBase derives [base] from a request to [base]/Patient/$match.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := r.URL.Path
	if i := strings.LastIndex(path, "/Patient/"); i >= 0 {
		path = path[:i]
	}
	return scheme + "://" + r.Host + path
}

func jsonNumber(f float64) json.Number {
	return json.Number(strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64))
}
