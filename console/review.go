package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/xietong/xietong/search"
)

// The identity review queue (身份审核): the identity stage (empi, decision
// 010) writes a review Task when a new record resembles existing master
// patients but not enough to link it; a person confirms one candidate or
// says the record is none of them, with Task/[id]/$decide, through the
// API. The codes are the engine's published ones, not its Go constants.

const (
	csTaskKind    = "https://xietong.dev/fhir/CodeSystem/task-kind"
	extMatchScore = "https://xietong.dev/fhir/StructureDefinition/empi-match-score"
	extMatchGrade = "http://hl7.org/fhir/StructureDefinition/match-grade"
	// openReview are the Task statuses $decide still accepts.
	openReview = "requested,received,accepted,ready,in-progress,on-hold"
)

type reviewPerson struct {
	ID, Name, Gender, BirthDate, IDNumber, Phone, Address string
	Missing                                               bool // the record could not be read
}

type reviewCandidate struct {
	reviewPerson
	Score float64
	Grade string
}

type reviewTask struct {
	ID, Authored string
	Source       reviewPerson
	Candidates   []reviewCandidate
}

type reviewData struct {
	Tasks     []reviewTask
	Total     int
	Decided   string // link or distinct, after a decision
	CanDecide bool
}

// reviewPersonOf reads one Patient for the side-by-side view; one that is
// gone or refused shows as missing rather than failing the whole queue.
func (c *Console) reviewPersonOf(r *http.Request, v *view, ref string) reviewPerson {
	id := strings.TrimPrefix(ref, "Patient/")
	p := reviewPerson{ID: id}
	if !search.ValidID(id) {
		p.Missing = true
		return p
	}
	res, err := c.fhir.get(r.Context(), v.Principal, "/Patient/"+id, nil)
	if err != nil {
		p.Missing = true
		return p
	}
	p.Name, p.Gender, p.BirthDate = humanName(res["name"]), str(res["gender"]), str(res["birthDate"])
	p.IDNumber = identifier(res, sidResident)
	// A master (golden record) may carry no number of its own: its
	// sources (seealso links) do; the first that has one is shown.
	for i, l := range list(res["link"]) {
		if p.IDNumber != "" || i >= 5 {
			break
		}
		lo := object(l)
		if str(lo["type"]) != "seealso" {
			continue
		}
		sid := refID(lo["other"], "Patient")
		if !search.ValidID(sid) {
			continue
		}
		if src, err := c.fhir.get(r.Context(), v.Principal, "/Patient/"+sid, url.Values{"_elements": {"identifier"}}); err == nil {
			p.IDNumber = identifier(src, sidResident)
		}
	}
	for _, t := range list(res["telecom"]) {
		if str(object(t)["system"]) == "phone" {
			p.Phone = str(object(t)["value"])
			break
		}
	}
	if a := firstObject(res["address"]); a != nil {
		p.Address = str(a["text"])
	}
	return p
}

// handleReview lists the open review Tasks, oldest first, each with its
// source record and candidates side by side.
func (c *Console) handleReview(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "review.title", "review"
	if !v.Caps.Has("Task/$decide") {
		return "", &pageError{Status: http.StatusNotFound, Key: "review.none"}
	}
	tasks, _, total, err := c.fhir.search(r.Context(), v.Principal, "Task", url.Values{
		"code": {csTaskKind + "|identity-review"}, "status": {openReview}, "_count": {"50"}, "_total": {"accurate"},
	})
	if err != nil {
		return "", err
	}
	d := &reviewData{Total: total, CanDecide: v.Can("review")}
	if dec := r.URL.Query().Get("decided"); dec == "link" || dec == "distinct" {
		d.Decided = dec
	}
	for _, t := range tasks {
		rt := reviewTask{ID: str(t["id"]), Authored: str(t["authoredOn"]), Source: c.reviewPersonOf(r, v, str(object(t["focus"])["reference"]))}
		for _, in := range list(t["input"]) {
			io := object(in)
			ref := str(object(io["valueReference"])["reference"])
			if !strings.HasPrefix(ref, "Patient/") {
				continue
			}
			rc := reviewCandidate{reviewPerson: c.reviewPersonOf(r, v, ref)}
			for _, e := range list(io["extension"]) {
				eo := object(e)
				switch str(eo["url"]) {
				case extMatchScore:
					rc.Score = num(eo["valueDecimal"])
				case extMatchGrade:
					rc.Grade = str(eo["valueCode"])
				}
			}
			rt.Candidates = append(rt.Candidates, rc)
		}
		slices.SortStableFunc(rt.Candidates, func(a, b reviewCandidate) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return 0
		})
		d.Tasks = append(d.Tasks, rt)
	}
	slices.SortStableFunc(d.Tasks, func(a, b reviewTask) int { return strings.Compare(a.Authored, b.Authored) })
	if d.Total < len(d.Tasks) {
		d.Total = len(d.Tasks)
	}
	v.Data = d
	return "review", nil
}

// handleReviewDecide confirms a candidate (decision link, master the
// candidate) or rejects them all (distinct) with Task/[id]/$decide. The
// engine checks the Task, the candidate and the ID numbers; its refusals
// (409 decided already, 422 not a candidate) are shown as they come.
func (c *Console) handleReviewDecide(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "review.title", "review"
	id := r.PathValue("id")
	if !search.ValidID(id) {
		return "", &pageError{Status: http.StatusNotFound, Key: "error.notfound"}
	}
	if err := r.ParseForm(); err != nil {
		return "", badInput("error.form")
	}
	decision, master := r.PostForm.Get("decision"), r.PostForm.Get("master")
	params := []any{obj{"name": "decision", "valueCode": decision}}
	switch decision {
	case "link":
		if !search.ValidID(master) {
			return "", badInput("review.needmaster")
		}
		params = append(params, obj{"name": "master", "valueReference": obj{"reference": "Patient/" + master}})
	case "distinct":
	default:
		return "", badInput("error.form")
	}
	body := obj{"resourceType": "Parameters", "parameter": params}
	if _, err := c.fhir.do(r.Context(), v.Principal, http.MethodPost, "/Task/"+id+"/$decide", nil, body); err != nil {
		return "", err
	}
	http.Redirect(w, r, "/review?"+url.Values{"decided": {decision}}.Encode(), http.StatusSeeOther)
	return "", nil
}
