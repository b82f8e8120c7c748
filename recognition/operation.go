package recognition

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhir/respond"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
)

const (
	maxBody       = 1 << 20
	maxImportBody = 16 << 20
	masterTag     = "https://xietong.dev/fhir/CodeSystem/patient-role"
)

// Operations are the engine's FHIR operations, keyed as fhirapi.Deps
// expects ("Type/$op" at type level, "Type/{id}/$op" at instance level).
// The API checks access.Guard and audits before calling them.
func (e *Engine) Operations() map[string]func(w http.ResponseWriter, r *http.Request, id string) error {
	return map[string]func(w http.ResponseWriter, r *http.Request, id string) error{
		"Patient/$recognition-check":         e.CheckOperation,
		"Patient/{id}/$recognition-check":    e.CheckOperation,
		"MeasureReport/$recognition-stats":   e.StatsOperation,
		"PlanDefinition/$recognition-import": e.ImportOperation,
		"Observation/$recognition-remark":    e.RemarkOperation,
	}
}

// params reads the operation's input: a Parameters body (POST) or the
// query string (GET), as name → values (each value a JSON value[x] object
// or, from the query string, a string).
type param struct {
	name  string
	value map[string]any // {"valueX": ...}; nil for a string from the query
	str   string
}

func readParams(r *http.Request) ([]param, error) {
	var out []param
	for k, vs := range r.URL.Query() {
		if strings.HasPrefix(k, "_") {
			continue
		}
		for _, v := range vs {
			out = append(out, param{name: k, str: v})
		}
	}
	if r.Method != http.MethodPost {
		return out, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/fhir+json" && mt != "application/json" {
			return nil, outcome.New(http.StatusUnsupportedMediaType, "not-supported", "send the Parameters as application/fhir+json, not %s.", mt)
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, outcome.BadRequest("cannot read the body: %v", err)
	}
	if len(body) > maxBody {
		return nil, outcome.New(http.StatusRequestEntityTooLarge, "too-costly", "the Parameters body is over 1 MiB.")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return out, nil
	}
	m, err := decode(body)
	if err != nil || str(m, "resourceType") != "Parameters" {
		return nil, outcome.BadRequest("the body must be a FHIR Parameters resource in JSON.")
	}
	for _, p := range list(m, "parameter") {
		pm := mapOf(p)
		v := map[string]any{}
		for k, x := range pm {
			if strings.HasPrefix(k, "value") {
				v[k] = x
			}
		}
		out = append(out, param{name: str(pm, "name"), value: v})
	}
	return out, nil
}

// reference reads a Reference-ish parameter: valueReference, or a string
// "Type/id" or "id".
func (p param) reference(typ string) (string, bool) {
	s := p.str
	if p.value != nil {
		if r := mapOf(p.value["valueReference"]); r != nil {
			s = str(r, "reference")
		} else if v, ok := p.value["valueString"].(string); ok {
			s = v
		} else {
			return "", false
		}
	}
	if t, id, ok := strings.Cut(s, "/"); ok {
		if t != typ {
			return "", false
		}
		s = id
	}
	return s, idRE.MatchString(s)
}

// code reads an item parameter: valueCoding (system|code), valueCode,
// valueString or a query string.
func (p param) code() string {
	if p.value == nil {
		return p.str
	}
	if c := mapOf(p.value["valueCoding"]); c != nil {
		if sys := str(c, "system"); sys != "" && sys != csItem {
			return sys + "|" + str(c, "code")
		}
		return str(c, "code")
	}
	for _, k := range []string{"valueCode", "valueString"} {
		if s, ok := p.value[k].(string); ok {
			return s
		}
	}
	return ""
}

// CheckOperation serves [base]/Patient/[id]/$recognition-check and
// [base]/Patient/$recognition-check (GET or POST). Inputs: orderer
// (Reference to the ordering Organization), item (1..*: valueCoding,
// valueCode or valueString: an item code or a covered code), date
// (optional valueDateTime: the moment of ordering), and at type level the
// patient: patient (valueReference, or valueIdentifier) or identifier
// (valueString system|value) or code (valueString: a scanned e-health-card
// code, resolved by the card service at the orderer). The output is a
// Parameters with one result
// part per item (see Parameters).
//
// Errors: 400 for a missing or unknown orderer, no item, a malformed
// code, an identifier that names no patient or several; 404 for an
// unknown Patient id; 405 for other methods.
func (e *Engine) CheckOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported", "$recognition-check is called with GET or POST.")
	}
	ps, err := readParams(r)
	if err != nil {
		return err
	}
	q := CheckRequest{Patient: id}
	var ident, scanned string
	for _, p := range ps {
		switch p.name {
		case "orderer":
			o, ok := p.reference("Organization")
			if !ok {
				return outcome.BadRequest("orderer must reference an Organization (Organization/[id]).").At("orderer")
			}
			q.Orderer = o
		case "item":
			q.Items = append(q.Items, p.code())
		case "date":
			s := p.str
			if p.value != nil {
				s, _ = p.value["valueDateTime"].(string)
				if s == "" {
					s, _ = p.value["valueDate"].(string)
				}
			}
			t, ok := parseDate(s, e.loc)
			if !ok {
				return outcome.BadRequest("date %q is not a FHIR dateTime.", s).At("date")
			}
			q.At = t
		case "code":
			if id != "" {
				return outcome.BadRequest("the patient is the instance of the call; do not also send code.").At("code")
			}
			scanned = p.code()
		case "patient", "identifier":
			if id != "" {
				return outcome.BadRequest("the patient is the instance of the call; do not also send %s.", p.name).At(p.name)
			}
			if p.value != nil && p.value["valueIdentifier"] != nil {
				im := mapOf(p.value["valueIdentifier"])
				ident = str(im, "system") + "|" + str(im, "value")
			} else if p.name == "identifier" {
				ident = p.code()
			} else if pid, ok := p.reference("Patient"); ok {
				q.Patient = pid
			} else {
				return outcome.BadRequest("patient must be a Reference to Patient or an Identifier.").At("patient")
			}
		default:
			return outcome.BadRequest("$recognition-check has no parameter %q: it takes orderer, item (1..*), date, and at type level patient, identifier or code.", p.name).At(p.name)
		}
	}
	if q.Orderer == "" {
		return outcome.BadRequest("$recognition-check needs orderer: the ordering Organization.").At("orderer")
	}
	if q.Patient == "" && scanned != "" {
		if e.ResolveCode == nil {
			return outcome.NotSupported("this node resolves no e-health-card codes; send patient or identifier.").At("code")
		}
		pid, err := e.ResolveCode(r.Context(), scanned, q.Orderer)
		if err != nil {
			return err
		}
		q.Patient = pid
	}
	if q.Patient == "" {
		if ident == "" {
			return outcome.BadRequest("Patient/$recognition-check needs the patient: patient (Reference or Identifier) or identifier (system|value).").At("patient")
		}
		pid, err := e.PatientByIdentifier(r.Context(), ident)
		if err != nil {
			return err
		}
		q.Patient = pid
	}
	res, err := e.Check(r.Context(), q)
	if err != nil {
		return err
	}
	return respond.Value(w, r, http.StatusOK, res.Parameters())
}

// PatientByIdentifier finds the patient an identifier names ("system|value"
// or a bare value): the EMPI master when the identifier is on a master and
// its sources, else the one Patient that carries it. An e-health card's
// one-code is an identifier like any other here (the card engine's
// resolver is not wired in yet). 400 when it names no patient or several
// unrelated ones.
func (e *Engine) PatientByIdentifier(ctx context.Context, ident string) (string, error) {
	if ident == "" || strings.ContainsAny(ident, " \t\n") || strings.HasSuffix(ident, "|") {
		return "", outcome.BadRequest("identifier %q: write system|value.", ident).At("identifier")
	}
	req, err := search.Parse("Patient", url.Values{"identifier": {ident}, "_count": {"20"}}, search.Options{Strict: true, Zone: e.loc})
	if err != nil {
		return "", outcome.BadRequest("identifier %q: %v", ident, err).At("identifier")
	}
	req.Query.Total = store.TotalNone
	res, err := e.st.Search(ctx, req.Query)
	if err != nil {
		return "", err
	}
	var ids, masters []string
	for _, v := range res.Matches {
		ids = append(ids, v.ID)
		if m, err := decode(v.Body); err == nil {
			for _, t := range list(mapOf(m["meta"]), "tag") {
				if str(mapOf(t), "system") == masterTag && str(mapOf(t), "code") == "master" {
					masters = append(masters, v.ID)
				}
			}
		}
	}
	switch {
	case len(ids) == 0:
		return "", outcome.BadRequest("no patient has the identifier %s.", ident).At("identifier")
	case len(ids) == 1:
		return ids[0], nil
	case len(masters) == 1:
		return masters[0], nil
	}
	return "", outcome.BadRequest("the identifier %s names %d patients that are not linked to one master; call Patient/[id]/$recognition-check.", ident, len(ids)).At("identifier")
}

// Parameters renders the check's answer:
//
//	result (one per asked item)
//	  query         valueString: the item as asked
//	  item          valueCoding (csItem): each catalogue item it named
//	  recognisable  valueBoolean
//	  prior (0..*, newest first): reference, issuer (valueReference with
//	                display), date (valueDateTime), value (valueString),
//	                daysLeft (valueInteger), programme (valueCoding),
//	                subject (valueReference: the Patient it is filed under,
//	                the master or one of its linked sources);
//	                imaging reports also: imagingStudy (valueReference),
//	                studyUid (valueIdentifier urn:dicom:uid), and one image
//	                per link to the images (kind valueCode: endpoint, media,
//	                document, presented-form; reference valueReference to
//	                the Media, DocumentReference or Endpoint; url valueUrl;
//	                label valueString)
//	  rejected (0..*, newest first): reference, issuer, date, value,
//	                subject, the imaging parts, reason (valueCoding csWhy)
//	  reason (0..*, when nothing is recognisable): valueCoding csWhy with
//	                the reason's text as display
func (c *CheckResult) Parameters() map[string]any {
	var out []any
	for _, r := range c.Items {
		parts := []any{obj{"name": "query", "valueString": r.Query}}
		for _, it := range r.Items {
			parts = append(parts, obj{"name": "item", "valueCoding": coding(csItem, it.Code, it.Name)})
		}
		parts = append(parts, obj{"name": "recognisable", "valueBoolean": len(r.Recognisable) > 0})
		for _, p := range r.Recognisable {
			pp := priorParts(p)
			pp = append(pp, obj{"name": "daysLeft", "valueInteger": p.DaysLeft}, obj{"name": "programme", "valueCoding": coding(csProg, p.Programme, "")})
			parts = append(parts, obj{"name": "prior", "part": pp})
		}
		for _, p := range r.Rejected {
			pp := priorParts(p)
			pp = append(pp, obj{"name": "reason", "valueCoding": coding(csWhy, p.Reason, WhyText[p.Reason])})
			parts = append(parts, obj{"name": "rejected", "part": pp})
		}
		for _, why := range r.Reasons {
			parts = append(parts, obj{"name": "reason", "valueCoding": coding(csWhy, why, WhyText[why])})
		}
		out = append(out, obj{"name": "result", "part": parts})
	}
	return obj{"resourceType": "Parameters", "parameter": out}
}

func priorParts(p Prior) []any {
	iss := obj{"reference": "Organization/" + p.Issuer}
	if p.Issuer == "" {
		iss = obj{"display": "unknown"}
	} else if p.IssuerName != "" {
		iss["display"] = p.IssuerName
	}
	pp := []any{
		obj{"name": "reference", "valueReference": obj{"reference": p.Ref}},
		obj{"name": "issuer", "valueReference": iss},
		obj{"name": "date", "valueDateTime": p.Date.Format(time.RFC3339)},
	}
	if p.Value != "" {
		pp = append(pp, obj{"name": "value", "valueString": p.Value})
	}
	if p.Patient != "" {
		pp = append(pp, obj{"name": "subject", "valueReference": obj{"reference": "Patient/" + p.Patient}})
	}
	if p.Study != "" {
		pp = append(pp, obj{"name": "imagingStudy", "valueReference": obj{"reference": "ImagingStudy/" + p.Study}})
	}
	if p.StudyUID != "" {
		pp = append(pp, obj{"name": "studyUid", "valueIdentifier": obj{"system": "urn:dicom:uid", "value": p.StudyUID}})
	}
	for _, im := range p.Images {
		ip := []any{obj{"name": "kind", "valueCode": im.Kind}}
		if im.Ref != "" {
			ip = append(ip, obj{"name": "reference", "valueReference": obj{"reference": im.Ref}})
		}
		if im.URL != "" {
			ip = append(ip, obj{"name": "url", "valueUrl": im.URL})
		}
		if im.Label != "" {
			ip = append(ip, obj{"name": "label", "valueString": im.Label})
		}
		pp = append(pp, obj{"name": "image", "part": ip})
	}
	return pp
}

// ImportOperation serves POST [base]/PlanDefinition/$recognition-import:
// the body is a catalogue file (application/json or text/csv, see
// ParseCatalogue); its resources are written in one transaction through
// the node's write path. 400 for an invalid file, 415 for another type.
func (e *Engine) ImportOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported", "$recognition-import is called with POST and a catalogue file.")
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	format := ""
	switch mt {
	case "application/json", "application/fhir+json":
		format = "json"
	case "text/csv":
		format = "csv"
	default:
		return outcome.New(http.StatusUnsupportedMediaType, "not-supported", "send the catalogue as application/json or text/csv.")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxImportBody+1))
	if err != nil || len(body) > maxImportBody {
		return outcome.New(http.StatusRequestEntityTooLarge, "too-costly", "the catalogue file is over 16 MiB.")
	}
	c, err := ParseCatalogue(body, format)
	if err != nil {
		return outcome.BadRequest("%v", err)
	}
	n, err := e.Import(r.Context(), c)
	if err != nil {
		return err
	}
	return respond.Value(w, r, http.StatusOK, operationOK(fmt.Sprintf("imported %d programmes, %d items, %d memberships, %d EQA results (%d resources)",
		len(c.Programmes), countItems(c), len(c.Members), len(c.EQA), n)))
}

func countItems(c *Catalogue) int {
	n := 0
	for _, p := range c.Programmes {
		n += len(p.Items)
	}
	return n
}

func operationOK(msg string) map[string]any {
	return obj{"resourceType": "OperationOutcome", "issue": []any{obj{"severity": "information", "code": "informational", "diagnostics": msg}}}
}

// Import writes a catalogue's resources through the Writer (one
// transaction); it returns how many resources were written.
func (e *Engine) Import(ctx context.Context, c *Catalogue) (int, error) {
	if err := c.Validate(); err != nil {
		return 0, outcome.BadRequest("%v", err)
	}
	if e.Writer == nil {
		return 0, errors.New("recognition: no Writer configured")
	}
	res := c.Resources()
	if err := e.Writer.Write(ctx, res); err != nil {
		return 0, err
	}
	return len(res), nil
}

// EnsureDefault imports the default catalogue when the store holds no
// programme yet (first start).
func (e *Engine) EnsureDefault(ctx context.Context) error {
	e.mu.RLock()
	empty := len(e.s.rawProg) == 0
	e.mu.RUnlock()
	if !empty {
		return nil
	}
	_, err := e.Import(ctx, Default())
	return err
}
