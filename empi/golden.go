package empi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/identity/match"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
)

// Written runs inside the transaction of a Patient write: it returns the
// master(s) recomputed from their sources (the one the source now refers
// to, and the one it left) and, for a source that got a master of its own
// while resembling others, a review Task.
func (e *Engine) Written(ctx context.Context, tx store.Reader, v *store.Version, res map[string]any) ([]Write, error) {
	if v.Type != "Patient" {
		return nil, nil
	}
	var prev map[string]any
	if v.VersionID > 1 {
		pv, err := tx.VRead(ctx, "Patient", v.ID, v.VersionID-1)
		switch {
		case err == nil:
			if prev, err = fhirjson.Decode(pv.Body, fhirjson.Limits{}); err != nil {
				return nil, fmt.Errorf("empi: stored Patient/%s: %w", v.ID, err)
			}
		case errors.Is(err, store.ErrGone), errors.Is(err, store.ErrNotFound):
		default:
			return nil, err
		}
	}
	if res != nil && IsMaster(res) {
		// An engine's own data on a master (Prepare lets only the system
		// principal write masters): nothing to relink.
		return nil, nil
	}
	if prev != nil && IsMaster(prev) {
		// Prepare rejects writes of masters; a delete does not pass there.
		return nil, outcome.Unprocessable("Patient/%s is a master record maintained by the EMPI; it cannot be deleted. Merge it into another master with Patient/$merge.", v.ID)
	}
	e.mu.Lock()
	var d *decision
	if res != nil {
		if d = e.decisions[mapKey(res)]; d != nil {
			d.source = v.ID
		}
	}
	master, prevMaster := "", ""
	if res != nil {
		master = e.masterOf(res)
	}
	if prev != nil {
		prevMaster = e.masterOf(prev)
	}
	e.mu.Unlock()
	var out []Write
	// The master left is rebuilt first: retired, it hands its own
	// identifiers (a card) to the master joined.
	var left *Write
	if prevMaster != "" && prevMaster != master {
		w, err := e.rebuildMaster(ctx, tx, prevMaster, rebuild{replacedBy: master})
		if err != nil {
			return nil, err
		}
		left = &w
	}
	if master != "" {
		o := rebuild{}
		if d != nil && d.basis != "" {
			o.basis = map[string]string{v.ID: d.basis}
		}
		o.written = v.ID
		if left != nil {
			o.adopt = left.carry
		}
		w, err := e.rebuildMaster(ctx, tx, master, o)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	if left != nil {
		out = append(out, *left)
	}
	if d != nil && d.master == master && len(d.review) > 0 {
		out = append(out, Write{Resource: e.reviewTask(v.ID, master, d.review), Create: true})
	}
	return out, nil
}

// rebuild says what changes besides the sources when a master is
// recomputed.
type rebuild struct {
	basis        map[string]string // source id → link basis for sources (re)linked now
	notLinked    []string          // sources a person decided are not this person
	clearNotLink []string          // sources a person linked here after all
	replacedBy   string            // where its sources went, if none is left
	adopt        []any             // identifiers of a master retired into this one (Write.carry)
	// written is a source written in this transaction that refers to the
	// master: its sources are then the master's seealso links and it,
	// read by id (see sourcesLinked), not searched for.
	written string
}

// sourcesOf returns the current sources that refer to master, read
// through r (inside the transaction: its own writes included).
func sourcesOf(ctx context.Context, r store.Reader, master string) ([]*store.Version, []map[string]any, error) {
	req, err := search.Parse("Patient", url.Values{"link": {"Patient/" + master}}, search.Options{DefaultCount: 200, MaxCount: 200})
	if err != nil {
		return nil, nil, err
	}
	q := req.Query
	q.Total = store.TotalNone
	src := sourceSet{master: master}
	for {
		res, err := r.Search(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		for _, v := range res.Matches {
			if err := src.add(v); err != nil {
				return nil, nil, err
			}
		}
		if res.NextCursor == "" || len(res.Matches) == 0 {
			break
		}
		q.Cursor = res.NextCursor
	}
	return src.vs, src.bodies, nil
}

// sourceSet collects the versions that are sources of master: not
// masters themselves, and referring to it.
type sourceSet struct {
	master string
	vs     []*store.Version
	bodies []map[string]any
}

func (s *sourceSet) add(v *store.Version) error {
	b, err := fhirjson.Decode(v.Body, fhirjson.Limits{})
	if err != nil {
		return err
	}
	if !IsMaster(b) && slices.Contains(referTargets(b), s.master) {
		s.vs, s.bodies = append(s.vs, v), append(s.bodies, b)
	}
	return nil
}

// sourcesLinked returns the current sources of master when a source
// (written) that refers to it was just written: the master's seealso
// links as read through r and written, each read by id, kept when it
// still refers to master. It gives what sourcesOf finds, at a few reads
// by id instead of a search inside the transaction (a first visit with an
// e-health card adds a source to a known master: decision 020), because
// every change of a source's refer link rebuilds the masters it left and
// joined in the same transaction, so a master's seealso links name every
// source that refers to it as of the version read.
func sourcesLinked(ctx context.Context, r store.Reader, master string, prev map[string]any, written string) ([]*store.Version, []map[string]any, error) {
	ids := []string{written}
	for _, l := range list(prev["link"]) {
		lk := obj(l)
		if str(lk["type"]) != "seealso" {
			continue
		}
		if sid, ok := strings.CutPrefix(str(obj(lk["other"])["reference"]), "Patient/"); ok && !slices.Contains(ids, sid) {
			ids = append(ids, sid)
		}
	}
	src := sourceSet{master: master}
	for _, id := range ids {
		v, err := r.Read(ctx, "Patient", id)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrGone) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if err := src.add(v); err != nil {
			return nil, nil, err
		}
	}
	return src.vs, src.bodies, nil
}

// rebuildMaster reads master and its sources through r and returns the
// master recomputed (conditional on the version read).
func (e *Engine) rebuildMaster(ctx context.Context, r store.Reader, master string, o rebuild) (Write, error) {
	var prev map[string]any
	w := Write{}
	cur, err := r.Read(ctx, "Patient", master)
	switch {
	case err == nil:
		if prev, err = fhirjson.Decode(cur.Body, fhirjson.Limits{}); err != nil {
			return w, err
		}
		w.IfVersion = cur.VersionID
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
		w.Create = true
	default:
		return w, err
	}
	var vs []*store.Version
	var bodies []map[string]any
	if prev != nil && o.written != "" {
		vs, bodies, err = sourcesLinked(ctx, r, master, prev, o.written)
	} else {
		vs, bodies, err = sourcesOf(ctx, r, master)
	}
	if err != nil {
		return w, err
	}
	w.Resource = golden(master, prev, vs, bodies, o, e.now())
	if len(bodies) == 0 && o.replacedBy != "" && o.replacedBy != master {
		// Retired: its own identifiers (a card the resident carries) go
		// to the master its records went to, or nobody would hold them.
		w.carry = ownIdentifiers(prev, nil)
	}
	return w, nil
}

// Golden computes a new master Patient id from its sources (versions and
// decoded bodies), every link of the given basis: the rule of doc.go, "The
// golden record". Tools that load masters in bulk use it.
func Golden(id string, vs []*store.Version, sources []map[string]any, basis string, now time.Time) map[string]any {
	o := rebuild{basis: map[string]string{}}
	for _, v := range vs {
		o.basis[v.ID] = basis
	}
	return golden(id, nil, vs, sources, o, now)
}

// golden computes a master Patient from its sources (see doc.go, "The
// golden record"). prev is the master's current version (nil when new):
// its link bases, not-linked list and replaced-by link carry over.
func golden(id string, prev map[string]any, vs []*store.Version, sources []map[string]any, o rebuild, now time.Time) map[string]any {
	m := map[string]any{
		"resourceType": "Patient",
		"id":           id,
		"meta":         map[string]any{"tag": []any{map[string]any{"system": SystemPatientRole, "code": RoleMaster, "display": "master patient"}}},
	}
	// Not-linked list.
	notLinked := map[string]bool{}
	prevBasis := map[string]string{}
	replacedBy := ""
	if prev != nil {
		for _, x := range list(prev["extension"]) {
			if ext := obj(x); str(ext["url"]) == ExtNotLinked {
				if sid, ok := strings.CutPrefix(str(obj(ext["valueReference"])["reference"]), "Patient/"); ok {
					notLinked[sid] = true
				}
			}
		}
		for _, l := range list(prev["link"]) {
			lk := obj(l)
			sid, _ := strings.CutPrefix(str(obj(lk["other"])["reference"]), "Patient/")
			switch str(lk["type"]) {
			case "seealso":
				for _, x := range list(lk["extension"]) {
					if ext := obj(x); str(ext["url"]) == ExtLinkBasis {
						prevBasis[sid] = str(ext["valueCode"])
					}
				}
			case "replaced-by":
				replacedBy = sid
			}
		}
	}
	for _, s := range o.notLinked {
		notLinked[s] = true
	}
	for _, s := range o.clearNotLink {
		delete(notLinked, s)
	}
	var exts []any
	for _, s := range sortedKeys(notLinked) {
		exts = append(exts, map[string]any{"url": ExtNotLinked, "valueReference": map[string]any{"reference": "Patient/" + s}})
	}
	if len(exts) > 0 {
		m["extension"] = exts
	}
	if len(sources) == 0 {
		m["active"] = false
		if o.replacedBy != "" && o.replacedBy != id {
			replacedBy = o.replacedBy
		}
		if replacedBy != "" {
			m["link"] = []any{map[string]any{"other": map[string]any{"reference": "Patient/" + replacedBy}, "type": "replaced-by"}}
		}
		return m
	}
	m["active"] = true

	// Rank the sources: a valid resident ID number consistent with the
	// record first, then the most recently updated, then by id.
	type ranked struct {
		id      string
		body    map[string]any
		updated time.Time
		number  *idnumber.Number
	}
	rs := make([]ranked, len(sources))
	for i, b := range sources {
		r := ranked{id: vs[i].ID, body: b, updated: vs[i].LastUpdated}
		rec := Record(b)
		if rec.IDNumber != "" {
			if n, err := idnumber.ParseAt(strings.ToUpper(rec.IDNumber), now); err == nil && n.CheckRecord(rec.Birth, rec.Sex) == nil {
				r.number = &n
			}
		}
		rs[i] = r
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		if (a.number != nil) != (b.number != nil) {
			if a.number != nil {
				return -1
			}
			return 1
		}
		if c := b.updated.Compare(a.updated); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})

	first := func(key string) any {
		for _, r := range rs {
			if v, ok := r.body[key]; ok {
				return clone(v)
			}
		}
		return nil
	}
	for _, k := range []string{"name", "gender", "birthDate", "address", "maritalStatus", "communication"} {
		if v := first(k); v != nil {
			m[k] = v
		}
	}
	if n := rs[0].number; n != nil {
		m["birthDate"] = n.Birth.Format("2006-01-02")
		m["gender"] = map[idnumber.Sex]string{idnumber.Male: "male", idnumber.Female: "female"}[n.Sex]
	}
	for _, r := range rs {
		if v, ok := r.body["deceasedDateTime"]; ok {
			m["deceasedDateTime"] = v
			break
		}
		if v, ok := r.body["deceasedBoolean"].(bool); ok && v {
			m["deceasedBoolean"] = true
			break
		}
	}
	seen := map[string]bool{}
	var telecom []any
	for _, r := range rs {
		for _, x := range list(r.body["telecom"]) {
			cp := obj(x)
			k := str(cp["system"]) + "|" + str(cp["value"])
			if str(cp["value"]) == "" || seen[k] {
				continue
			}
			seen[k] = true
			telecom = append(telecom, clone(cp))
		}
	}
	if len(telecom) > 0 {
		m["telecom"] = telecom
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.id
	}
	slices.Sort(ids)
	links := make([]any, 0, len(ids))
	for _, sid := range ids {
		basis := o.basis[sid]
		if basis == "" {
			basis = prevBasis[sid]
		}
		if basis == "" {
			basis = BasisAsserted
		}
		links = append(links, map[string]any{
			"extension": []any{map[string]any{"url": ExtLinkBasis, "valueCode": basis}},
			"other":     map[string]any{"reference": "Patient/" + sid},
			"type":      "seealso",
		})
	}
	m["link"] = links
	// Identifiers the master holds itself (written by the platform's
	// engines, such as e-health card ids) carry over, with those of a
	// master retired into this one; the sources' identifiers stay on the
	// sources.
	bodies := make([]map[string]any, len(rs))
	for i, r := range rs {
		bodies[i] = r.body
	}
	own := ownIdentifiers(prev, bodies)
	for _, x := range o.adopt {
		if !slices.ContainsFunc(own, func(y any) bool { return sameIdentifier(x, y) }) {
			own = append(own, clone(obj(x)))
		}
	}
	if len(own) > 0 {
		m["identifier"] = own
	}
	return m
}

// ownIdentifiers are the identifiers of master prev that none of its
// sources carries: the platform's own (e-health card ids).
func ownIdentifiers(prev map[string]any, sources []map[string]any) []any {
	fromSources := map[string]bool{}
	for _, b := range sources {
		for _, x := range list(b["identifier"]) {
			id := obj(x)
			fromSources[str(id["system"])+"|"+str(id["value"])] = true
		}
	}
	var own []any
	for _, x := range list(prev["identifier"]) {
		id := obj(x)
		if !fromSources[str(id["system"])+"|"+str(id["value"])] {
			own = append(own, clone(id))
		}
	}
	return own
}

func sameIdentifier(a, b any) bool {
	x, y := obj(a), obj(b)
	return str(x["system"]) == str(y["system"]) && str(x["value"]) == str(y["value"])
}

// reviewTask is the review-queue Task for a source that got a master of
// its own while resembling candidates between the thresholds.
func (e *Engine) reviewTask(source, master string, cands []match.Candidate) map[string]any {
	var inputs []any
	e.mu.Lock()
	for _, c := range cands {
		inputs = append(inputs, map[string]any{
			"extension": []any{
				map[string]any{"url": ExtMatchScore, "valueDecimal": jsonNumber(c.Score)},
				map[string]any{"url": ExtMatchGrade, "valueCode": e.grade(c)},
			},
			"type":           map[string]any{"coding": []any{map[string]any{"system": SystemTaskInput, "code": "candidate"}}},
			"valueReference": map[string]any{"reference": "Patient/" + e.byMID[c.Master]},
		})
	}
	e.mu.Unlock()
	return map[string]any{
		"resourceType": "Task",
		"id":           newID(),
		"status":       "requested",
		"intent":       "proposal",
		"priority":     "routine",
		"code": map[string]any{"coding": []any{map[string]any{"system": SystemTaskKind, "code": TaskIdentityReview, "display": "identity review"}},
			"text": "Is this patient record the same person as one of the candidates?"},
		"focus":       map[string]any{"reference": "Patient/" + source},
		"for":         map[string]any{"reference": "Patient/" + master},
		"authoredOn":  e.now().UTC().Format(time.RFC3339),
		"input":       inputs,
		"description": "The record resembles existing master patients but not enough to link automatically; it has a master of its own until a person decides.",
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// clone deep-copies a JSON tree.
func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, y := range x {
			m[k] = clone(y)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, y := range x {
			l[i] = clone(y)
		}
		return l
	}
	return v
}
