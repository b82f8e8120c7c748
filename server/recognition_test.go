package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/internal/sharedtest"
	"github.com/xietong/xietong/recognition"
	"github.com/xietong/xietong/server"
)

const fhirJSON = "application/fhir+json"

// recogCatalogue: three programmes (京津冀 lab with a 7-day window for K,
// a city's own lab list with a 3-day window for K, the imaging list), the
// memberships and EQA results of the scenario.
const recogCatalogue = `{
 "programmes": [
  {"code": "jjj-lab", "name": "京津冀检验结果互认", "items": [
    {"code": "K", "name": "钾", "nameEn": "Potassium", "category": "biochemistry", "codes": ["http://loinc.org|2823-3", "http://loinc.org|6298-4"], "windowDays": 7, "price": 5, "eqa": true},
    {"code": "Glu", "name": "葡萄糖", "category": "biochemistry", "codes": ["http://loinc.org|2339-0"], "windowDays": 30, "price": 4, "eqa": true},
    {"code": "ALT", "name": "丙氨酸氨基转移酶", "category": "biochemistry", "codes": ["http://loinc.org|1742-6"], "windowDays": 30, "price": 5, "eqa": false}]},
  {"code": "lf-lab", "name": "廊坊市检验结果互认", "items": [
    {"code": "K", "name": "钾", "category": "biochemistry", "codes": ["http://loinc.org|6298-4"], "windowDays": 3, "price": 6, "eqa": false}]},
  {"code": "jjj-imaging", "name": "京津冀影像共享", "items": [
    {"code": "CT-CHEST", "name": "胸部CT平扫", "category": "ct", "codes": ["http://loinc.org|24627-2"], "windowDays": 180, "price": 300, "minGrade": "2", "eqa": false}]}
 ],
 "members": [
  {"programme": "jjj-lab", "organization": "rA", "from": "2025-01-01T00:00:00Z"},
  {"programme": "lf-lab", "organization": "rA", "from": "2025-01-01T00:00:00Z"},
  {"programme": "jjj-imaging", "organization": "rA", "from": "2025-01-01T00:00:00Z"},
  {"programme": "jjj-lab", "organization": "rB", "from": "2025-01-01T00:00:00Z"},
  {"programme": "jjj-imaging", "organization": "rB", "from": "2025-01-01T00:00:00Z"},
  {"programme": "jjj-lab", "organization": "rD", "from": "2025-01-01T00:00:00Z", "to": "2026-09-30T00:00:00Z"},
  {"programme": "jjj-lab", "organization": "rE", "from": "2025-01-01T00:00:00Z"},
  {"programme": "jjj-imaging", "organization": "rG", "from": "2025-01-01T00:00:00Z"},
  {"programme": "lf-lab", "organization": "rH", "from": "2025-01-01T00:00:00Z"}
 ],
 "eqa": [
  {"organization": "rA", "item": "K", "year": 2026, "date": "2026-04-15T00:00:00Z", "passed": true},
  {"organization": "rA", "item": "Glu", "year": 2026, "date": "2026-04-15T00:00:00Z", "passed": true},
  {"organization": "rC", "item": "Glu", "year": 2026, "date": "2026-04-15T00:00:00Z", "passed": true},
  {"organization": "rE", "item": "K", "year": 2026, "date": "2026-04-15T00:00:00Z", "passed": true}
 ]
}`

func org(id, name, grade, city string) string {
	return `{"resourceType":"Organization","id":"` + id + `","name":"` + name + `","type":[{"coding":[{"system":"https://xietong.dev/fhir/CodeSystem/hospital-grade","code":"` + grade + `"}]}],"address":[{"city":"` + city + `"}]}`
}

func obsJSON(id, patient, loinc, eff, performer, value string) string {
	perf := ""
	if performer != "" {
		perf = `"performer":[{"reference":"Organization/` + performer + `"}],`
	}
	return `{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"` + loinc + `"}]},` +
		`"subject":{"reference":"Patient/` + patient + `"},"effectiveDateTime":"` + eff + `",` + perf + `"valueQuantity":{"value":` + value + `,"unit":"mmol/L"}}`
}

// checkResult is one result part of a $recognition-check answer.
type checkResult struct {
	recognisable bool
	priors       []string // references, newest first
	daysLeft     []string
	rejected     map[string]string // reference → reason
	reasons      []string
	imaging      []string
	images       map[string][]string // prior reference → its studyUid and image links ("kind ref url")
}

func parseCheck(t *testing.T, r *response) []checkResult {
	t.Helper()
	var out []checkResult
	for _, p := range r.json["parameter"].([]any) {
		cr := checkResult{rejected: map[string]string{}, images: map[string][]string{}}
		for _, part := range p.(map[string]any)["part"].([]any) {
			pm := part.(map[string]any)
			switch pm["name"] {
			case "recognisable":
				cr.recognisable = pm["valueBoolean"].(bool)
			case "reason":
				cr.reasons = append(cr.reasons, pm["valueCoding"].(map[string]any)["code"].(string))
			case "prior", "rejected":
				var ref, why, left, img string
				var links []string
				for _, sp := range pm["part"].([]any) {
					sm := sp.(map[string]any)
					switch sm["name"] {
					case "studyUid":
						links = append(links, "uid "+sm["valueIdentifier"].(map[string]any)["value"].(string))
					case "image":
						var k, r, u string
						for _, ip := range sm["part"].([]any) {
							im := ip.(map[string]any)
							switch im["name"] {
							case "kind":
								k = im["valueCode"].(string)
							case "reference":
								r = im["valueReference"].(map[string]any)["reference"].(string)
							case "url":
								u = im["valueUrl"].(string)
							}
						}
						links = append(links, k+" "+r+" "+u)
					case "reference":
						ref = sm["valueReference"].(map[string]any)["reference"].(string)
					case "reason":
						why = sm["valueCoding"].(map[string]any)["code"].(string)
					case "daysLeft":
						left = fmt.Sprint(sm["valueInteger"])
					case "imagingStudy":
						img = sm["valueReference"].(map[string]any)["reference"].(string)
					}
				}
				if len(links) > 0 {
					cr.images[ref] = links
				}
				if pm["name"] == "prior" {
					cr.priors, cr.daysLeft = append(cr.priors, ref), append(cr.daysLeft, left)
					if img != "" {
						cr.imaging = append(cr.imaging, img)
					}
				} else {
					cr.rejected[ref] = why
				}
			}
		}
		out = append(out, cr)
	}
	return out
}

func check(t *testing.T, base, patient, orderer, date string, items ...string) []checkResult {
	t.Helper()
	q := url.Values{"orderer": {"Organization/" + orderer}, "date": {date}, "item": items}
	return parseCheck(t, do(t, "GET", base+"/Patient/"+patient+"/$recognition-check?"+q.Encode(), "", "").wantStatus(t, 200))
}

// The scenario suite of issue 6: every reason and every boundary, on both
// stores, through the HTTP API.
func TestRecognitionScenarios(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		for _, o := range [][4]string{{"rA", "甲医院", "3A", "北京市"}, {"rB", "乙医院", "3A", "天津市"}, {"rC", "丙医院", "2A", "廊坊市"},
			{"rD", "丁医院", "2A", "廊坊市"}, {"rE", "戊医院", "2A", "北京市"}, {"rF", "己医院", "2A", "北京市"}, {"rG", "庚卫生院", "1A", "廊坊市"}, {"rH", "辛医院", "2A", "廊坊市"}} {
			do(t, "PUT", base+"/Organization/"+o[0], fhirJSON, org(o[0], o[1], o[2], o[3])).wantStatus(t, 201)
		}
		do(t, "POST", base+"/PlanDefinition/$recognition-import", "application/json", recogCatalogue).wantStatus(t, 200)
		do(t, "PUT", base+"/Patient/p1", fhirJSON, `{"resourceType":"Patient","id":"p1","identifier":[{"system":"urn:test:mrn","value":"M-1"}]}`).wantStatus(t, 201)
		put := func(id, body string) { do(t, "PUT", base+"/Observation/"+id, fhirJSON, body).wantStatus(t, 201) }
		put("k-a", obsJSON("k-a", "p1", "6298-4", "2026-10-25T09:00:00+08:00", "rA", "4.1"))
		put("k-a-old", obsJSON("k-a-old", "p1", "2823-3", "2026-10-20T09:00:00+08:00", "rA", "4.4"))
		put("glu-c", obsJSON("glu-c", "p1", "2339-0", "2026-10-25T09:00:00+08:00", "rC", "95"))
		put("alt-d-in", obsJSON("alt-d-in", "p1", "1742-6", "2026-09-25T09:00:00+08:00", "rD", "21"))
		put("alt-d-out", obsJSON("alt-d-out", "p1", "1742-6", "2026-10-05T09:00:00+08:00", "rD", "22"))
		put("k-e", obsJSON("k-e", "p1", "6298-4", "2026-10-18T09:00:00+08:00", "rE", "3.9"))
		put("k-x", obsJSON("k-x", "p1", "6298-4", "2026-10-26T09:00:00+08:00", "", "4.0")) // no issuer

		// The mark: qualifying results carry HR in every read and search.
		if r := do(t, "GET", base+"/Observation/k-a", "", "").wantStatus(t, 200); !strings.Contains(r.str("meta", "tag"), `"HR"`) {
			t.Errorf("k-a is not marked: %s", r.body)
		}
		if r := do(t, "GET", base+"/Observation/glu-c", "", "").wantStatus(t, 200); strings.Contains(r.str("meta", "tag"), `"HR"`) {
			t.Errorf("glu-c (issuer not in the programme) is marked")
		}
		s := do(t, "GET", base+"/Observation?_tag="+url.QueryEscape("https://xietong.dev/fhir/CodeSystem/recognition-mark|HR")+"&_count=50", "", "").wantStatus(t, 200)
		var marked []string
		for _, e := range s.json["entry"].([]any) {
			marked = append(marked, e.(map[string]any)["resource"].(map[string]any)["id"].(string))
		}
		slices.Sort(marked)
		if want := []string{"alt-d-in", "k-a", "k-a-old", "k-e"}; !slices.Equal(marked, want) {
			t.Errorf("marked results %v, want %v", marked, want)
		}

		// The last day of the window (7 days: 10-25 → 11-01) and the day after.
		r := check(t, base, "p1", "rB", "2026-11-01T10:00:00+08:00", "K")
		if !r[0].recognisable || r[0].priors[0] != "Observation/k-a" || r[0].daysLeft[0] != "0" {
			t.Errorf("last day of the window: %+v", r[0])
		}
		if r[0].rejected["Observation/k-x"] != "issuer-unknown" {
			t.Errorf("a result without issuer: %+v", r[0].rejected)
		}
		r = check(t, base, "p1", "rB", "2026-11-02T08:00:00+08:00", "K")
		if r[0].recognisable || r[0].rejected["Observation/k-a"] != "outside-window" || !slices.Contains(r[0].reasons, "outside-window") {
			t.Errorf("day after the window: %+v", r[0])
		}
		// One item, several codes: 2823-3 and 6298-4 are both K; asking by
		// either code or by the item finds both, newest first.
		for _, item := range []string{"K", "http://loinc.org|2823-3", "6298-4"} {
			r = check(t, base, "p1", "rB", "2026-10-26T12:00:00+08:00", item)
			if len(r[0].priors) < 2 || r[0].priors[0] != "Observation/k-a" || !slices.Contains(r[0].priors, "Observation/k-a-old") {
				t.Errorf("item %s: priors %v", item, r[0].priors)
			}
		}
		// Two programmes, different windows: rH (Langfang's list only, K 3
		// days) does not recognise the 5-day-old result rB (京津冀, 7) does.
		r = check(t, base, "p1", "rH", "2026-10-30T10:00:00+08:00", "K")
		if r[0].recognisable || r[0].rejected["Observation/k-a"] != "outside-window" {
			t.Errorf("city programme window: %+v", r[0])
		}
		if r = check(t, base, "p1", "rB", "2026-10-30T10:00:00+08:00", "K"); !r[0].recognisable || r[0].daysLeft[0] != "2" {
			t.Errorf("京津冀 window: %+v", r[0])
		}
		// Issuer not in the programme; an institution that left it (results
		// of its membership count, results after it do not).
		r = check(t, base, "p1", "rB", "2026-10-26T10:00:00+08:00", "Glu")
		if r[0].recognisable || r[0].rejected["Observation/glu-c"] != "issuer-not-in-programme" {
			t.Errorf("issuer not in the programme: %+v", r[0])
		}
		r = check(t, base, "p1", "rB", "2026-10-20T10:00:00+08:00", "ALT")
		if !slices.Equal(r[0].priors, []string{"Observation/alt-d-in"}) || r[0].rejected["Observation/alt-d-out"] != "issuer-not-in-programme" {
			t.Errorf("institution that left: %+v", r[0])
		}
		// A check dated before a result does not see it.
		if r = check(t, base, "p1", "rB", "2026-09-24T10:00:00+08:00", "ALT"); !slices.Equal(r[0].reasons, []string{"no-prior-result"}) {
			t.Errorf("before any result: %+v", r[0])
		}
		// Not in the catalogue; orderer in no programme.
		r = check(t, base, "p1", "rF", "2026-10-26T10:00:00+08:00", "http://loinc.org|9999-9", "K")
		if !slices.Equal(r[0].reasons, []string{"not-in-catalogue"}) || !slices.Equal(r[1].reasons, []string{"orderer-not-in-programme"}) {
			t.Errorf("catalogue / orderer: %+v", r)
		}

		// EQA failure on 2026-10-20: the day before, rE's K result counts;
		// from the failure date it does not; the re-mark drops its HR.
		do(t, "PUT", base+"/Basic/eqa-fail", fhirJSON, `{"resourceType":"Basic","id":"eqa-fail","code":{"coding":[{"system":"https://xietong.dev/fhir/CodeSystem/recognition","code":"eqa-result"}]},`+
			`"subject":{"reference":"Organization/rE"},"created":"2026-10-20","extension":[{"url":"https://xietong.dev/fhir/StructureDefinition/recognition-eqa","extension":[`+
			`{"url":"item","valueCode":"K"},{"url":"year","valueInteger":2026},{"url":"outcome","valueCode":"fail"}]}]}`).wantStatus(t, 201)
		if r = check(t, base, "p1", "rB", "2026-10-19T10:00:00+08:00", "K"); !slices.Contains(r[0].priors, "Observation/k-e") {
			t.Errorf("the day before the EQA failure: %+v", r[0])
		}
		if r = check(t, base, "p1", "rB", "2026-10-20T10:00:00+08:00", "K"); slices.Contains(r[0].priors, "Observation/k-e") || r[0].rejected["Observation/k-e"] != "eqa-failed" {
			t.Errorf("the EQA failure date: %+v", r[0])
		}
		// The node re-marks in the background; the operation does it on
		// request (whichever comes first changes the one result).
		if rr := do(t, "POST", base+"/Observation/$recognition-remark?issuer=Organization/rE", fhirJSON, "").wantStatus(t, 200); !strings.Contains(string(rr.body), "re-marked") {
			t.Errorf("remark: %s", rr.body)
		}
		waitMark(t, base, "k-e", false)
		if r := do(t, "GET", base+"/Observation/k-a", "", "").wantStatus(t, 200); !strings.Contains(r.str("meta", "tag"), `"HR"`) {
			t.Errorf("k-a lost its mark")
		}

		// A patient merged in the EMPI after the results were filed: the
		// results of the source count for the master, and the other way.
		do(t, "PUT", base+"/Patient/p2", fhirJSON, `{"resourceType":"Patient","id":"p2","identifier":[{"system":"urn:test:mrn","value":"M-2"}]}`).wantStatus(t, 201)
		put("k-p2", obsJSON("k-p2", "p2", "6298-4", "2026-10-25T09:00:00+08:00", "rA", "4.3"))
		// p3 is another institution's record of the same person, without
		// results; a person merges p2's master into p3's in the EMPI.
		do(t, "PUT", base+"/Patient/p3", fhirJSON, `{"resourceType":"Patient","id":"p3","identifier":[{"system":"urn:test:mrn2","value":"X-3"}]}`).wantStatus(t, 201)
		do(t, "POST", base+"/Patient/$merge", fhirJSON, `{"resourceType":"Parameters","parameter":[`+
			`{"name":"source-patient","valueReference":{"reference":"Patient/p2"}},{"name":"target-patient","valueReference":{"reference":"Patient/p3"}}]}`).wantStatus(t, 200)
		m1 := ""
		for _, l := range do(t, "GET", base+"/Patient/p3", "", "").wantStatus(t, 200).json["link"].([]any) {
			if lk := l.(map[string]any); lk["type"] == "refer" {
				m1 = strings.TrimPrefix(lk["other"].(map[string]any)["reference"].(string), "Patient/")
			}
		}
		if m1 == "" {
			t.Fatal("p3 has no master")
		}
		if r = check(t, base, m1, "rB", "2026-10-26T10:00:00+08:00", "K"); !slices.Equal(r[0].priors, []string{"Observation/k-p2"}) {
			t.Errorf("master after merge: %+v", r[0])
		}
		if r = check(t, base, "p3", "rB", "2026-10-26T10:00:00+08:00", "K"); !slices.Equal(r[0].priors, []string{"Observation/k-p2"}) {
			t.Errorf("the other record of the merged person: %+v", r[0])
		}
		// Type level, by the identifier of the record that had the result.
		tl := parseCheck(t, do(t, "POST", base+"/Patient/$recognition-check", fhirJSON, `{"resourceType":"Parameters","parameter":[`+
			`{"name":"patient","valueIdentifier":{"system":"urn:test:mrn","value":"M-2"}},{"name":"orderer","valueReference":{"reference":"Organization/rB"}},`+
			`{"name":"item","valueCoding":{"system":"http://loinc.org","code":"6298-4"}},{"name":"date","valueDateTime":"2026-10-26T10:00:00+08:00"}]}`).wantStatus(t, 200))
		if !slices.Equal(tl[0].priors, []string{"Observation/k-p2"}) {
			t.Errorf("type level by identifier: %+v", tl[0])
		}

		// Imaging: a CT report with its study, from a qualified hospital
		// and from a township centre below the item's grade.
		for _, dr := range [][3]string{{"ct-a", "rA", "2026-10-01"}, {"ct-g", "rG", "2026-10-10"}} {
			do(t, "PUT", base+"/DiagnosticReport/"+dr[0], fhirJSON, `{"resourceType":"DiagnosticReport","id":"`+dr[0]+`","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"24627-2"}]},`+
				`"subject":{"reference":"Patient/p1"},"effectiveDateTime":"`+dr[2]+`","performer":[{"reference":"Organization/`+dr[1]+`"}],"imagingStudy":[{"reference":"ImagingStudy/is-`+dr[0]+`"}],"conclusion":"双肺未见异常。"}`).wantStatus(t, 201)
		}
		r = check(t, base, "p1", "rB", "2026-10-26T10:00:00+08:00", "CT-CHEST")
		if !slices.Equal(r[0].priors, []string{"DiagnosticReport/ct-a"}) || !slices.Equal(r[0].imaging, []string{"ImagingStudy/is-ct-a"}) || r[0].rejected["DiagnosticReport/ct-g"] != "issuer-grade" {
			t.Errorf("imaging: %+v", r[0])
		}

		// The images: the study (its DICOM UID and WADO-RS endpoint), the
		// key image the report links (Media), a Media and a
		// DocumentReference that name the study, whoever wrote first; a
		// document filed for another patient and one entered in error are
		// not shown.
		const uid = "urn:oid:1.2.156.112605.1.20261001"
		for _, w := range [][2]string{
			{"Media/key-a", `{"resourceType":"Media","id":"key-a","status":"completed","subject":{"reference":"Patient/p1"},"content":{"contentType":"image/jpeg","url":"https://pacs.ra.example/key-a.jpg"}}`},
			{"DiagnosticReport/ct-a", `{"resourceType":"DiagnosticReport","id":"ct-a","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"24627-2"}]},` +
				`"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-10-01","performer":[{"reference":"Organization/rA"}],"imagingStudy":[{"reference":"ImagingStudy/is-ct-a"}],` +
				`"media":[{"comment":"key image","link":{"reference":"Media/key-a"}}],"conclusion":"双肺未见异常。"}`},
			{"ImagingStudy/is-ct-a", `{"resourceType":"ImagingStudy","id":"is-ct-a","status":"available","subject":{"reference":"Patient/p1"},"identifier":[{"system":"urn:dicom:uid","value":"` + uid + `"}],"endpoint":[{"reference":"Endpoint/wado-ra"}]}`},
			{"Media/series-a", `{"resourceType":"Media","id":"series-a","status":"completed","subject":{"reference":"Patient/p1"},"partOf":[{"reference":"ImagingStudy/is-ct-a"}],"content":{"contentType":"application/dicom","url":"https://pacs.ra.example/wado-rs/studies/1.2.156.112605.1.20261001/series/1"}}`},
			{"DocumentReference/doc-a", `{"resourceType":"DocumentReference","id":"doc-a","status":"current","subject":{"reference":"Patient/p1"},"content":[{"attachment":{"contentType":"application/dicom","url":"https://pacs.ra.example/wado-rs/studies/1.2.156.112605.1.20261001"}}],"context":{"related":[{"reference":"ImagingStudy/is-ct-a"}]}}`},
			{"DocumentReference/doc-other", `{"resourceType":"DocumentReference","id":"doc-other","status":"current","subject":{"reference":"Patient/p9"},"content":[{"attachment":{"url":"https://pacs.ra.example/other"}}],"context":{"related":[{"reference":"ImagingStudy/is-ct-a"}]}}`},
			{"DocumentReference/doc-err", `{"resourceType":"DocumentReference","id":"doc-err","status":"current","subject":{"reference":"Patient/p1"},"content":[{"attachment":{"url":"https://pacs.ra.example/wrong"}}],"context":{"related":[{"reference":"DiagnosticReport/ct-a"}]}}`},
			{"DocumentReference/doc-err", `{"resourceType":"DocumentReference","id":"doc-err","status":"entered-in-error","subject":{"reference":"Patient/p1"},"content":[{"attachment":{"url":"https://pacs.ra.example/wrong"}}],"context":{"related":[{"reference":"DiagnosticReport/ct-a"}]}}`},
		} {
			if rr := do(t, "PUT", base+"/"+w[0], fhirJSON, w[1]); rr.status != 200 && rr.status != 201 {
				t.Fatalf("PUT %s: %d %s", w[0], rr.status, rr.body)
			}
		}
		r = check(t, base, "p1", "rB", "2026-10-26T10:00:00+08:00", "CT-CHEST")
		wantImages := []string{"uid " + uid, "media Media/key-a https://pacs.ra.example/key-a.jpg", "document DocumentReference/doc-a https://pacs.ra.example/wado-rs/studies/1.2.156.112605.1.20261001",
			"endpoint Endpoint/wado-ra ", "media Media/series-a https://pacs.ra.example/wado-rs/studies/1.2.156.112605.1.20261001/series/1"}
		if got := r[0].images["DiagnosticReport/ct-a"]; !slices.Equal(got, wantImages) {
			t.Errorf("images of ct-a:\n got %q\nwant %q", got, wantImages)
		}
		if got := r[0].images["DiagnosticReport/ct-g"]; len(got) != 0 {
			t.Errorf("images of ct-g, which has none: %q", got)
		}
		// Removing the document removes its link.
		if rr := do(t, "DELETE", base+"/DocumentReference/doc-a", "", ""); rr.status >= 300 {
			t.Fatalf("DELETE doc-a: %d %s", rr.status, rr.body)
		}
		r = check(t, base, "p1", "rB", "2026-10-26T10:00:00+08:00", "CT-CHEST")
		if got := r[0].images["DiagnosticReport/ct-a"]; slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "doc-a") }) || len(got) != 4 {
			t.Errorf("images of ct-a after the document's deletion: %q", got)
		}

		// A result whose issuer is only its Encounter's serviceProvider
		// (Synthea's shape) is marked by a follow-up in the same transaction.
		do(t, "PUT", base+"/Encounter/enc1", fhirJSON, `{"resourceType":"Encounter","id":"enc1","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/p1"},"serviceProvider":{"reference":"Organization/rA"}}`).wantStatus(t, 201)
		do(t, "PUT", base+"/Observation/glu-enc", fhirJSON, `{"resourceType":"Observation","id":"glu-enc","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]},"subject":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/enc1"},"effectiveDateTime":"2026-10-25","valueQuantity":{"value":90}}`).wantStatus(t, 201)
		if r := do(t, "GET", base+"/Observation/glu-enc", "", "").wantStatus(t, 200); !strings.Contains(r.str("meta", "tag"), `"HR"`) || r.str("meta", "versionId") != "2" {
			t.Errorf("glu-enc: %s", r.body)
		}

		// Decisions: a re-test needs one of the nine reasons and free text.
		task := func(status, extra string) string {
			return `{"resourceType":"Task","status":"completed","intent":"order","code":{"coding":[{"system":"https://xietong.dev/fhir/CodeSystem/recognition","code":"decision"}]},` +
				`"businessStatus":{"coding":[{"system":"https://xietong.dev/fhir/CodeSystem/recognition","code":"` + status + `"}]},"for":{"reference":"Patient/p1"},` +
				`"requester":{"reference":"Organization/rB"},"authoredOn":"2026-10-26T10:00:00+08:00",` +
				`"input":[{"type":{"coding":[{"system":"https://xietong.dev/fhir/CodeSystem/recognition","code":"item"}]},"valueCoding":{"system":"https://xietong.dev/fhir/CodeSystem/recognition-item","code":"K"}},` +
				`{"type":{"coding":[{"system":"https://xietong.dev/fhir/CodeSystem/recognition","code":"programme"}]},"valueCoding":{"system":"https://xietong.dev/fhir/CodeSystem/recognition-programme","code":"jjj-lab"}}]` + extra + `}`
		}
		do(t, "POST", base+"/Task", fhirJSON, task("retest", "")).wantStatus(t, 400)
		do(t, "POST", base+"/Task", fhirJSON, task("retest", `,"reasonCode":{"coding":[{"system":"https://xietong.dev/fhir/CodeSystem/recognition-retest-reason","code":"10"}],"text":"x"}`)).wantStatus(t, 400)
		do(t, "POST", base+"/Task", fhirJSON, task("accepted", "")).wantStatus(t, 400)
		do(t, "POST", base+"/Task", fhirJSON, task("retest", `,"reasonCode":{"coding":[{"system":"https://xietong.dev/fhir/CodeSystem/recognition-retest-reason","code":"3"}],"text":"术前复查"}`)).wantStatus(t, 201)
		do(t, "POST", base+"/Task", fhirJSON, task("accepted", `,"focus":{"reference":"Observation/k-a"}`)).wantStatus(t, 201)
		if s := do(t, "GET", base+"/Task?code=https://xietong.dev/fhir/CodeSystem/recognition|decision&business-status=https://xietong.dev/fhir/CodeSystem/recognition|accepted", "", "").wantStatus(t, 200); s.str("total") != "1" {
			t.Errorf("decision search: %s", s.body)
		}
		// Statistics: CSV and MeasureReport.
		hr, err := http.Get(base + "/MeasureReport/$recognition-stats?_format=csv")
		if err != nil {
			t.Fatal(err)
		}
		csv, _ := io.ReadAll(hr.Body)
		hr.Body.Close()
		if hr.StatusCode != 200 || !strings.HasPrefix(hr.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(csv), "2026-10,rB,天津市,K,1,1,0,0,1,0,0,0,0,0,0,1,1,5.00") {
			t.Errorf("stats CSV: %d\n%s", hr.StatusCode, csv)
		}
		// The filters: institution, city and item select the decisions.
		for _, c := range []struct {
			query string
			want  bool
		}{
			{"institution=Organization/rB&item=K", true},
			{"city=" + url.QueryEscape("天津市"), true},
			{"city=" + url.QueryEscape("北京市"), false},
			{"institution=rA", false},
			{"item=Glu", false},
		} {
			hr, err := http.Get(base + "/MeasureReport/$recognition-stats?_format=csv&" + c.query)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(hr.Body)
			hr.Body.Close()
			if got := strings.Contains(string(b), "2026-10,rB,天津市,K,"); hr.StatusCode != 200 || got != c.want {
				t.Errorf("stats ?%s: %d, rB's K row %v, want %v\n%s", c.query, hr.StatusCode, got, c.want, b)
			}
		}
		mr := do(t, "GET", base+"/MeasureReport/$recognition-stats?from=2026-10-01&to=2026-11-01", "", "").wantStatus(t, 200)
		if mr.str("resourceType") != "MeasureReport" || !strings.Contains(string(mr.body), `"cost-saved"`) || mr.str("group", 1, "measureScore", "value") != "1" {
			t.Errorf("stats MeasureReport: %s", mr.body)
		}

		// Bad input: clear 4xx OperationOutcomes.
		for _, c := range []struct {
			url    string
			status int
		}{
			{"/Patient/p1/$recognition-check?orderer=Organization/nope&item=K", 400},
			{"/Patient/p1/$recognition-check?orderer=Organization/rB&item=" + url.QueryEscape("http://loinc.org|"), 400},
			{"/Patient/p1/$recognition-check?orderer=Organization/rB&item=" + url.QueryEscape("not a code"), 400},
			{"/Patient/p1/$recognition-check?orderer=Organization/rB", 400},
			{"/Patient/p1/$recognition-check?item=K", 400},
			{"/Patient/nobody/$recognition-check?orderer=Organization/rB&item=K", 404},
			{"/Patient/$recognition-check?orderer=Organization/rB&item=K&identifier=" + url.QueryEscape("urn:test:mrn|none"), 400},
			{"/Patient/p1/$recognition-check?orderer=Organization/rB&item=K&date=yesterday", 400},
			{"/MeasureReport/$recognition-stats?from=soon", 400},
			{"/MeasureReport/$recognition-stats?from=2026-12-01&to=2026-01-01", 400},
			{"/MeasureReport/$recognition-stats?institution=Organization/nope", 400},
			{"/MeasureReport/$recognition-stats?item=NOPE", 400},
			{"/MeasureReport/$recognition-stats?instituion=rB", 400},
			{"/Patient/p1/$recognition-check?orderer=Organization/rB&item=K&itme=Glu", 400},
		} {
			r := do(t, "GET", base+c.url, "", "")
			if r.status != c.status || r.str("resourceType") != "OperationOutcome" {
				t.Errorf("GET %s: %d %s, want %d OperationOutcome", c.url, r.status, r.body, c.status)
			}
		}
		do(t, "POST", base+"/PlanDefinition/$recognition-import", "text/csv", "programme,x\n").wantStatus(t, 400)
	})
}

// The shipped catalogue is written on first start, once.
func TestRecognitionDefaultCatalogue(t *testing.T) {
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DB: filepath.Join(t.TempDir(), "x.db"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for range 2 {
		if err := srv.EnsureRecognitionCatalogue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	r := do(t, "GET", hs.URL+"/fhir/ActivityDefinition?_summary=count", "", "").wantStatus(t, 200)
	if r.str("total") != "63" {
		t.Errorf("%s ActivityDefinitions, want 63", r.str("total"))
	}
	if v := do(t, "GET", hs.URL+"/fhir/ActivityDefinition/recognition-jjj-lab-K", "", "").wantStatus(t, 200).str("meta", "versionId"); v != "1" {
		t.Errorf("imported twice: version %s", v)
	}
}

// Synthea's results name no performer: their issuer is the Encounter's
// serviceProvider. Once that institution joins a programme, its results
// are re-marked and recognised.
func TestRecognitionSynthea(t *testing.T) {
	bundle := sharedtest.ReadFile(t, sharedtest.Path(t, "synthea", "r4", "Abdul_Koepp_e925b0f3-8006-43f6-aa31-94bd215e55e7.json"))
	base := node(t, filepath.Join(t.TempDir(), "s.db"))
	do(t, "POST", base, fhirJSON, string(bundle)).wantStatus(t, 200)
	last := do(t, "GET", base+"/Observation?code=http://loinc.org|2093-3&_sort=-date&_count=1", "", "").wantStatus(t, 200)
	obs := last.str("entry", 0, "resource", "id")
	patient := strings.TrimPrefix(last.str("entry", 0, "resource", "subject", "reference"), "Patient/")
	enc := do(t, "GET", base+"/"+last.str("entry", 0, "resource", "encounter", "reference"), "", "").wantStatus(t, 200)
	org := strings.TrimPrefix(enc.str("serviceProvider", "reference"), "Organization/")
	eff := last.str("entry", 0, "resource", "effectiveDateTime")
	if obs == "" || patient == "" || org == "" || len(eff) < 10 {
		t.Fatalf("Synthea data: obs %q patient %q org %q eff %q", obs, patient, org, eff)
	}
	cat := `{"programmes":[{"code":"s","name":"Synthea","items":[{"code":"TC","name":"总胆固醇","category":"biochemistry","codes":["http://loinc.org|2093-3"],"windowDays":30,"price":6,"eqa":false}]}],` +
		`"members":[{"programme":"s","organization":"` + org + `","from":"1900-01-01T00:00:00Z"},{"programme":"s","organization":"rB","from":"1900-01-01T00:00:00Z"}]}`
	do(t, "PUT", base+"/Organization/rB", fhirJSON, org2("rB")).wantStatus(t, 201)
	do(t, "POST", base+"/PlanDefinition/$recognition-import", "application/json", cat).wantStatus(t, 200)
	waitMark(t, base, obs, true) // re-marked in the background after the import
	effT, err := time.Parse(time.RFC3339, eff)
	if err != nil {
		t.Fatal(err)
	}
	r := check(t, base, patient, "rB", effT.Add(48*time.Hour).Format(time.RFC3339), "TC")
	if !r[0].recognisable || r[0].priors[0] != "Observation/"+obs {
		t.Errorf("Synthea check: %+v", r[0])
	}
}

func org2(id string) string { return org(id, id, "3A", "北京市") }

// The Go API the console uses: the catalogue, memberships and recording a
// decision (checked like a POSTed Task).
func TestRecognitionGoAPI(t *testing.T) {
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DB: filepath.Join(t.TempDir(), "x.db"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cat, err := recognition.ParseCatalogue([]byte(recogCatalogue), "json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.ImportCatalogue(ctx, cat); err != nil {
		t.Fatal(err)
	}
	eng := srv.Recognition()
	ps := eng.Programmes()
	if len(ps) != 3 || ps[0].Code != "jjj-imaging" || len(ps[1].Items) != 3 || len(eng.Members("rA")) != 3 {
		t.Fatalf("programmes %+v", ps)
	}
	d := recognition.Decision{Patient: "p1", Orderer: "rB", Item: "K", Programme: "jjj-lab", Date: time.Date(2026, 10, 26, 10, 0, 0, 0, time.UTC)}
	if _, err := eng.Record(ctx, d); err == nil || !strings.Contains(err.Error(), "nine official reasons") {
		t.Errorf("a re-test without a reason: %v", err)
	}
	d.Reason, d.Note = "6", "患者要求复查"
	if _, err := eng.Record(ctx, d); err != nil {
		t.Fatal(err)
	}
	rows := eng.Stats(recognition.StatsQuery{})
	if len(rows) != 1 || rows[0].Retests[5] != 1 || rows[0].Eligible != 0 {
		t.Errorf("stats %+v", rows)
	}
}

// waitMark waits (up to 10 s) for the background re-marking to give the
// Observation the HR mark or take it away.
func waitMark(t *testing.T, base, id string, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := do(t, "GET", base+"/Observation/"+id, "", "").wantStatus(t, 200)
		if strings.Contains(r.str("meta", "tag"), `"HR"`) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Observation/%s: HR mark %v expected: %s", id, want, r.str("meta"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The type-level check takes a scanned e-health-card code: the card
// service resolves it at the orderer to the master, whose records' results
// count.
func TestRecognitionOneCode(t *testing.T) {
	base, _ := cardNode(t, filepath.Join(t.TempDir(), "c.db"))
	orgID := do(t, "POST", base+"/Organization", fj, institution("110112001", "110112", "运河医院")).wantStatus(t, 201).str("id")
	cat := `{"programmes":[{"code":"p","name":"P","items":[{"code":"K","name":"钾","category":"biochemistry","codes":["http://loinc.org|6298-4"],"windowDays":7,"price":5,"eqa":false}]}],` +
		`"members":[{"programme":"p","organization":"` + orgID + `","from":"2020-01-01T00:00:00Z"}]}`
	do(t, "POST", base+"/PlanDefinition/$recognition-import", "application/json", cat).wantStatus(t, 200)
	p := do(t, "POST", base+"/Patient", fj, `{"resourceType":"Patient","name":[{"text":"王芳"}],"gender":"female","birthDate":"1980-02-03"}`).wantStatus(t, 201).str("id")
	eff := time.Now().Add(-48 * time.Hour).Format(time.RFC3339)
	do(t, "PUT", base+"/Observation/k1", fhirJSON, obsJSON("k1", p, "6298-4", eff, orgID, "4.2")).wantStatus(t, 201)
	static := paramStr(do(t, "POST", base+"/Patient/"+p+"/$issue-health-card", "", "").wantStatus(t, 200), "staticCode", "valueString")
	r := parseCheck(t, do(t, "POST", base+"/Patient/$recognition-check", fhirJSON, `{"resourceType":"Parameters","parameter":[`+
		`{"name":"code","valueString":"`+static+`"},{"name":"orderer","valueReference":{"reference":"Organization/`+orgID+`"}},{"name":"item","valueCode":"K"}]}`).wantStatus(t, 200))
	if !r[0].recognisable || !slices.Equal(r[0].priors, []string{"Observation/k1"}) {
		t.Errorf("one-code check: %+v", r[0])
	}
	do(t, "POST", base+"/Patient/$recognition-check", fhirJSON, `{"resourceType":"Parameters","parameter":[`+
		`{"name":"code","valueString":"not-a-code"},{"name":"orderer","valueReference":{"reference":"Organization/`+orgID+`"}},{"name":"item","valueCode":"K"}]}`).wantStatus(t, 400)
}
