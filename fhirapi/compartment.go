package fhirapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/fhir/model"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
)

// compartmentClause is the disjunction that puts a resource of type typ in
// the compartment of ctype/cid: any of the compartment's parameters for typ
// pointing at it (and, for the compartment's own type, the resource itself).
// ok is false when typ is not in that compartment.
func compartmentClause(ctype, cid, typ string) (store.Clause, bool) {
	var c store.Clause
	for _, p := range model.Compartment(ctype, typ) {
		if p == "{def}" {
			continue
		}
		c = append(c, store.Predicate{Param: p, Type: store.TypeReference, TargetType: ctype, TargetID: cid})
	}
	if typ == ctype {
		c = append(c, store.Predicate{Param: store.ParamID, Type: store.TypeToken, Code: cid})
	}
	return c, len(c) > 0
}

// handleCompartmentSearch: GET [base]/[ctype]/[cid]/[type]?params.
func (s *Server) handleCompartmentSearch(w http.ResponseWriter, r *http.Request) error {
	ctype, cid, err := pathTypeID(r)
	if err != nil {
		return err
	}
	typ := r.PathValue("rtype")
	if strings.HasPrefix(typ, "$") {
		return s.handleInstanceOperation(w, r, ctype, cid, typ)
	}
	if typ == "*" {
		return outcome.NotSupported("Searching all types of a compartment (%s/%s/*) is not supported; use %s/%s/$everything or name a type.", ctype, cid, ctype, cid)
	}
	if !isKnownType(typ) {
		return unknownType(typ)
	}
	switch ctype {
	case "Patient", "Encounter", "RelatedPerson", "Practitioner", "Device":
	default:
		return outcome.NotFound("%s is not a compartment; the R4 compartments are Patient, Encounter, RelatedPerson, Practitioner and Device.", ctype)
	}
	clause, ok := compartmentClause(ctype, cid, typ)
	if !ok {
		return outcome.BadRequest("%s resources are not in the %s compartment.", typ, ctype)
	}
	return s.searchWith(w, r, typ, func(q *store.Query) { q.Where = append(q.Where, clause) },
		s.publicBase(r)+"/"+ctype+"/"+cid+"/"+typ)
}

// handleInstanceOperation dispatches [base]/[type]/[id]/$operation.
func (s *Server) handleInstanceOperation(w http.ResponseWriter, r *http.Request, typ, id, op string) error {
	if typ == "Patient" && op == "$everything" {
		return s.everything(w, r, id)
	}
	if fn := s.deps.Operations[typ+"/{id}/"+op]; fn != nil {
		if err := s.deps.Guard.Check(r.Context(), access.Request{Action: access.Operation, Operation: op, ResourceType: typ, ID: id, Source: r.RemoteAddr}); err != nil {
			return err
		}
		return fn(w, r, id)
	}
	return outcome.NotSupported("The operation %s on %s is not supported by this server; see [base]/metadata for the operations it offers.", op, typ)
}

// handleTypeOperation dispatches [base]/[type]/$operation.
func (s *Server) handleTypeOperation(w http.ResponseWriter, r *http.Request, typ, op string) error {
	if fn := s.deps.Operations[typ+"/"+op]; fn != nil {
		if err := s.deps.Guard.Check(r.Context(), access.Request{Action: access.Operation, Operation: op, ResourceType: typ, Source: r.RemoteAddr}); err != nil {
			return err
		}
		return fn(w, r, "")
	}
	if typ == "Patient" && op == "$everything" {
		return s.everything(w, r, "")
	}
	return outcome.NotSupported("The operation %s on %s is not supported by this server; see [base]/metadata for the operations it offers.", op, typ)
}

// everything: GET [base]/Patient/[id]/$everything, and GET
// [base]/Patient/$everything (id "") for every patient, with _since,
// _type, start, end and _count. The answer is a searchset: the patient (or
// every patient), every resource of its compartment (of any patient's),
// and the resources those refer to that are outside it (practitioners,
// organisations, locations, medications ...). Pages run through the
// compartment's types in a fixed order; the cursor remembers the type and
// the store's cursor within it.
//
// start and end select by the date of care (R4 Patient-everything), not
// of the record: a resource of a type with a clinical date parameter
// (everythingDateParam) is returned when that date is on or after start
// and on or before end, as date=ge{start}&date=le{end} would find it;
// resources of types without one (the Patient, RelatedPerson, Coverage
// ...) are returned whatever the range. _since is the record's
// lastUpdated.
func (s *Server) everything(w http.ResponseWriter, r *http.Request, id string) error {
	if err := checkFormat(r); err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.deps.Guard.Check(ctx, access.Request{Action: access.Operation, Operation: "$everything", ResourceType: "Patient", ID: id, Source: r.RemoteAddr}); err != nil {
		return err
	}
	if id != "" {
		if _, err := s.deps.Store.Read(ctx, "Patient", id); err != nil {
			return readError(err, nil, "Patient", id, 0)
		}
	}
	q := r.URL.Query()
	count := s.cfg.DefaultCount
	if v := q.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return outcome.BadRequest("_count must be a positive whole number, not %q", v).At("_count")
		}
		count = min(n, s.cfg.MaxCount)
	}
	var extra []store.Clause
	if v := q.Get("_since"); v != "" {
		lo, hi, err := search.DateRange(v, s.cfg.Zone)
		if err != nil {
			return outcome.BadRequest("_since: %v", err).At("_since")
		}
		extra = append(extra, store.Clause{{Param: store.ParamLastUpdated, Type: store.TypeDate, Prefix: store.PrefixGe, DateLow: lo, DateHigh: hi}})
	}
	types := everythingTypes()
	// referenced limits the resources outside the compartment that come
	// as includes (nil: every referenced one) to the types _type names.
	var referenced map[string]bool
	if vs := q["_type"]; len(vs) > 0 {
		var want []string
		referenced = map[string]bool{}
		for _, v := range vs {
			for _, t := range strings.Split(v, ",") {
				t = strings.TrimSpace(t)
				if !isKnownType(t) {
					return outcome.BadRequest("_type: %q is not a resource type", t).At("_type")
				}
				if t == "Patient" || len(model.Compartment("Patient", t)) > 0 {
					if !slices.Contains(want, t) {
						want = append(want, t)
					}
				} else {
					referenced[t] = true
				}
			}
		}
		// in the order of everythingOrder, so a cursor's type index
		// means the same type on every page
		types = slices.DeleteFunc(types, func(t string) bool { return !slices.Contains(want, t) })
	}
	var care []store.Predicate // date predicates of start and end (Param filled per type)
	for _, k := range []string{"start", "end"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		lo, hi, err := search.DateRange(v, s.cfg.Zone)
		if err != nil {
			return outcome.BadRequest("%s: %v", k, err).At(k)
		}
		prefix := store.PrefixGe
		if k == "end" {
			prefix = store.PrefixLe
		}
		care = append(care, store.Predicate{Type: store.TypeDate, Prefix: prefix, DateLow: lo, DateHigh: hi})
	}
	typeIdx, storeCursor, err := decodeEverythingCursor(q.Get("_cursor"), len(types))
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	var matches []*store.Version
	next := ""
	for typeIdx < len(types) && len(matches) < count {
		typ := types[typeIdx]
		where := append([]store.Clause(nil), extra...)
		if id != "" {
			clause, _ := compartmentClause("Patient", id, typ)
			where = append(where, clause)
		} else if typ != "Patient" {
			where = append(where, anyPatientClause(typ))
		}
		if dp := everythingDateParam(typ); dp != "" {
			for _, p := range care {
				p.Param = dp
				where = append(where, store.Clause{p})
			}
		}
		sq := &store.Query{
			Types: []string{typ}, Where: where,
			Count: count - len(matches), Cursor: storeCursor, Total: store.TotalNone,
		}
		res, err := s.deps.Store.Search(sctx, sq)
		if err != nil {
			return err
		}
		matches = append(matches, res.Matches...)
		if res.NextCursor != "" {
			storeCursor = res.NextCursor
			next = encodeEverythingCursor(typeIdx, storeCursor)
			break
		}
		typeIdx++
		storeCursor = ""
		if typeIdx < len(types) && len(matches) >= count {
			next = encodeEverythingCursor(typeIdx, "")
		}
	}
	included, err := s.referencedOutside(sctx, matches, referenced)
	if err != nil {
		return err
	}
	base := s.publicBase(r)
	path := base + "/Patient/" + id + "/$everything"
	if id == "" {
		path = base + "/Patient/$everything"
	}
	links := pageLinks(path, q, "", 0, next, "") // q keeps its _cursor: self names this page
	bw := newBundle("searchset", -1, links)
	for _, v := range matches {
		bw.entry(base+"/"+v.Type+"/"+v.ID, v.Body, map[string]any{"search": map[string]any{"mode": "match"}})
	}
	for _, v := range included {
		bw.entry(base+"/"+v.Type+"/"+v.ID, v.Body, map[string]any{"search": map[string]any{"mode": "include"}})
	}
	writeJSON(w, r, http.StatusOK, bw.finish())
	return nil
}

// anyPatientClause puts a resource of type typ in some patient's
// compartment: any of the compartment's parameters pointing at a Patient.
func anyPatientClause(typ string) store.Clause {
	var c store.Clause
	for _, p := range model.Compartment("Patient", typ) {
		if p != "{def}" {
			c = append(c, store.Predicate{Param: p, Type: store.TypeReference, TargetType: "Patient"})
		}
	}
	return c
}

// everythingDates names the clinical date parameter of the types whose
// parameter is not called "date" (R4's clinical-date covers Observation,
// Encounter, Procedure and the others that have one).
var everythingDates = map[string]string{
	"Condition": "onset-date", "MedicationRequest": "authoredon", "MedicationAdministration": "effective-time",
	"MedicationDispense": "whenhandedover", "MedicationStatement": "effective", "Claim": "created",
	"ExplanationOfBenefit": "created", "ServiceRequest": "authored", "ImagingStudy": "started",
	"Specimen": "collected", "Communication": "sent", "CommunicationRequest": "authored",
	"DeviceRequest": "authored-on", "NutritionOrder": "datetime", "QuestionnaireResponse": "authored",
	"Goal": "start-date", "Coverage": "", "Account": "period", "ChargeItem": "entered-date",
}

// everythingDateParam is the clinical date parameter of typ for start and
// end, or "" when it has none.
func everythingDateParam(typ string) string {
	code, ok := everythingDates[typ]
	if !ok {
		code = "date"
	}
	if sp := model.SearchParams(typ)[code]; code != "" && sp != nil && sp.Type == "date" {
		return code
	}
	return ""
}

// everythingOrder lists Patient first, then every other type of the
// Patient compartment, sorted; computed once, on first use.
var everythingOrder = sync.OnceValue(func() []string {
	order := []string{"Patient"}
	for _, t := range model.ResourceTypes() {
		if t != "Patient" && len(model.Compartment("Patient", t)) > 0 {
			order = append(order, t)
		}
	}
	return order
})

// everythingTypes returns a copy of everythingOrder the caller may narrow.
func everythingTypes() []string { return append([]string(nil), everythingOrder()...) }

func encodeEverythingCursor(typeIdx int, storeCursor string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(typeIdx) + ":" + storeCursor))
}

func decodeEverythingCursor(c string, ntypes int) (int, string, error) {
	if c == "" {
		return 0, "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		idx, rest, ok := strings.Cut(string(raw), ":")
		if n, err := strconv.Atoi(idx); ok && err == nil && n >= 0 && n < ntypes {
			return n, rest, nil
		}
	}
	return 0, "", outcome.BadRequest("_cursor %q is not a cursor this server issued; follow the Bundle's next link.", c).At("_cursor")
}

// referencedOutside reads the resources the matches refer to by local
// reference that are not among the matches and not Patients (other
// patients are not part of this patient's record).
func (s *Server) referencedOutside(ctx context.Context, matches []*store.Version, only map[string]bool) ([]*store.Version, error) {
	have := map[string]bool{}
	for _, v := range matches {
		have[v.Type+"/"+v.ID] = true
	}
	var out []*store.Version
	for _, v := range matches {
		res, err := decodeStored(v.Body)
		if err != nil {
			return nil, err
		}
		for _, ref := range localReferences(res) {
			if have[ref] {
				continue
			}
			have[ref] = true
			typ, id, _ := strings.Cut(ref, "/")
			if typ == "Patient" || len(model.Compartment("Patient", typ)) > 0 {
				continue // compartment resources come as matches, on their own page
			}
			if only != nil && !only[typ] {
				continue // _type leaves it out
			}
			got, err := s.deps.Store.Read(ctx, typ, id)
			if err != nil {
				continue // deleted or not on this server: nothing to include
			}
			out = append(out, got)
		}
	}
	return out, nil
}

// localReferences lists the Type/id references in a resource.
func localReferences(res map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch c := v.(type) {
		case map[string]any:
			for k, x := range c {
				if k == "reference" {
					if ref, ok := x.(string); ok {
						if t, id, ok := strings.Cut(ref, "/"); ok && isKnownType(t) && search.ValidID(id) {
							out = append(out, ref)
						}
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range c {
				walk(x)
			}
		}
	}
	walk(res)
	return out
}
