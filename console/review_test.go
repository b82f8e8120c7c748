package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/identity/idnumber"
)

// reviewPatient is a record of an institution, shaped as the identity
// stage's own tests write them.
func reviewPatient(mrn, id, name string) string {
	ids := `{"system":"https://xietong.dev/fhir/sid/mrn/demo-org-110112001","value":"` + mrn + `","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]}}`
	if id != "" {
		ids += `,{"system":"https://xietong.dev/fhir/sid/resident-id","value":"` + id + `"}`
	}
	return `{"resourceType":"Patient","identifier":[` + ids + `],"name":[{"text":"` + name + `"}],"gender":"male","birthDate":"1961-04-19",` +
		`"telecom":[{"system":"phone","value":"13700461919"}],` +
		`"address":[{"use":"home","text":"通州区玉桥中路8号","extension":[{"url":"https://xietong.dev/fhir/StructureDefinition/address-division","valueCoding":{"code":"110112"}}]}]}`
}

// Two brothers: same birth date, phone and address, one with an ID
// number, the other without and with another name. The second lands in
// the review queue; the page shows both side by side, a clinician says
// they are different people, and the Task is completed with that decision.
func TestIdentityReviewQueue(t *testing.T) {
	id := idnumber.Generate("110112", time.Date(1961, 4, 19, 0, 0, 0, 0, time.UTC), 517)
	apiPost(t, "/Patient", reviewPatient("RV-1", id, "司马志远"))
	twin := apiPost(t, "/Patient", reviewPatient("RV-2", "", "司马志强"))["id"].(string)
	tasks := api(t, "/Task?code=https://xietong.dev/fhir/CodeSystem/task-kind|identity-review&focus=Patient/"+twin)
	entries, _ := tasks["entry"].([]any)
	if len(entries) != 1 {
		t.Fatalf("the twin raised %d review Tasks, want 1", len(entries))
	}
	task := entries[0].(map[string]any)["resource"].(map[string]any)
	taskID := task["id"].(string)
	cand := strings.TrimPrefix(task["input"].([]any)[0].(map[string]any)["valueReference"].(map[string]any)["reference"].(string), "Patient/")

	// A viewer sees no review queue in the menu.
	if d := newBrowser(t).as("viewer", "").page("/"); len(d.all("nav a[href=/review]")) != 0 {
		t.Error("the viewer is offered the review queue")
	}

	b := newBrowser(t).as("clinician", "demo-org-110112001")
	d := b.page("/")
	if len(d.all("nav a[href=/review]")) != 1 {
		t.Fatal("the clinician's menu has no review queue")
	}
	d = b.page("/review")
	sec := "section#task-" + taskID
	if got := text(d.one(t, sec+" tr.source td.name")); got != "司马志强" {
		t.Errorf("source name %q", got)
	}
	if got := text(d.one(t, sec+" tr.source td.birth")); got != "1961-04-19" {
		t.Errorf("source birth date %q", got)
	}
	c := d.one(t, sec+" tr.candidate[data-patient="+cand+"]")
	if got := text(c); !strings.Contains(got, "司马志远") || !strings.Contains(got, "1961-04-19") {
		t.Errorf("candidate row %q", got)
	}
	if got, want := text(d.one(t, sec+" tr.candidate[data-patient="+cand+"] td.idnumber")), id[:6]+"********"+id[14:]; got != want {
		t.Errorf("candidate ID number %q, want %q (from the master's source record)", got, want)
	}
	if got := text(d.one(t, sec+" tr.candidate[data-patient="+cand+"] td.score")); got == "" || strings.HasPrefix(got, "0.0") {
		t.Errorf("candidate score %q", got)
	}
	if len(d.all(sec+" form[action=/review/"+taskID+"/decide] button.confirm")) != 1 ||
		len(d.all(sec+" form[action=/review/"+taskID+"/decide] button.reject")) != 1 {
		t.Error("no confirm and reject buttons")
	}

	// Bad forms are explained, and change nothing.
	if resp := b.post("/review/"+taskID+"/decide", url.Values{"decision": {"maybe"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown decision: %d, want 400", resp.StatusCode)
	}
	if resp := b.post("/review/"+taskID+"/decide", url.Values{"decision": {"link"}, "master": {twin}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("link to a non-candidate: %d, want 422", resp.StatusCode)
	}

	resp := b.post("/review/"+taskID+"/decide", url.Values{"decision": {"distinct"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/review?decided=distinct" {
		t.Fatalf("decide: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	done := api(t, "/Task/"+taskID)
	if done["status"] != "completed" {
		t.Errorf("the Task is %v after the decision", done["status"])
	}
	var decision, by string
	for _, o := range done["output"].([]any) {
		oo := o.(map[string]any)
		code := oo["type"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"]
		switch code {
		case "decision":
			decision, _ = oo["valueCode"].(string)
		case "decided-by":
			by, _ = oo["valueString"].(string)
		}
	}
	if decision != "distinct" || by == "" {
		t.Errorf("Task outputs: decision %q by %q", decision, by)
	}
	d = b.page("/review?decided=distinct")
	if len(d.all("section#task-"+taskID)) != 0 {
		t.Error("the decided Task is still in the queue")
	}
	if len(d.all("#review-decided[data-decision=distinct]")) != 1 {
		t.Error("no confirmation of the decision")
	}
	// Deciding again is refused by the engine, and explained.
	if resp := b.post("/review/"+taskID+"/decide", url.Values{"decision": {"link"}, "master": {cand}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("second decision: %d, want 409", resp.StatusCode)
	}
}

// A fresh demo gives the review queue work: the near-duplicate without an
// ID number (demo-dup-000087, a misheard name and a swapped birth date)
// waits there with its resident as the candidate, and the page shows it;
// the ones registered with the ID number were linked to the resident's
// master automatically.
func TestDemoReviewQueueHasWork(t *testing.T) {
	node(t)
	tasks := api(t, "/Task?code=https://xietong.dev/fhir/CodeSystem/task-kind|identity-review&focus=Patient/demo-dup-000087&status=requested,ready,in-progress")
	entries, _ := tasks["entry"].([]any)
	if len(entries) != 1 {
		t.Fatalf("demo-dup-000087 has %d open review Tasks, want 1", len(entries))
	}
	taskID := entries[0].(map[string]any)["resource"].(map[string]any)["id"].(string)
	d := newBrowser(t).as("admin", "").page("/review")
	d.one(t, "section#task-"+taskID+" tr.source")
	if got := text(d.one(t, "section#task-"+taskID+" tr.candidate td.name")); got == "" {
		t.Error("the candidate has no name")
	}
	master := func(id string) string {
		for _, l := range api(t, "/Patient/"+id)["link"].([]any) {
			if lo := l.(map[string]any); lo["type"] == "refer" {
				return lo["other"].(map[string]any)["reference"].(string)
			}
		}
		return ""
	}
	for _, n := range []string{"000007", "000047"} {
		if m, want := master("demo-dup-"+n), master("demo-pat-"+n); m == "" || m != want {
			t.Errorf("demo-dup-%s belongs to %q, the resident to %q: want linked", n, m, want)
		}
	}
}
