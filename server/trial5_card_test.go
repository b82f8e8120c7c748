package server_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// A resident registered twice got a card on one of the two masters; a
// reviewer then merged the masters, or linked the last record away, and
// the card stopped working: "No patient holds the e-health card … it was
// never issued here". The card is the master's own identifier, and a
// master left without records passed it on to nobody.
func TestTrial5CardSurvivesMergeAndLink(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "card.db"))
	do(t, "PUT", base+"/Patient/d2", fj, withID("d2", pat("440106001", "TH0004", "", "", "陶喆", "male", "1979-11-03", "13711112222"))).wantStatus(t, 201)
	do(t, "PUT", base+"/Patient/d3", fj, withID("d3", pat("440605001", "NH0004", "", "", "陶吉吉", "male", "1979-11-03", ""))).wantStatus(t, 201)
	do(t, "PUT", base+"/Patient/d4", fj, withID("d4", pat("441202001", "ZQ0004", "", "", "陶喆", "male", "1980-11-03", ""))).wantStatus(t, 201)
	do(t, "PUT", base+"/Organization/gz-yx-1", fj, `{"resourceType":"Organization","id":"gz-yx-1","name":"广州越秀人民医院","identifier":[{"system":"https://xietong.dev/fhir/sid/institution-code","value":"440104001"}],`+
		`"address":[{"extension":[{"url":"https://xietong.dev/fhir/StructureDefinition/address-division","valueCoding":{"code":"440104"}}]}]}`).wantStatus(t, 201)
	m2, m3, m4 := masterOf(t, base, "d2"), masterOf(t, base, "d3"), masterOf(t, base, "d4")
	if m2 == m3 || m3 == m4 || m2 == m4 {
		t.Fatalf("the trial wants three masters: %s %s %s", m2, m3, m4)
	}
	issue := func(master string) (card, code string) {
		r := do(t, "POST", base+"/Patient/"+master+"/$issue-health-card", fj, `{"resourceType":"Parameters"}`)
		if r.status >= 300 {
			t.Fatalf("issue: %d %s", r.status, r.body)
		}
		for i := range r.json["parameter"].([]any) {
			switch r.str("parameter", i, "name") {
			case "cardId":
				card = r.str("parameter", i, "valueString")
			case "staticCode":
				code = r.str("parameter", i, "valueString")
			}
		}
		return card, code
	}
	resolve := func(what, code, want string) {
		t.Helper()
		r := do(t, "POST", base+"/Patient/$resolve-health-card", fj, params(`{"name":"code","valueString":"`+code+`"}`, `{"name":"institution","valueString":"440104001"}`))
		if r.status != 200 || !strings.Contains(string(r.body), `"reference":"Patient/`+want+`"`) {
			t.Errorf("%s: the card resolves to %d %s, want master Patient/%s", what, r.status, r.body, want)
		}
	}
	_, code3 := issue(m3)
	do(t, "POST", base+"/Patient/$merge", fj, params(refParam("source-patient", m3), refParam("target-patient", m2))).wantStatus(t, 200)
	resolve("after $merge", code3, m2)
	_, code4 := issue(m4)
	do(t, "POST", base+"/Patient/d4/$link", fj, params(refParam("master", m2))).wantStatus(t, 200)
	resolve("after $link of the last record", code4, m2)
}
