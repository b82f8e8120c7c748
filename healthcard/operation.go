package healthcard

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhir/respond"
)

const maxBody = 64 << 10

// params is a flat view of an operation's input: each parameter name
// with its value as a string (valueString, valueCode, valueUri,
// valueReference.reference, valueIdentifier.value ...).
type params map[string]string

// readParams reads the input of a POST operation: a Parameters body
// (application/fhir+json), or none. URL query parameters count too, as
// FHIR allows for primitive inputs; a name given twice is an error, and
// so is a name the operation does not take (but _format and _pretty in
// the URL, which every interaction takes): a misspelt filter of the usage
// counts would otherwise widen the answer without a word.
func readParams(r *http.Request, names ...string) (params, error) {
	p := params{}
	known := func(n string) bool {
		for _, x := range names {
			if x == n {
				return true
			}
		}
		return false
	}
	unknown := func(n, at string) error {
		takes := "no parameters"
		if len(names) > 0 {
			takes = "the parameters " + strings.Join(names, ", ")
		}
		e := outcome.BadRequest("%s is not a parameter of this operation (it takes %s); a misspelt filter would otherwise be ignored and the answer would cover more than was asked.", n, takes)
		if at != "" {
			return e.At(at)
		}
		return e
	}
	for n, vs := range r.URL.Query() {
		if !known(n) {
			if n == "_format" || n == "_pretty" {
				continue // the API's own, for every interaction
			}
			return nil, unknown(n, "")
		}
		if len(vs) > 1 {
			return nil, outcome.BadRequest("The parameter %s is given more than once.", n)
		}
		p[n] = vs[0]
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return p, nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, outcome.New(http.StatusRequestEntityTooLarge, "too-costly", "The operation's body is larger than %d bytes.", maxBody)
		}
		return nil, outcome.BadRequest("The body could not be read: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return p, nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/fhir+json" && mt != "application/json" && mt != "application/json+fhir") {
		return nil, outcome.New(http.StatusUnsupportedMediaType, "not-supported", "The body must be a Parameters resource in FHIR JSON (Content-Type application/fhir+json).")
	}
	res, err := fhirjson.Decode(data, fhirjson.Limits{})
	if err != nil {
		return nil, outcome.Wrap(err, http.StatusBadRequest, "structure", "The body is not a FHIR JSON resource: %v", err)
	}
	if rt := str(res["resourceType"]); rt != "Parameters" {
		return nil, outcome.BadRequest("The body must be a Parameters resource, not a %s.", rt)
	}
	for i, x := range list(res["parameter"]) {
		e := object(x)
		at := "Parameters.parameter[" + strconv.Itoa(i) + "]"
		n := str(e["name"])
		if !known(n) {
			return nil, unknown(n, at)
		}
		if _, dup := p[n]; dup {
			return nil, outcome.BadRequest("The parameter %s is given more than once.", n).At(at)
		}
		v, ok := primitive(e)
		if !ok {
			return nil, outcome.BadRequest("The parameter %s needs a value (valueString, valueCode, valueReference or valueIdentifier).", n).At(at)
		}
		p[n] = v
	}
	return p, nil
}

func primitive(e obj) (string, bool) {
	for k, v := range e {
		if !strings.HasPrefix(k, "value") {
			continue
		}
		switch x := v.(type) {
		case string:
			return x, true
		case json.Number:
			return x.String(), true
		case bool:
			return strconv.FormatBool(x), true
		case map[string]any:
			if ref := str(x["reference"]); ref != "" {
				return ref, true
			}
			if val := str(x["value"]); val != "" { // Identifier
				return val, true
			}
		}
	}
	return "", false
}

func postOnly(w http.ResponseWriter, r *http.Request, op string) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported", "%s changes data and is invoked with POST.", op)
	}
	return nil
}

func cardParameters(c *Card) obj {
	ps := []any{
		obj{"name": "cardId", "valueString": c.CardID},
		obj{"name": "status", "valueCode": c.Status},
		obj{"name": "patient", "valueReference": obj{"reference": "Patient/" + c.Patient}},
	}
	if !c.Issued.IsZero() {
		ps = append(ps, obj{"name": "issued", "valueInstant": c.Issued.UTC().Format(time.RFC3339)})
	}
	if !c.Revoked.IsZero() {
		ps = append(ps, obj{"name": "revoked", "valueInstant": c.Revoked.UTC().Format(time.RFC3339)})
	}
	if c.Static != "" {
		ps = append(ps,
			obj{"name": "staticCode", "valueString": c.Static},
			obj{"name": "staticText", "valueString": PlainText(c.CardID, TypeStatic, time.Time{})},
			obj{"name": "dynamicCode", "valueString": c.Dynamic},
			obj{"name": "dynamicText", "valueString": c.DynamicText},
			obj{"name": "dynamicValidUntil", "valueInstant": c.ValidUntil.UTC().Format(time.RFC3339)},
			obj{"name": "keyId", "valueString": c.KeyID},
		)
	}
	return obj{"resourceType": "Parameters", "parameter": ps}
}

// IssueOperation serves POST [base]/Patient/[id]/$issue-health-card: the
// master Patient's card (issued now, or the active one) with a static and
// a fresh dynamic code, as Parameters (cardId, status, patient, issued,
// staticCode, staticText, dynamicCode, dynamicText, dynamicValidUntil,
// keyId). 200 both when a card was issued and for an existing one: the
// answer is the operation's Parameters, not a created resource (the card
// is an identifier on the master, which the answer names).
func (s *Service) IssueOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if err := postOnly(w, r, "$issue-health-card"); err != nil {
		return err
	}
	if id == "" {
		return outcome.NotSupported("$issue-health-card is an instance operation: POST [base]/Patient/[id]/$issue-health-card.")
	}
	if _, err := readParams(r); err != nil {
		return err
	}
	c, err := s.Issue(r.Context(), id)
	if err != nil {
		return err
	}
	return respond.Resource(w, r, http.StatusOK, cardParameters(c))
}

// RevokeOperation serves POST [base]/Patient/[id]/$revoke-health-card
// (optional input reason): the card's codes are refused from now on.
func (s *Service) RevokeOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if err := postOnly(w, r, "$revoke-health-card"); err != nil {
		return err
	}
	if id == "" {
		return outcome.NotSupported("$revoke-health-card is an instance operation: POST [base]/Patient/[id]/$revoke-health-card.")
	}
	p, err := readParams(r, "reason")
	if err != nil {
		return err
	}
	c, err := s.Revoke(r.Context(), id, p["reason"])
	if err != nil {
		return err
	}
	return respond.Resource(w, r, http.StatusOK, cardParameters(c))
}

// QROperation serves GET [base]/Patient/[id]/$health-card-qr with
// code=static|dynamic (default dynamic) and format=png|svg (default png):
// the QR image of a freshly signed code of the active card. The image
// encodes the compact token; the X-Health-Card-Valid-Until header gives a
// dynamic code's expiry.
func (s *Service) QROperation(w http.ResponseWriter, r *http.Request, id string) error {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported", "$health-card-qr is read with GET.")
	}
	if id == "" {
		return outcome.NotSupported("$health-card-qr is an instance operation: GET [base]/Patient/[id]/$health-card-qr.")
	}
	q := r.URL.Query()
	kind, format := q.Get("code"), q.Get("format")
	if kind == "" {
		kind = "dynamic"
	}
	if format == "" {
		format = "png"
	}
	if kind != "static" && kind != "dynamic" {
		return outcome.BadRequest("code must be static or dynamic, not %q.", kind).At("code")
	}
	if format != "png" && format != "svg" {
		return outcome.BadRequest("format must be png or svg, not %q.", format).At("format")
	}
	c, err := s.Codes(r.Context(), id)
	if err != nil {
		return err
	}
	text := c.Static
	if kind == "dynamic" {
		text = c.Dynamic
		w.Header().Set("X-Health-Card-Valid-Until", c.ValidUntil.UTC().Format(time.RFC3339))
	}
	var img []byte
	if format == "png" {
		img, err = QRPNG(text, 0)
		w.Header().Set("Content-Type", "image/png")
	} else {
		img, err = QRSVG(text)
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(img)
	return err
}

// ResolveOperation serves POST [base]/Patient/$resolve-health-card with
// inputs code (the scanned token), institution (Organization/<id> as
// valueReference or valueString, or the institution code as valueString,
// valueCode or valueIdentifier), and optional channel and careStep. The
// answer is Parameters: patient (the master Patient resource), master
// (its reference), localPatient (the institution's record), mrn
// (valueIdentifier), created (valueBoolean), cardId, codeType (static or
// dynamic), institution, city.
func (s *Service) ResolveOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if err := postOnly(w, r, "$resolve-health-card"); err != nil {
		return err
	}
	if id != "" {
		return outcome.NotSupported("$resolve-health-card is a type-level operation: POST [base]/Patient/$resolve-health-card.")
	}
	p, err := readParams(r, "code", "institution", "channel", "careStep")
	if err != nil {
		return err
	}
	res, err := s.Resolve(r.Context(), ResolveRequest{Code: p["code"], Institution: p["institution"], Channel: p["channel"], CareStep: p["careStep"]})
	if err != nil {
		return err
	}
	codeType := "dynamic"
	if res.Code.Type == TypeStatic {
		codeType = "static"
	}
	out := obj{"resourceType": "Parameters", "parameter": []any{
		obj{"name": "patient", "resource": res.Master},
		obj{"name": "master", "valueReference": obj{"reference": "Patient/" + str(res.Master["id"])}},
		obj{"name": "localPatient", "valueReference": obj{"reference": "Patient/" + res.Local}},
		obj{"name": "mrn", "valueIdentifier": obj{"system": res.MRNSystem, "value": res.MRN}},
		obj{"name": "created", "valueBoolean": res.Created},
		obj{"name": "cardId", "valueString": res.Code.CardID},
		obj{"name": "codeType", "valueCode": codeType},
		obj{"name": "institution", "valueReference": obj{"reference": "Organization/" + str(res.Institution["id"]), "display": str(res.Institution["name"])}},
	}}
	if res.City != "" {
		out["parameter"] = append(list(out["parameter"]), obj{"name": "city", "valueCode": res.City})
	}
	return respond.Resource(w, r, http.StatusOK, out)
}

// UsageOperation serves GET [base]/AuditEvent/$health-card-usage: use
// counts grouped by the dimensions of by (comma-separated; default
// institution,city,channel,month,event), filtered by from and to (dates
// or instants; from inclusive, to exclusive), city, institution (code)
// and event. The answer is Parameters (total, then one group per row with
// its dimensions and count), or CSV with _format=csv or Accept: text/csv.
func (s *Service) UsageOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported", "$health-card-usage is read with GET.")
	}
	p, err := readParams(r, "from", "to", "city", "institution", "event", "by", "_format")
	if err != nil {
		return err
	}
	q := UsageQuery{City: p["city"], Institution: p["institution"], Event: p["event"]}
	for _, n := range []string{"from", "to"} {
		if v := p[n]; v != "" {
			t, err := parseTime(v, s.cfg.Zone)
			if err != nil {
				return outcome.BadRequest("%s must be a date (2026-11-01) or an instant (2026-11-01T08:00:00+08:00), not %q.", n, v).At(n)
			}
			if n == "from" {
				q.From = t
			} else {
				q.To = t
			}
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return outcome.BadRequest("from (%s) must be before to (%s): to is exclusive, so from=2026-12-01&to=2026-12-02 counts one day.", p["from"], p["to"]).At("from")
	}
	if c := q.City; c != "" && CityCode(c) != c {
		return outcome.BadRequest("city must be a prefecture-level GB/T 2260 code of six digits ending in 00 (131000 廊坊市, 120100 天津市), not %q.", c).At("city")
	}
	if e := q.Event; e != "" && eventNames[e] == "" {
		return outcome.BadRequest("event must be issue, revoke or resolve, not %q.", e).At("event")
	}
	if v := p["by"]; v != "" {
		q.By = strings.Split(v, ",")
	}
	rows, err := s.Usage(r.Context(), q)
	if err != nil {
		return outcome.BadRequest("%v", err).At("by")
	}
	if len(q.By) == 0 {
		q.By = []string{"institution", "city", "channel", "month", "event"}
	}
	total := 0
	for _, row := range rows {
		total += row.Count
	}
	if wantsCSV(r, p["_format"]) {
		return writeUsageCSV(w, q.By, rows)
	}
	ps := []any{obj{"name": "total", "valueInteger": number(int64(total))}}
	for _, row := range rows {
		var parts []any
		for _, d := range q.By {
			switch d {
			case "institution":
				if row.Institution == "" {
					parts = append(parts, obj{"name": "institution", "valueString": "(none)"})
					continue
				}
				parts = append(parts, obj{"name": "institution", "valueReference": obj{"reference": row.InstitutionRef, "display": row.InstitutionName,
					"identifier": obj{"system": SystemInstitutionCode, "value": row.Institution}}})
			case "month":
				parts = append(parts, obj{"name": d, "valueString": orNone(row.Month)})
			default:
				parts = append(parts, obj{"name": d, "valueCode": orNone(row.Key(d))})
			}
		}
		parts = append(parts, obj{"name": "count", "valueInteger": number(int64(row.Count))})
		ps = append(ps, obj{"name": "group", "part": parts})
	}
	return respond.Resource(w, r, http.StatusOK, obj{"resourceType": "Parameters", "parameter": ps})
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func wantsCSV(r *http.Request, format string) bool {
	if format != "" {
		return format == "csv" || format == "text/csv"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/csv")
}

func writeUsageCSV(w http.ResponseWriter, by []string, rows []UsageRow) error {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	var head []string
	for _, d := range by {
		if d == "institution" {
			head = append(head, "institution_code", "institution_name")
		} else {
			head = append(head, d)
		}
	}
	cw.Write(append(head, "count"))
	for _, row := range rows {
		var rec []string
		for _, d := range by {
			if d == "institution" {
				rec = append(rec, row.Institution, row.InstitutionName)
			} else {
				rec = append(rec, row.Key(d))
			}
		}
		cw.Write(append(rec, strconv.Itoa(row.Count)))
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf.Bytes())
	return err
}

func parseTime(v string, zone *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01", "2006"} {
		if t, err := time.ParseInLocation(layout, v, zone); err == nil {
			return t, nil
		}
	}
	_, err := url.QueryUnescape(v)
	if err == nil {
		err = errors.New("not a date")
	}
	return time.Time{}, err
}

// KeysHandler serves the published verifying keys as a JWKS document
// (GET /.well-known/health-card-keys). It is public: terminals fetch it to
// verify codes offline.
func (s *Service) KeysHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(s.keys.JWKS())
	})
}
