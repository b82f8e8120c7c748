package recognition

import (
	"time"

	"github.com/xietong/xietong/fhir/outcome"
)

// RetestReasons are the nine official reasons to re-test despite a result
// that qualifies (国卫医发〔2022〕6号), codes "1" to "9" of csRetry.
var RetestReasons = []struct{ Code, Zh, En string }{
	{"1", "病情变化或结果与临床不符", "The condition has changed, or the result no longer fits the clinical picture"},
	{"2", "检查检验项目随病程进展变化较快", "The value changes quickly as the disease progresses"},
	{"3", "重大医疗措施前（手术、输血等）", "A major intervention is coming (surgery, transfusion)"},
	{"4", "急诊、急救、抢救", "Emergency or resuscitation"},
	{"5", "司法、伤残及病退等鉴定", "Forensic, disability or sick-retirement assessment"},
	{"6", "患者或其亲属要求复查", "The patient or family asks for a re-test"},
	{"7", "出具结果的机构未通过室间质评", "The issuing laboratory failed the external quality assessment"},
	{"8", "时间过久失去参考意义", "Too much time has passed for the result to be useful"},
	{"9", "经治医师认为有必要复查", "The treating physician judges a re-test necessary"},
}

func retestReason(code string) (string, bool) {
	for _, r := range RetestReasons {
		if r.Code == code {
			return r.En, true
		}
	}
	return "", false
}

// Decision is the clinician's recorded decision at the point of ordering,
// kept as a Task (decision 011):
//
//	code            csKind|decision
//	status          completed; intent: order
//	businessStatus  csKind|accepted (prior result accepted, no new test) or csKind|retest
//	for             the Patient; requester: the ordering Organization
//	authoredOn      when
//	focus           the accepted prior result (Observation or DiagnosticReport)
//	reasonCode      re-test: csRetry|1..9 with the free text in text
//	input           item (valueCoding csItem), programme (valueCoding csProg),
//	                prior-result (valueReference, each recognisable result the check showed)
//
// A re-test without one of the nine reasons and its free text, an accept
// without the prior result, or a Task naming no item, patient or orderer
// is rejected with 400 before it is stored.
type Decision struct {
	ID        string
	Patient   string // Patient id
	Orderer   string // Organization id
	Item      string // item code
	Programme string // "" when not recorded
	Date      time.Time
	Accepted  bool
	Prior     string   // accepted result, "Observation/id"
	Eligible  []string // recognisable prior results shown ("Type/id")
	Reason    string   // re-test reason code, "1".."9"
	Note      string   // the re-test's free text
}

// Resource is the Task of d (without id when d.ID is "").
func (d Decision) Resource() map[string]any {
	t := obj{
		"resourceType": "Task",
		"status":       "completed",
		"intent":       "order",
		"code":         obj{"coding": []any{coding(csKind, "decision", "Recognition decision")}},
		"for":          obj{"reference": "Patient/" + d.Patient},
		"requester":    obj{"reference": "Organization/" + d.Orderer},
		"authoredOn":   d.Date.Format(time.RFC3339),
	}
	if d.ID != "" {
		t["id"] = d.ID
	}
	input := []any{obj{"type": obj{"coding": []any{coding(csKind, "item", "")}}, "valueCoding": coding(csItem, d.Item, "")}}
	if d.Programme != "" {
		input = append(input, obj{"type": obj{"coding": []any{coding(csKind, "programme", "")}}, "valueCoding": coding(csProg, d.Programme, "")})
	}
	for _, p := range d.Eligible {
		input = append(input, obj{"type": obj{"coding": []any{coding(csKind, "prior-result", "")}}, "valueReference": obj{"reference": p}})
	}
	t["input"] = input
	if d.Accepted {
		t["businessStatus"] = obj{"coding": []any{coding(csKind, "accepted", "Prior result accepted")}}
		t["focus"] = obj{"reference": d.Prior}
	} else {
		t["businessStatus"] = obj{"coding": []any{coding(csKind, "retest", "Re-test")}}
		en, _ := retestReason(d.Reason)
		t["reasonCode"] = obj{"coding": []any{coding(csRetry, d.Reason, en)}, "text": d.Note}
	}
	return t
}

// parseDecision reads and checks a decision Task (see Decision).
func (e *Engine) parseDecision(res map[string]any) (Decision, error) {
	bad := func(path, format string, args ...any) (Decision, error) {
		return Decision{}, outcome.BadRequest("recognition decision: "+format, args...).At(path)
	}
	d := Decision{Patient: refID(res["for"], "Patient"), Orderer: refID(res["requester"], "Organization")}
	if d.Patient == "" {
		return bad("Task.for", "Task.for must reference the Patient.")
	}
	if d.Orderer == "" {
		return bad("Task.requester", "Task.requester must reference the ordering Organization.")
	}
	t, ok := parseDate(str(res, "authoredOn"), e.loc)
	if !ok {
		return bad("Task.authoredOn", "Task.authoredOn (when the decision was made) is required.")
	}
	d.Date = t
	for _, in := range list(res, "input") {
		im := mapOf(in)
		switch codeIn(im["type"], csKind) {
		case "item":
			d.Item = str(mapOf(im["valueCoding"]), "code")
		case "programme":
			d.Programme = str(mapOf(im["valueCoding"]), "code")
		case "prior-result":
			if r := str(mapOf(im["valueReference"]), "reference"); r != "" {
				d.Eligible = append(d.Eligible, r)
			}
		}
	}
	if d.Item == "" {
		return bad("Task.input", "an input of type item (valueCoding in %s) naming the catalogue item is required.", csItem)
	}
	switch codeIn(res["businessStatus"], csKind) {
	case "accepted":
		d.Accepted = true
		d.Prior = str(mapOf(res["focus"]), "reference")
		if d.Prior == "" {
			return bad("Task.focus", "an accepted prior result must be named in Task.focus.")
		}
		if len(d.Eligible) == 0 {
			d.Eligible = []string{d.Prior}
		}
	case "retest":
		var rc map[string]any
		for _, r := range list(res, "reasonCode") {
			rc = mapOf(r)
		}
		if rc == nil {
			if m := mapOf(res["reasonCode"]); m != nil {
				rc = m
			}
		}
		d.Reason = codeIn(rc, csRetry)
		if d.Reason == "" {
			return bad("Task.reasonCode", "a re-test needs one of the nine official reasons (Task.reasonCode, system %s, codes 1-9) and free text.", csRetry)
		}
		if _, ok := retestReason(d.Reason); !ok {
			return bad("Task.reasonCode", "%q is not one of the nine official re-test reasons (codes 1-9).", d.Reason)
		}
		d.Note = str(rc, "text")
		if d.Note == "" {
			return bad("Task.reasonCode.text", "a re-test needs free text explaining the reason (Task.reasonCode.text).")
		}
	default:
		return bad("Task.businessStatus", "Task.businessStatus must be %s|accepted or %s|retest.", csKind, csKind)
	}
	return d, nil
}
