package recognition

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/store"
)

// CheckRequest asks which prior results of a patient an ordering
// institution must recognise for some items.
type CheckRequest struct {
	Patient string    // Patient id (a source record or the EMPI master)
	Orderer string    // the ordering Organization's id
	Items   []string  // catalogue item codes (K, CT-CHEST) or covered codes (http://loinc.org|6298-4, or a bare code)
	At      time.Time // the moment of ordering (zero: now)
}

// Prior is one prior result considered by the check.
type Prior struct {
	Ref        string  // "Observation/id" or "DiagnosticReport/id"
	Study      string  // the ImagingStudy id of an imaging report, or ""
	StudyUID   string  // the study's DICOM Study Instance UID ("urn:oid:…"), when known
	Images     []Image // links to the images of an imaging report (image.go)
	Patient    string  // the Patient id the result is filed under (one of CheckResult.Patients)
	Code       string  // the matching code, "system|code"
	Issuer     string  // Organization id ("" when unknown)
	IssuerName string
	Date       time.Time // the result's date (effective, else issued)
	Value      string    // value with unit, or the report's conclusion
	Programme  string    // the programme that recognises it (or, when rejected, the first programme considered)
	Item       string    // the catalogue item
	DaysLeft   int       // days of validity left, 0 on the window's last day (recognisable only)
	Reason     string    // why it is not recognisable (rejected only); see WhyText
}

// ItemResult answers one asked item.
type ItemResult struct {
	Query string
	// Items are the catalogue items the query names in the programmes the
	// orderer takes part in (all matching items when it takes part in none).
	Items []*Item
	// Recognisable prior results, newest first; empty when none qualifies.
	Recognisable []Prior
	// Rejected prior results with their reason, newest first.
	Rejected []Prior
	// Reasons, when nothing is recognisable: the distinct reasons, most
	// decisive first (not-in-catalogue, orderer-not-in-programme,
	// no-prior-result, or the rejected results' reasons).
	Reasons []string
}

// CheckResult is the answer of Check, one ItemResult per asked item.
type CheckResult struct {
	Patients []string // the Patient ids searched (the master and its linked sources)
	At       time.Time
	Items    []ItemResult
}

// maxRows bounds the prior results read per check.
const maxRows = 500

// Check is the check at the point of ordering. Errors are *outcome.Error:
// 404 for an unknown patient, 400 for an unknown or malformed orderer or
// item code, or no item.
func (e *Engine) Check(ctx context.Context, q CheckRequest) (*CheckResult, error) {
	if len(q.Items) == 0 {
		return nil, outcome.BadRequest("$recognition-check needs at least one item (a catalogue item code or a code it covers).").At("item")
	}
	if len(q.Items) > 100 {
		return nil, outcome.BadRequest("$recognition-check takes at most 100 items per call.").At("item")
	}
	for _, it := range q.Items {
		if _, err := ParseCode(it); err != nil {
			return nil, outcome.BadRequest("item: %v", err).At("item")
		}
	}
	at := q.At
	if at.IsZero() {
		at = e.now()
	}
	atDay := e.localDay(at)
	patients, err := e.patientSet(ctx, q.Patient)
	if err != nil {
		return nil, err
	}
	e.mu.RLock()
	s := e.s
	_, known := s.orgs[q.Orderer]
	e.mu.RUnlock()
	if !known {
		if err := e.knownOrganization(ctx, q.Orderer); err != nil {
			return nil, err
		}
	}
	out := &CheckResult{Patients: patients, At: at}
	type ask struct {
		items  []*Item // in the orderer's programmes
		reason string
	}
	asks := make([]ask, len(q.Items))
	codeSet := map[string]bool{}
	e.mu.RLock()
	for i, tok := range q.Items {
		all := s.byCode[tok]
		if len(all) == 0 {
			asks[i].reason = WhyNotInCatalogue
			continue
		}
		for _, it := range all {
			if s.member(q.Orderer, it.Programme, atDay) {
				asks[i].items = append(asks[i].items, it)
			}
		}
		if len(asks[i].items) == 0 {
			asks[i].items = all
			asks[i].reason = WhyOrdererNotMember
			continue
		}
		for _, it := range asks[i].items {
			for _, c := range it.Codes {
				codeSet[c] = true
			}
		}
	}
	e.mu.RUnlock()
	rows, err := e.readRows(ctx, patients, codeSet)
	if err != nil {
		return nil, err
	}
	e.mu.RLock()
	for i, tok := range q.Items {
		r := ItemResult{Query: tok, Items: asks[i].items}
		if asks[i].reason != "" {
			r.Reasons = []string{asks[i].reason}
			out.Items = append(out.Items, r)
			continue
		}
		seen := map[string]bool{}
		for _, row := range rows { // newest first
			if seen[row.Ref] || row.Date.After(at) {
				continue
			}
			var best *Prior
			var why *Prior
			for _, it := range asks[i].items {
				if !slices.Contains(it.Codes, row.Code) {
					continue
				}
				p := row
				p.Programme, p.Item = it.Programme, it.Code
				effDay := e.localDay(row.Date)
				if reason := s.issuerReason(it, row.Issuer, effDay, atDay); reason != "" {
					p.Reason = reason
				} else if left := it.WindowDays - int(atDay.Sub(effDay).Hours()/24); left < 0 {
					p.Reason = WhyOutsideWindow
				} else {
					p.DaysLeft = left
				}
				if p.Reason == "" {
					if best == nil || p.DaysLeft > best.DaysLeft {
						best = &p
					}
				} else if why == nil {
					why = &p
				}
			}
			if best == nil && why == nil {
				continue
			}
			seen[row.Ref] = true
			if best != nil {
				best.IssuerName = s.orgs[best.Issuer].Name
				r.Recognisable = append(r.Recognisable, *best)
			} else {
				why.IssuerName = s.orgs[why.Issuer].Name
				r.Rejected = append(r.Rejected, *why)
			}
		}
		if len(r.Recognisable) == 0 {
			if len(r.Rejected) == 0 {
				r.Reasons = []string{WhyNoPrior}
			}
			for _, p := range r.Rejected {
				if !slices.Contains(r.Reasons, p.Reason) {
					r.Reasons = append(r.Reasons, p.Reason)
				}
			}
		}
		out.Items = append(out.Items, r)
	}
	e.mu.RUnlock()
	if err := e.attachImages(ctx, patients, out.Items); err != nil {
		return nil, err
	}
	return out, nil
}

// localDay is t's calendar day in the engine's zone, as midnight UTC (all
// day arithmetic of the engine is on such values).
func (e *Engine) localDay(t time.Time) time.Time {
	l := t.In(e.loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}

func (e *Engine) knownOrganization(ctx context.Context, id string) error {
	if !idRE.MatchString(id) {
		return outcome.BadRequest("orderer: %q is not an Organization id (give orderer as a Reference to Organization/[id]).", id).At("orderer")
	}
	_, err := e.st.Read(ctx, "Organization", id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrGone) {
		return outcome.BadRequest("orderer: Organization/%s is not known to this server.", id).At("orderer")
	}
	return err
}

// patientSet is the patient and every record the EMPI links to it: a
// source's master (link type "refer"), and a master's sources (link type
// "seealso"), so results filed under any of them count.
func (e *Engine) patientSet(ctx context.Context, id string) ([]string, error) {
	if !idRE.MatchString(id) {
		return nil, outcome.BadRequest("%q is not a Patient id.", id)
	}
	read := func(id string) (map[string]any, error) {
		v, err := e.st.Read(ctx, "Patient", id)
		if err != nil {
			return nil, err
		}
		return decode(v.Body)
	}
	p, err := read(id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrGone) {
		return nil, outcome.NotFound("Patient/%s is not known to this server.", id)
	}
	if err != nil {
		return nil, err
	}
	set := []string{id}
	master, mres := id, p
	for _, l := range list(p, "link") {
		lm := mapOf(l)
		if str(lm, "type") == "refer" || str(lm, "type") == "replaced-by" {
			if m := refID(lm["other"], "Patient"); m != "" {
				if r, err := read(m); err == nil {
					master, mres = m, r
					set = append(set, m)
				}
				break
			}
		}
	}
	for _, l := range list(mres, "link") {
		lm := mapOf(l)
		if t := str(lm, "type"); t == "seealso" || t == "replaces" {
			if s := refID(lm["other"], "Patient"); s != "" && !slices.Contains(set, s) {
				set = append(set, s)
			}
		}
	}
	_ = master
	return set, nil
}

// readRows reads the projection rows of patients for codes, newest first.
func (e *Engine) readRows(ctx context.Context, patients []string, codes map[string]bool) ([]Prior, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	var sb strings.Builder
	args := make([]any, 0, len(patients)+len(codes))
	sb.WriteString(`SELECT code, eff, rtype, rid, issuer, value, study, patient FROM recognition_result WHERE patient IN (`)
	for i, p := range patients {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("?")
		args = append(args, p)
	}
	sb.WriteString(") AND code IN (")
	keys := make([]string, 0, len(codes))
	for c := range codes {
		keys = append(keys, c)
	}
	slices.Sort(keys)
	for i, c := range keys {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("?")
		args = append(args, c)
	}
	sb.WriteString(") ORDER BY eff DESC, rid LIMIT " + itoa(maxRows))
	rows, err := e.sql.QuerySQL(ctx, sb.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Prior
	for rows.Next() {
		var p Prior
		var eff int64
		var typ, id string
		if err := rows.Scan(&p.Code, &eff, &typ, &id, &p.Issuer, &p.Value, &p.Study, &p.Patient); err != nil {
			return nil, err
		}
		p.Ref = typ + "/" + id
		p.Date = time.Unix(eff, 0).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}
