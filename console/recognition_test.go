package console_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func retests(t *testing.T, b *browser) int {
	t.Helper()
	d := b.page("/commission")
	n, err := strconv.Atoi(strings.ReplaceAll(text(d.one(t, "#recog-retest")), ",", ""))
	if err != nil {
		t.Fatalf("retest figure: %v", err)
	}
	return n
}

func TestRecognitionCheckAndDecision(t *testing.T) {
	commission := newBrowser(t).as("commission", "")
	before := retests(t, commission)

	b := newBrowser(t).as("clinician", "demo-org-110112001")
	d := b.page("/patients/demo-pat-000001")
	if n := len(d.all("#check-form select#check-item option")); n < 40 {
		t.Fatalf("check form offers %d catalogue items", n)
	}
	c := b.page("/patients/demo-pat-000001/check?item=AFP")
	res := c.one(t, "#check-result")
	if v, _ := attr(res, "data-recognisable"); v != "false" && v != "true" {
		t.Fatalf("check result %q", text(res))
	}
	c.one(t, "form#decision-form")
	prog, _ := attr(c.one(t, "#decision-form input[name=programme]"), "value")
	item, _ := attr(c.one(t, "#decision-form input[name=item]"), "value")
	if item != "AFP" {
		t.Errorf("decision form item %q", item)
	}
	// a re-test needs one of the nine reasons and a note
	if resp := b.post("/patients/demo-pat-000001/decision", url.Values{"item": {item}, "programme": {prog}, "decision": {"retest"}, "reason": {"9"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("re-test without a note: %d, want 400", resp.StatusCode)
	}
	if resp := b.post("/patients/demo-pat-000001/decision", url.Values{"item": {item}, "decision": {"accept"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("accept without a prior result: %d, want 400", resp.StatusCode)
	}
	resp := b.post("/patients/demo-pat-000001/decision", url.Values{"item": {item}, "programme": {prog}, "decision": {"retest"}, "reason": {"9"}, "note": {"复查以排除进展"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("record the decision: %d", resp.StatusCode)
	}
	b.page(resp.Header.Get("Location")).one(t, "#decided")
	if after := retests(t, commission); after != before+1 {
		t.Errorf("re-tests on the dashboard: %d before, %d after one decision", before, after)
	}
	// the decision is a Task in the API
	if n := apiTotal(t, "/Task?patient=demo-pat-000001&_summary=count"); n < 1 {
		t.Errorf("no decision Task for the patient")
	}
	// the commission sees the engine's own CSV
	if status, body, _ := commission.get("/commission/recognition.csv"); status != 200 || !strings.Contains(body, ",") {
		t.Errorf("recognition.csv: %d %.200s", status, body)
	}
	// a check needs an item and an institution
	if status, _, _ := b.get("/patients/demo-pat-000001/check"); status != http.StatusBadRequest {
		t.Errorf("check without an item: %d", status)
	}
	if status, _, _ := newBrowser(t).as("clinician", "").get("/patients/demo-pat-000001/check?item=K"); status != http.StatusBadRequest {
		t.Errorf("check without an institution: %d", status)
	}
}

func TestRecognitionCatalogue(t *testing.T) {
	b := newBrowser(t).as("viewer", "")
	d := b.page("/recognition")
	rows := d.all("#catalogue tbody tr")
	if want := apiTotal(t, "/ActivityDefinition?_summary=count"); len(rows) != want || want == 0 {
		t.Fatalf("catalogue shows %d items, the API has %d", len(rows), want)
	}
	found := false
	for _, r := range rows {
		f := strings.Fields(text(r))
		found = found || (len(f) > 4 && f[1] == "K" && f[2] == "钾" && f[4] == "7")
	}
	if !found {
		t.Error("potassium (K, 7-day window) not in the catalogue page")
	}
}

// The demo region's programme memberships and EQA passes qualify its
// hospitals and lab, so their results carry the HR mark once the
// catalogue is in (the remark normally runs in the background; it is
// asked for here so the test does not wait).
func TestDemoResultsCarryTheRecognitionMark(t *testing.T) {
	node(t)
	apiPost(t, "/Observation/$recognition-remark", `{"resourceType":"Parameters"}`)
	marked := apiTotal(t, "/Observation?_tag=https://xietong.dev/fhir/CodeSystem/recognition-mark|HR&_summary=count")
	all := apiTotal(t, "/Observation?_summary=count")
	if marked == 0 || marked >= all {
		t.Errorf("%d of %d demo results carry the HR mark; want some, not all", marked, all)
	}
}
