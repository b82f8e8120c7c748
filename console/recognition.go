package console

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/xietong/xietong/search"
)

// Recognition (检查检验结果互认) in the clinician workspace: the check before
// ordering (Patient/$recognition-check) and the recorded decision (a Task
// the recognition engine checks when it is written), both through the API.

const (
	csRecognition = "https://xietong.dev/fhir/CodeSystem/recognition"
	csRecItem     = "https://xietong.dev/fhir/CodeSystem/recognition-item"
	csRecProg     = "https://xietong.dev/fhir/CodeSystem/recognition-programme"
	csRetest      = "https://xietong.dev/fhir/CodeSystem/recognition-retest-reason"
)

// retestReasons are the codes of the nine official reasons to re-test
// (国卫医发〔2022〕6号); their texts are in the catalogue (retest.N).
var retestReasons = []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}

type checkItem struct{ Code, Name string }

// recognitionItems lists the catalogue's items (ActivityDefinitions coded
// in the recognition-item system) for the check form.
func (c *Console) recognitionItems(r *http.Request, v *view) ([]checkItem, error) {
	defs, _, _, err := c.fhir.search(r.Context(), v.Principal, "ActivityDefinition", url.Values{"_count": {"1000"}, "_elements": {"code,title,name"}})
	if err != nil {
		return nil, err
	}
	var out []checkItem
	seen := map[string]bool{}
	for _, d := range defs {
		code, display := codingIn(d["code"], csRecItem)
		if code == "" || seen[code] {
			continue
		}
		seen[code] = true
		name := str(d["title"])
		if name == "" {
			name = display
		}
		out = append(out, checkItem{Code: code, Name: name})
	}
	slices.SortFunc(out, func(a, b checkItem) int { return strings.Compare(a.Code, b.Code) })
	return out, nil
}

type checkData struct {
	PatientID, PatientName string
	Query                  string
	Items                  []checkItem // the catalogue items the query named
	Recognisable           bool
	Prior, Rejected        []priorView
	Reasons                []string // why nothing is recognisable
	Programme              string
	RetestReasons          []string
	CanDecide              bool
}

type priorView struct {
	Ref, Issuer, Date, Value, Reason, Programme string
	DaysLeft                                    int
}

// handleCheck runs the check for one item at the user's institution.
func (c *Console) handleCheck(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "check.title", "patients"
	id := r.PathValue("id")
	item := strings.TrimSpace(r.URL.Query().Get("item"))
	if !search.ValidID(id) {
		return "", &pageError{Status: http.StatusNotFound, Key: "error.notfound"}
	}
	if !v.Caps.Has("Patient/$recognition-check") {
		return "", &pageError{Status: http.StatusNotFound, Key: "check.none"}
	}
	if v.Principal.Organization == "" {
		return "", badInput("check.needinstitution")
	}
	if item == "" || len(item) > 200 {
		return "", badInput("check.needitem")
	}
	p, err := c.fhir.get(r.Context(), v.Principal, "/Patient/"+id, url.Values{"_elements": {"name"}})
	if err != nil {
		return "", err
	}
	res, err := c.fhir.get(r.Context(), v.Principal, "/Patient/"+id+"/$recognition-check", url.Values{
		"orderer": {"Organization/" + v.Principal.Organization}, "item": {item}, "date": {time.Now().Format(time.RFC3339)},
	})
	if err != nil {
		return "", err
	}
	d := &checkData{PatientID: id, PatientName: humanName(p["name"]), Query: item, RetestReasons: retestReasons, CanDecide: v.Can("decide")}
	v.Data = d
	for _, prm := range list(res["parameter"]) {
		for _, part := range list(object(prm)["part"]) {
			po := object(part)
			switch str(po["name"]) {
			case "item":
				cd := object(po["valueCoding"])
				d.Items = append(d.Items, checkItem{Code: str(cd["code"]), Name: str(cd["display"])})
			case "recognisable":
				d.Recognisable = po["valueBoolean"] == true
			case "prior", "rejected":
				pv := priorOf(v.Lang, list(po["part"]))
				if str(po["name"]) == "prior" {
					d.Prior = append(d.Prior, pv)
					if d.Programme == "" {
						d.Programme = pv.Programme
					}
				} else {
					d.Rejected = append(d.Rejected, pv)
				}
			case "reason":
				cd := object(po["valueCoding"])
				d.Reasons = append(d.Reasons, whyText(v.Lang, str(cd["code"]), str(cd["display"])))
			}
		}
	}
	return "check", nil
}

func priorOf(lang string, parts []any) priorView {
	var pv priorView
	for _, x := range parts {
		po := object(x)
		switch str(po["name"]) {
		case "reference":
			pv.Ref = str(object(po["valueReference"])["reference"])
		case "issuer":
			pv.Issuer = str(object(po["valueReference"])["display"])
		case "date":
			pv.Date = str(po["valueDateTime"])
		case "value":
			pv.Value = str(po["valueString"])
		case "daysLeft":
			pv.DaysLeft = int(num(po["valueInteger"]))
		case "programme":
			pv.Programme = str(object(po["valueCoding"])["code"])
		case "reason":
			cd := object(po["valueCoding"])
			pv.Reason = whyText(lang, str(cd["code"]), str(cd["display"]))
		}
	}
	return pv
}

// whyText says the engine's reason code (CodeSystem recognition-reason,
// recognition.WhyText) in the page's language ("why."+code), and a code
// it does not know in the engine's own words.
func whyText(lang, code, display string) string {
	if m, ok := catalogue["why."+code]; ok {
		return m.text(lang)
	}
	return cmpOr(display, code)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var priorRefRe = func(s string) bool {
	typ, id, ok := strings.Cut(s, "/")
	return ok && (typ == "Observation" || typ == "DiagnosticReport") && search.ValidID(id)
}

// handleDecision records the clinician's decision as a recognition
// decision Task: accept a prior result (no new test) or re-test with one
// of the nine reasons and a note. The engine rejects an incomplete one
// with 400, which the page shows.
func (c *Console) handleDecision(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "check.title", "patients"
	id := r.PathValue("id")
	if !search.ValidID(id) {
		return "", &pageError{Status: http.StatusNotFound, Key: "error.notfound"}
	}
	if err := r.ParseForm(); err != nil {
		return "", badInput("error.form")
	}
	f := r.PostForm
	if v.Principal.Organization == "" {
		return "", badInput("check.needinstitution")
	}
	item, prog, decision := f.Get("item"), f.Get("programme"), f.Get("decision")
	if item == "" || len(item) > 100 || len(prog) > 100 {
		return "", badInput("check.needitem")
	}
	input := []any{obj{"type": obj{"coding": []any{obj{"system": csRecognition, "code": "item"}}}, "valueCoding": obj{"system": csRecItem, "code": item}}}
	if prog != "" {
		input = append(input, obj{"type": obj{"coding": []any{obj{"system": csRecognition, "code": "programme"}}}, "valueCoding": obj{"system": csRecProg, "code": prog}})
	}
	for _, p := range f["prior"] {
		if !priorRefRe(p) {
			return "", badInput("error.form")
		}
		input = append(input, obj{"type": obj{"coding": []any{obj{"system": csRecognition, "code": "prior-result"}}}, "valueReference": obj{"reference": p}})
	}
	task := obj{
		"resourceType": "Task",
		"status":       "completed",
		"intent":       "order",
		"code":         obj{"coding": []any{obj{"system": csRecognition, "code": "decision"}}},
		"for":          obj{"reference": "Patient/" + id},
		"requester":    obj{"reference": "Organization/" + v.Principal.Organization},
		"authoredOn":   time.Now().Format(time.RFC3339),
		"input":        input,
	}
	switch decision {
	case "accept":
		accepted := f.Get("accepted")
		if !priorRefRe(accepted) {
			return "", badInput("check.needprior")
		}
		task["businessStatus"] = obj{"coding": []any{obj{"system": csRecognition, "code": "accepted"}}}
		task["focus"] = obj{"reference": accepted}
	case "retest":
		reason, note := f.Get("reason"), strings.TrimSpace(f.Get("note"))
		if !slices.Contains(retestReasons, reason) || note == "" || len(note) > 1000 {
			return "", badInput("check.needreason")
		}
		task["businessStatus"] = obj{"coding": []any{obj{"system": csRecognition, "code": "retest"}}}
		task["reasonCode"] = obj{"coding": []any{obj{"system": csRetest, "code": reason}}, "text": note}
	default:
		return "", badInput("error.form")
	}
	if _, err := c.fhir.do(r.Context(), v.Principal, http.MethodPost, "/Task", nil, task); err != nil {
		return "", err
	}
	http.Redirect(w, r, "/patients/"+id+"?"+url.Values{"decided": {decision}}.Encode(), http.StatusSeeOther)
	return "", nil
}

// --- statistics on the commission dashboard --------------------------------

type recognitionStats struct {
	Eligible, Recognised, Retest, Avoided int
	Saved                                 float64
	Rate                                  float64 // recognised / eligible
	Months                                []recognitionMonth
	Chart                                 template.HTML
}

type recognitionMonth struct {
	Month                        string
	Eligible, Recognised, Retest int
	Saved                        float64
}

// recognitionStats reads the engine's MeasureReport
// (MeasureReport/$recognition-stats): the totals and the month stratifier.
func (c *Console) recognitionStats(r *http.Request, v *view) (*recognitionStats, error) {
	mr, err := c.fhir.get(r.Context(), v.Principal, "/MeasureReport/$recognition-stats", nil)
	if err != nil {
		return nil, err
	}
	s := &recognitionStats{}
	months := map[string]*recognitionMonth{}
	month := func(k string) *recognitionMonth {
		if months[k] == nil {
			months[k] = &recognitionMonth{Month: k}
		}
		return months[k]
	}
	for _, g := range list(mr["group"]) {
		go_ := object(g)
		code, _ := codingIn(go_["code"], csRecognition)
		total := num(object(go_["measureScore"])["value"])
		for _, st := range list(go_["stratifier"]) {
			so := object(st)
			if conceptText(firstObject(so["code"])) != "month" {
				continue
			}
			for _, x := range list(so["stratum"]) {
				xo := object(x)
				m, val := month(conceptText(xo["value"])), num(object(xo["measureScore"])["value"])
				switch code {
				case "eligible":
					m.Eligible = int(val)
				case "recognised":
					m.Recognised = int(val)
				case "retest":
					m.Retest = int(val)
				case "cost-saved":
					m.Saved = val
				}
			}
		}
		switch code {
		case "eligible":
			s.Eligible = int(total)
		case "recognised":
			s.Recognised = int(total)
		case "retest":
			s.Retest = int(total)
		case "avoided":
			s.Avoided = int(total)
		case "cost-saved":
			s.Saved = total
		}
	}
	if s.Eligible > 0 {
		s.Rate = float64(s.Recognised) / float64(s.Eligible)
	}
	for _, m := range months {
		s.Months = append(s.Months, *m)
	}
	slices.SortFunc(s.Months, func(a, b recognitionMonth) int { return strings.Compare(a.Month, b.Month) })
	labels := make([]string, len(s.Months))
	rec, ret := make([]float64, len(s.Months)), make([]float64, len(s.Months))
	for i, m := range s.Months {
		labels[i], rec[i], ret[i] = m.Month, float64(m.Recognised), float64(m.Retest)
	}
	s.Chart = barChart("chart-recognition", msg(v.Lang, "recog.title"), labels,
		[]series{{msg(v.Lang, "recog.recognised"), rec}, {msg(v.Lang, "recog.retest"), ret}}, intFormat)
	return s, nil
}

// recognitionCSV passes the engine's own CSV export through.
func (c *Console) recognitionCSV(w http.ResponseWriter, r *http.Request, v *view) error {
	rec, err := c.fhir.raw(r.Context(), v.Principal, http.MethodGet, "/MeasureReport/$recognition-stats", url.Values{"_format": {"csv"}}, nil)
	if err != nil {
		return err
	}
	if rec.status != http.StatusOK {
		_, err := rec.decode(http.MethodGet, "$recognition-stats")
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="recognition.csv"`)
	w.Write(rec.body.Bytes())
	return nil
}

// --- the catalogue (read for everyone) ---------------------------------------

type catalogueRow struct {
	ID, Programme, Code, Name, Category, Specimen, MinGrade string
	WindowDays                                              int
	Price                                                   float64
	EQA                                                     bool
}

const extRecItem = "https://xietong.dev/fhir/StructureDefinition/recognition-item"

// handleCatalogue lists the recognition programmes' items with their
// windows, prices and qualification rules (ActivityDefinitions).
func (c *Console) handleCatalogue(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "catalogue.title", "catalogue"
	defs, _, _, err := c.fhir.search(r.Context(), v.Principal, "ActivityDefinition", url.Values{"_count": {"1000"}})
	if err != nil {
		return "", err
	}
	var rows []catalogueRow
	for _, d := range defs {
		if row := catalogueRowOf(d); row.Code != "" {
			rows = append(rows, row)
		}
	}
	slices.SortFunc(rows, func(a, b catalogueRow) int {
		if a.Programme != b.Programme {
			return strings.Compare(a.Programme, b.Programme)
		}
		return strings.Compare(a.Code, b.Code)
	})
	v.Data = rows
	return "catalogue", nil
}

// catalogueRowOf reads an item's ActivityDefinition; Code is "" when it
// is not a recognition item.
func catalogueRowOf(d obj) catalogueRow {
	code, _ := codingIn(d["code"], csRecItem)
	row := catalogueRow{ID: str(d["id"]), Code: code, Name: str(d["title"]), Category: firstCode(d["topic"], "")}
	for _, uc := range list(d["useContext"]) {
		if p, _ := codingIn(object(uc)["valueCodeableConcept"], csRecProg); p != "" {
			row.Programme = p
		}
	}
	for _, e := range list(d["extension"]) {
		if str(object(e)["url"]) != extRecItem {
			continue
		}
		for _, x := range list(object(e)["extension"]) {
			xo := object(x)
			switch str(xo["url"]) {
			case "windowDays":
				row.WindowDays = int(num(xo["valueInteger"]))
			case "price":
				row.Price = num(object(xo["valueMoney"])["value"])
			case "eqa":
				row.EQA = xo["valueBoolean"] == true
			case "specimen":
				row.Specimen = str(xo["valueString"])
			case "minGrade":
				row.MinGrade = str(xo["valueString"])
			}
		}
	}
	return row
}
