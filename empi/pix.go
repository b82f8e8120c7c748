package empi

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhir/respond"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
)

// PIXOperation serves GET (or POST with a form body) [base]/Patient/$ihe-pix
// (IHE PIXm ITI-83): sourceIdentifier (system|value, required) names a
// patient by any identifier of any of its records (an institution's record
// number, the resident ID number, the e-health card id ...); targetSystem
// (repeatable, optional) restricts the answer to identifiers of those
// systems. The answer is a Parameters with a targetIdentifier for every
// other identifier of every record of the person (the master's sources)
// and a targetId for every one of those Patients and for the master.
//
// A resident ID number is looked up as the identity stage stores it
// (upper case, 18 characters, under both its systems: pixQuery), and a
// targetSystem of either system answers the numbers under that system.
//
// Errors: 400 for a missing or malformed sourceIdentifier (a resident ID
// number that fails GB 11643 included); 404 when no
// Patient carries it; 403 when a targetSystem is not an identifier system
// of any Patient in the region (PIXm: the target domain is not
// recognised).
func (e *Engine) PIXOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if id != "" {
		return outcome.NotSupported("$ihe-pix is a type-level operation: GET [base]/Patient/$ihe-pix?sourceIdentifier=system|value.")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, POST")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported", "Patient/$ihe-pix is invoked with GET.")
	}
	if err := r.ParseForm(); err != nil {
		return outcome.BadRequest("The $ihe-pix parameters could not be read: %v", err)
	}
	srcs := r.Form["sourceIdentifier"]
	if len(srcs) != 1 {
		return outcome.BadRequest("$ihe-pix needs exactly one sourceIdentifier (system|value).")
	}
	sys, val, ok := strings.Cut(srcs[0], "|")
	if !ok || sys == "" || val == "" {
		return outcome.BadRequest("sourceIdentifier must be system|value with both parts, not %q.", srcs[0])
	}
	var targets []string
	for _, t := range r.Form["targetSystem"] {
		for _, s := range strings.Split(t, ",") {
			if s = strings.TrimSpace(s); s != "" {
				targets = append(targets, s)
			}
		}
	}
	ctx := r.Context()
	if err := e.maybeSync(ctx); err != nil {
		return err
	}
	query, err := pixQuery(sys, val, e.now())
	if err != nil {
		return err
	}
	found, err := e.searchPatients(ctx, url.Values{"identifier": {query}}, 100)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return outcome.NotFound("No Patient carries the identifier %s.", srcs[0])
	}
	for _, t := range targets {
		q := t + "|"
		if residentSystem(t) {
			q = SystemResidentID + "|," + SystemResidentIDOID + "|"
		}
		known, err := e.searchPatients(ctx, url.Values{"identifier": {q}}, 1)
		if err != nil {
			return err
		}
		if len(known) == 0 {
			return outcome.New(http.StatusForbidden, "not-found", "The targetSystem %s is not an identifier system of any patient in this region.", t)
		}
	}
	// The masters of what was found.
	var masters []string
	for _, p := range found {
		m := str(p["id"])
		if !IsMaster(p) {
			m = e.masterOfBody(p)
		}
		if m != "" && !slices.Contains(masters, m) {
			masters = append(masters, m)
		}
	}
	slices.Sort(masters)
	var out []any
	seen := map[string]bool{sys + "|" + val: true}
	for _, m := range masters {
		out = append(out, map[string]any{"name": "targetId", "valueReference": map[string]any{"reference": "Patient/" + m}})
		_, bodies, err := sourcesOf(ctx, e.st, m)
		if err != nil {
			return err
		}
		for _, b := range bodies {
			out = append(out, map[string]any{"name": "targetId", "valueReference": map[string]any{"reference": "Patient/" + str(b["id"])}})
			for _, x := range list(b["identifier"]) {
				ident := obj(x)
				s, v := str(ident["system"]), str(ident["value"])
				s, wanted := targetFor(s, targets)
				if v == "" || seen[s+"|"+v] || !wanted {
					continue
				}
				seen[s+"|"+v] = true
				tid := map[string]any{"system": s, "value": v}
				if use := str(ident["use"]); use != "" {
					tid["use"] = use
				}
				if typ := ident["type"]; typ != nil {
					tid["type"] = typ
				}
				if a := ident["assigner"]; a != nil {
					tid["assigner"] = a
				}
				out = append(out, map[string]any{"name": "targetIdentifier", "valueIdentifier": tid})
			}
		}
	}
	res := map[string]any{"resourceType": "Parameters"}
	if len(out) > 0 {
		res["parameter"] = out
	}
	return respond.Resource(w, r, http.StatusOK, res)
}

func residentSystem(s string) bool { return s == SystemResidentID || s == SystemResidentIDOID }

// targetFor says whether an identifier of system s answers the
// targetSystems asked for (all when none), and under which system: a
// resident ID number is given under whichever of its two systems was
// asked for.
func targetFor(s string, targets []string) (string, bool) {
	if len(targets) == 0 || slices.Contains(targets, s) {
		return s, true
	}
	if residentSystem(s) {
		for _, t := range targets {
			if residentSystem(t) {
				return t, true
			}
		}
	}
	return s, false
}

// pixQuery is the identifier search for a sourceIdentifier. A resident ID
// number is read as the identity stage stores it (CheckIdentifiers): upper
// case, a legacy 15-digit number upgraded, and under either of its two
// systems, which the EMPI treats as one; a clerk's lower-case x or the
// national OID would otherwise find nobody. A number that fails GB 11643
// is a 400 naming what is wrong, as $match answers it. Other identifiers
// are searched as given.
func pixQuery(sys, val string, now time.Time) (string, error) {
	if !residentSystem(sys) {
		return sys + "|" + val, nil
	}
	n, err := parseResidentID(val, now)
	if err != nil {
		return "", outcome.BadRequest("The sourceIdentifier's resident ID number is not valid: %v. Check it against the card.", err).At("sourceIdentifier")
	}
	return SystemResidentID + "|" + n.Value + "," + SystemResidentIDOID + "|" + n.Value, nil
}

// SearchIdentifiers is the identifier rule of searches (fhirapi's
// Deps.Identifiers): a valid resident ID number under either of its
// systems matches both, in the form the identity stage stores
// (CheckIdentifiers: upper case, upgraded from 15 digits), so that
// Patient?identifier=…|…x finds the record written as …X. Anything else,
// an invalid number included, is searched as given (nil).
func SearchIdentifiers(system, value string) []store.Coding {
	if !residentSystem(system) {
		return nil
	}
	n, err := parseResidentID(value, time.Now())
	if err != nil {
		return nil
	}
	return []store.Coding{{System: SystemResidentID, Code: n.Value}, {System: SystemResidentIDOID, Code: n.Value}}
}

// searchPatients runs a Patient search on the store and decodes at most
// count matches.
func (e *Engine) searchPatients(ctx context.Context, q url.Values, count int) ([]map[string]any, error) {
	req, err := search.Parse("Patient", q, search.Options{Strict: true, DefaultCount: count, MaxCount: count})
	if err != nil {
		return nil, err
	}
	req.Query.Total = store.TotalNone
	res, err := e.st.Search(ctx, req.Query)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(res.Matches))
	for _, v := range res.Matches {
		b, err := fhirjson.Decode(v.Body, fhirjson.Limits{})
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
