package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/server"
)

const (
	sidResident = "https://xietong.dev/fhir/sid/resident-id"
	sidMRN      = "https://xietong.dev/fhir/sid/mrn/"
	masterTag   = "https://xietong.dev/fhir/CodeSystem/patient-role|master"
)

var bornLiu = time.Date(1985, 6, 12, 0, 0, 0, 0, time.UTC)

// pat renders an institution's Patient: its MRN at institution inst, a
// resident ID number (system sys) when id is not empty, and the rest.
func pat(inst, mrn, sys, id, name, gender, birth, phone string) string {
	ids := `{"system":"` + sidMRN + inst + `","value":"` + mrn + `","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]}}`
	if id != "" {
		ids += `,{"system":"` + sys + `","value":"` + id + `"}`
	}
	s := `{"resourceType":"Patient","identifier":[` + ids + `],"name":[{"text":"` + name + `"}],"gender":"` + gender + `","birthDate":"` + birth + `"`
	if phone != "" {
		s += `,"telecom":[{"system":"phone","value":"` + phone + `"}]`
	}
	return s + `,"address":[{"use":"home","text":"通州区新华大街23号","extension":[{"url":"https://xietong.dev/fhir/StructureDefinition/address-division","valueCoding":{"code":"110112"}}]}]}`
}

// masterOf returns the master a source Patient refers to.
func masterOf(t *testing.T, base, id string) string {
	t.Helper()
	r := do(t, "GET", base+"/Patient/"+id, "", "").wantStatus(t, 200)
	links, _ := r.json["link"].([]any)
	for i := range links {
		if r.str("link", i, "type") == "refer" {
			ref := r.str("link", i, "other", "reference")
			if m := do(t, "GET", base+"/"+ref, "", "").wantStatus(t, 200); strings.Contains(string(m.body), "patient-role") {
				return strings.TrimPrefix(ref, "Patient/")
			}
		}
	}
	t.Fatalf("Patient/%s has no refer link to a master: %s", id, r.body)
	return ""
}

// seealso returns the sources a master links to, and whether it is active.
func seealso(t *testing.T, base, master string) (map[string]string, bool) {
	t.Helper()
	r := do(t, "GET", base+"/Patient/"+master, "", "").wantStatus(t, 200)
	out := map[string]string{}
	links, _ := r.json["link"].([]any)
	for i := range links {
		if r.str("link", i, "type") == "seealso" {
			out[strings.TrimPrefix(r.str("link", i, "other", "reference"), "Patient/")] = r.str("link", i, "extension", 0, "valueCode")
		}
	}
	return out, r.str("active") == "true"
}

func countOf(t *testing.T, url string) string {
	t.Helper()
	return do(t, "GET", url, "", "").wantStatus(t, 200).str("total")
}

func params(ps ...string) string {
	return `{"resourceType":"Parameters","parameter":[` + strings.Join(ps, ",") + `]}`
}

func refParam(name, id string) string {
	return `{"name":"` + name + `","valueReference":{"reference":"Patient/` + id + `"}}`
}

// Patients posted through the API by two hospitals are one master, found
// by Patient/$match (IHE PDQm ITI-119).
func TestPatientMatch(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		id := idnumber.Generate("110112", bornLiu, 31)
		a := do(t, "POST", base+"/Patient", fj, pat("H1", "A-1", "urn:oid:2.16.156.10011.1.1", id, "刘洋", "male", "1985-06-12", "13700001234")).wantStatus(t, 201).str("id")
		do(t, "POST", base+"/Patient", fj, `{"resourceType":"Patient","name":[{"text":"陈静"}],"gender":"female","birthDate":"1990-01-01"}`).wantStatus(t, 201)
		m := masterOf(t, base, a)

		query := params(`{"name":"resource","resource":{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.156.10011.1.1","value":"`+id+`"}],"name":[{"text":"劉洋"}],"gender":"male","birthDate":"1985-06-12"}}`,
			`{"name":"onlyCertainMatches","valueBoolean":true}`)
		r := do(t, "POST", base+"/Patient/$match", fj, query).wantStatus(t, 200)
		if r.str("type") != "searchset" || r.str("entry", 0, "resource", "id") != m || r.str("entry", 1) != "" ||
			r.str("entry", 0, "search", "mode") != "match" || r.str("entry", 0, "search", "extension", 0, "valueCode") != "certain" ||
			!strings.HasSuffix(r.str("entry", 0, "fullUrl"), "/fhir/Patient/"+m) {
			t.Fatalf("first match: %s", r.body)
		}
		// Another hospital registers the person: still one master, now with two records.
		b := do(t, "POST", base+"/Patient", fj, pat("H2", "B-1", sidResident, id, "刘洋", "male", "1985-06-12", "")).wantStatus(t, 201).str("id")
		if mb := masterOf(t, base, b); mb != m {
			t.Fatalf("second hospital's record linked to %s, want %s", mb, m)
		}
		if links, _ := seealso(t, base, m); len(links) != 2 || links[a] != "new" || links[b] != "id-number" {
			t.Errorf("master links %v", links)
		}
		r = do(t, "POST", base+"/Patient/$match", fj, query).wantStatus(t, 200)
		if r.str("entry", 0, "resource", "id") != m || r.str("entry", 1) != "" {
			t.Fatalf("second match: %s", r.body)
		}
		do(t, "POST", base+"/Patient/$match", fj, `{"resourceType":"Parameters","parameter":[]}`).wantStatus(t, 400)
		do(t, "POST", base+"/Patient/$match", "text/plain", query).wantStatus(t, 415)
		// An impossible birth date is an error, not a query on the name alone.
		for _, bd := range []string{`"1985-02-30"`, `"1985-13-01"`, `"85-06-12"`, `19850612`} {
			e := do(t, "POST", base+"/Patient/$match", fj, params(`{"name":"resource","resource":{"resourceType":"Patient","name":[{"text":"刘洋"}],"gender":"male","birthDate":`+bd+`}}`)).wantStatus(t, 400)
			if !strings.Contains(e.diagnostics(), "not a date of the calendar") || e.str("issue", 0, "expression", 0) != "Parameters.parameter.resource.birthDate" {
				t.Errorf("birthDate %s: %s", bd, e.body)
			}
		}
		// The ID number with a wrong check character is refused with a 400
		// naming it: matched without it, the query would fall back on the
		// other details and the clerk would never learn of the typo.
		wrong := id[:17] + map[bool]string{true: "1", false: "2"}[id[17] != '1']
		e := do(t, "POST", base+"/Patient/$match", fj, params(`{"name":"resource","resource":{"resourceType":"Patient","identifier":[{"system":"`+sidResident+`","value":"`+wrong+`"}],"name":[{"text":"王芳"}],"gender":"female","birthDate":"1979-11-03"}}`)).wantStatus(t, 400)
		if !strings.Contains(e.diagnostics(), "is not valid") || !strings.Contains(e.diagnostics(), wrong) ||
			e.str("issue", 0, "expression", 0) != "Parameters.parameter.resource.identifier[0].value" {
			t.Errorf("wrong check character: %s", e.body)
		}
		// A bare Patient body says where, too; an old (use "old") number is
		// history, not a claim, and is not checked.
		e = do(t, "POST", base+"/Patient/$match", fj, `{"resourceType":"Patient","identifier":[{"system":"`+sidResident+`","value":"12345"}],"name":[{"text":"王芳"}]}`).wantStatus(t, 400)
		if e.str("issue", 0, "expression", 0) != "Patient.identifier[0].value" {
			t.Errorf("short number: %s", e.body)
		}
		do(t, "POST", base+"/Patient/$match", fj, `{"resourceType":"Patient","identifier":[{"use":"old","system":"`+sidResident+`","value":"12345"}],"name":[{"text":"王芳"}]}`).wantStatus(t, 200)
	})
}

// The identity stage: deterministic links on the ID number (any system,
// traditional characters, legacy 15 digits), probabilistic links, the
// review queue, new masters, the golden record, search by any identifier,
// bad ID numbers rejected without a trace, re-matching of changed records.
func TestIdentityStage(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		born := time.Date(1980, 3, 7, 0, 0, 0, 0, time.UTC)
		id := idnumber.Generate("110112", born, 123)
		a := do(t, "POST", base+"/Patient", fj, pat("H1", "A-1", sidResident, id, "张伟", "male", "1980-03-07", "13912345678")).wantStatus(t, 201)
		if a.str("link", 0, "type") != "refer" {
			t.Fatalf("the response carries no link to the master: %s", a.body)
		}
		m := masterOf(t, base, a.str("id"))
		mr := do(t, "GET", base+"/Patient/"+m, "", "").wantStatus(t, 200)
		if mr.str("name", 0, "text") != "张伟" || mr.str("birthDate") != "1980-03-07" || mr.str("gender") != "male" || mr.str("identifier") != "" {
			t.Errorf("golden record %s", mr.body)
		}
		// Same number, traditional characters, the OID system: linked.
		b := do(t, "POST", base+"/Patient", fj, pat("H2", "B-7", "urn:oid:2.16.156.10011.1.1", id, "張偉", "male", "1980-03-07", "")).wantStatus(t, 201).str("id")
		if masterOf(t, base, b) != m {
			t.Errorf("the traditional-character record is not linked to %s", m)
		}
		// The legacy 15-digit form is upgraded (the old form kept) and linked.
		c := do(t, "POST", base+"/Patient", fj, pat("H3", "C-2", sidResident, idnumber.Legacy(id), "张伟", "male", "1980-03-07", "")).wantStatus(t, 201)
		if c.str("identifier", 1, "value") != id || c.str("identifier", 2, "use") != "old" || c.str("identifier", 2, "value") != idnumber.Legacy(id) {
			t.Errorf("legacy number not upgraded: %s", c.body)
		}
		if masterOf(t, base, c.str("id")) != m {
			t.Errorf("the legacy-number record is not linked")
		}
		// No number, but name, birth date, phone and address: linked.
		d := do(t, "POST", base+"/Patient", fj, pat("H4", "D-1", "", "", "张伟", "male", "1980-03-07", "13912345678")).wantStatus(t, 201).str("id")
		if masterOf(t, base, d) != m {
			t.Errorf("the record without a number is not linked")
		}
		links, active := seealso(t, base, m)
		if len(links) != 4 || !active || links[d] != "probabilistic" {
			t.Errorf("master links %v active %v", links, active)
		}
		// The twin: same birth date, phone and address, another name and
		// no number: a master of its own and a review Task.
		twin := do(t, "POST", base+"/Patient", fj, pat("H1", "A-2", "", "", "张强", "male", "1980-03-07", "13912345678")).wantStatus(t, 201).str("id")
		tm := masterOf(t, base, twin)
		if tm == m {
			t.Fatalf("the twin was linked to his brother")
		}
		tasks := do(t, "GET", base+"/Task?code=https://xietong.dev/fhir/CodeSystem/task-kind|identity-review&focus=Patient/"+twin, "", "").wantStatus(t, 200)
		if tasks.str("total") != "1" || tasks.str("entry", 0, "resource", "input", 0, "valueReference", "reference") != "Patient/"+m ||
			tasks.str("entry", 0, "resource", "status") != "requested" || tasks.str("entry", 0, "resource", "for", "reference") != "Patient/"+tm {
			t.Errorf("review task: %s", tasks.body)
		}
		// Someone else entirely: a new master, no review.
		li := do(t, "POST", base+"/Patient", fj, pat("H2", "B-9", sidResident, idnumber.Generate("120114", time.Date(1975, 11, 2, 0, 0, 0, 0, time.UTC), 42), "李娜", "female", "1975-11-02", "13800001111")).wantStatus(t, 201).str("id")
		if lm := masterOf(t, base, li); lm == m || lm == tm {
			t.Errorf("李娜 linked to another person")
		}
		if n := countOf(t, base+"/Task?focus=Patient/"+li); n != "0" {
			t.Errorf("%s review tasks for an unrelated patient", n)
		}

		// Bad ID numbers: a clear 422, nothing stored, nothing linked.
		before := countOf(t, base+"/Patient?_summary=count")
		wrongCheck := id[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", id[17])+1)%11])
		e := do(t, "POST", base+"/Patient", fj, pat("H5", "E-1", sidResident, wrongCheck, "张伟", "male", "1980-03-07", "")).wantStatus(t, 422)
		if !strings.Contains(e.diagnostics(), "check character") || e.str("issue", 0, "expression", 0) != "Patient.identifier[1].value" {
			t.Errorf("wrong check character: %s", e.body)
		}
		impossible := "11011219800230" + "123"
		cc, _ := idnumber.CheckChar(impossible)
		e = do(t, "POST", base+"/Patient", fj, pat("H5", "E-2", sidResident, impossible+string(cc), "张伟", "male", "1980-02-30", "")).wantStatus(t, 400)
		_ = e // the birthDate itself is invalid FHIR: the validator answers first
		e = do(t, "POST", base+"/Patient", fj, pat("H5", "E-3", sidResident, impossible+string(cc), "张伟", "male", "1980-03-07", "")).wantStatus(t, 422)
		if !strings.Contains(e.diagnostics(), "date") {
			t.Errorf("impossible date: %s", e.diagnostics())
		}
		if after := countOf(t, base+"/Patient?_summary=count"); after != before {
			t.Errorf("rejected records left %s Patients, was %s", after, before)
		}
		if links, _ := seealso(t, base, m); len(links) != 4 {
			t.Errorf("a rejected record changed the master: %v", links)
		}

		// Search by any linked identifier: the source, and its master
		// through the link (chained or included).
		r := do(t, "GET", base+"/Patient?identifier="+sidMRN+"H2|B-7&_include=Patient:link", "", "").wantStatus(t, 200)
		if ids := ids(r, "match"); len(ids) != 1 || ids[0] != "Patient/"+b {
			t.Errorf("identifier search: %v", ids)
		}
		if inc := ids(r, "include"); len(inc) != 1 || inc[0] != "Patient/"+m {
			t.Errorf("the master is not included: %v", inc)
		}
		r = do(t, "GET", base+"/Patient?link:Patient.identifier="+sidMRN+"H4|D-1&_tag="+masterTag, "", "").wantStatus(t, 200)
		if ids := ids(r, "match"); len(ids) != 1 || ids[0] != "Patient/"+m {
			t.Errorf("master by a source's identifier: %v %s", ids, r.body)
		}

		// An institution overwrites its record without the link: it is
		// added again, to the same master.
		over := strings.Replace(pat("H1", "A-1", sidResident, id, "张伟", "male", "1980-03-07", "13912345678"), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+a.str("id")+`",`, 1)
		do(t, "PUT", base+"/Patient/"+a.str("id"), fj, over).wantStatus(t, 200)
		if masterOf(t, base, a.str("id")) != m {
			t.Errorf("an overwritten record moved")
		}
		// A changed record is re-matched: D (linked without a number) gets
		// 李娜's number and details: it moves to her master, and leaves.
		lm := masterOf(t, base, li)
		moved := strings.Replace(pat("H4", "D-1", sidResident, idnumber.Generate("120114", time.Date(1975, 11, 2, 0, 0, 0, 0, time.UTC), 42), "李娜", "female", "1975-11-02", "13800001111"),
			`{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+d+`",`, 1)
		do(t, "PUT", base+"/Patient/"+d, fj, moved).wantStatus(t, 200)
		if got := masterOf(t, base, d); got != lm {
			t.Errorf("the changed record is at %s, want 李娜's master %s", got, lm)
		}
		if links, _ := seealso(t, base, m); len(links) != 3 || links[d] != "" {
			t.Errorf("the old master still lists the record: %v", links)
		}
		// A master cannot be written or deleted by a client.
		do(t, "DELETE", base+"/Patient/"+m, "", "").wantStatus(t, 422)
		do(t, "POST", base+"/Patient", fj, `{"resourceType":"Patient","meta":{"tag":[{"system":"https://xietong.dev/fhir/CodeSystem/patient-role","code":"master"}]}}`).wantStatus(t, 422)
		// Deleting a source takes it off its master.
		do(t, "DELETE", base+"/Patient/"+c.str("id"), "", "").wantStatus(t, 204)
		if links, _ := seealso(t, base, m); len(links) != 2 {
			t.Errorf("after the delete the master lists %v", links)
		}
	})
}

// Review Tasks are decided with Task/[id]/$decide; manual link, unlink
// and merge; every one audited; bad requests get 4xx and change nothing.
func TestIdentityManagement(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		born := time.Date(1980, 3, 7, 0, 0, 0, 0, time.UTC)
		id := idnumber.Generate("110112", born, 123)
		a := do(t, "POST", base+"/Patient", fj, pat("H1", "A-1", sidResident, id, "张伟", "male", "1980-03-07", "13912345678")).wantStatus(t, 201).str("id")
		b := do(t, "POST", base+"/Patient", fj, pat("H2", "B-1", sidResident, id, "张伟", "male", "1980-03-07", "")).wantStatus(t, 201).str("id")
		m := masterOf(t, base, a)
		twin := do(t, "POST", base+"/Patient", fj, pat("H1", "A-2", "", "", "张强", "male", "1980-03-07", "13912345678")).wantStatus(t, 201).str("id")
		tm := masterOf(t, base, twin)
		task := do(t, "GET", base+"/Task?focus=Patient/"+twin, "", "").wantStatus(t, 200).str("entry", 0, "resource", "id")
		if task == "" {
			t.Fatal("no review task")
		}
		// Bad decisions.
		do(t, "POST", base+"/Task/"+task+"/$decide", fj, params(`{"name":"decision","valueCode":"maybe"}`)).wantStatus(t, 400)
		do(t, "POST", base+"/Task/"+task+"/$decide", fj, params()).wantStatus(t, 400)
		do(t, "POST", base+"/Task/"+task+"/$decide", fj, params(`{"name":"decision","valueCode":"link"}`, refParam("master", tm))).wantStatus(t, 422)
		do(t, "POST", base+"/Task/nope/$decide", fj, params(`{"name":"decision","valueCode":"link"}`)).wantStatus(t, 404)
		// The reviewer says: not the same person.
		r := do(t, "POST", base+"/Task/"+task+"/$decide", fj, params(`{"name":"decision","valueCode":"distinct"}`), "X-Xietong-Role", "clinician", "X-Xietong-Organization", "H1").wantStatus(t, 200)
		if r.str("status") != "completed" || r.str("output", 0, "valueCode") != "distinct" {
			t.Errorf("decided task %s", r.body)
		}
		do(t, "POST", base+"/Task/"+task+"/$decide", fj, params(`{"name":"decision","valueCode":"link"}`)).wantStatus(t, 409)
		// The twin's record, written again, stays apart (and raises no new review).
		over := strings.Replace(pat("H1", "A-2", "", "", "张强", "male", "1980-03-07", "13912345678"), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+twin+`",`, 1)
		do(t, "PUT", base+"/Patient/"+twin, fj, over).wantStatus(t, 200)
		if masterOf(t, base, twin) != tm {
			t.Errorf("the twin moved after the reviewer's decision")
		}

		// Unlink B from the master: a master of its own, remembered.
		nb := do(t, "POST", base+"/Patient/"+b+"/$unlink", "", "").wantStatus(t, 200).str("id")
		if nb == m || masterOf(t, base, b) != nb {
			t.Fatalf("unlink: %s has master %s", b, masterOf(t, base, b))
		}
		do(t, "POST", base+"/Patient/"+a+"/$unlink", "", "").wantStatus(t, 422) // its master's only record now
		overB := strings.Replace(pat("H2", "B-1", sidResident, id, "张伟", "male", "1980-03-07", ""), `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+b+`",`, 1)
		do(t, "PUT", base+"/Patient/"+b, fj, overB).wantStatus(t, 200)
		if masterOf(t, base, b) != nb {
			t.Errorf("the unlinked record went back to its old master on rewrite")
		}
		// Link it back by hand.
		do(t, "POST", base+"/Patient/"+b+"/$link", fj, params()).wantStatus(t, 400)
		do(t, "POST", base+"/Patient/"+b+"/$link", fj, params(`{"name":"master","valueReference":{"reference":"Observation/1"}}`)).wantStatus(t, 400)
		do(t, "POST", base+"/Patient/"+b+"/$link", fj, params(refParam("master", "nope"))).wantStatus(t, 422)
		do(t, "POST", base+"/Patient/"+b+"/$link", fj, params(refParam("master", a))).wantStatus(t, 422)  // a source, not a master
		do(t, "POST", base+"/Patient/"+m+"/$link", fj, params(refParam("master", nb))).wantStatus(t, 422) // a master is not linked
		do(t, "POST", base+"/Patient/nope/$link", fj, params(refParam("master", m))).wantStatus(t, 404)
		do(t, "GET", base+"/Patient/"+b+"/$link", "", "").wantStatus(t, 405)
		r = do(t, "POST", base+"/Patient/"+b+"/$link", fj, params(refParam("master", m)), "X-Xietong-Role", "clinician").wantStatus(t, 200)
		if r.str("id") != m || masterOf(t, base, b) != m {
			t.Errorf("link: %s", r.body)
		}
		if links, _ := seealso(t, base, m); links[b] != "manual" {
			t.Errorf("manual link basis %v", links)
		}
		if _, active := seealso(t, base, nb); active {
			t.Errorf("the emptied master %s is still active", nb)
		}
		// A manual link to a master holding a different valid number is refused.
		li := do(t, "POST", base+"/Patient", fj, pat("H2", "B-9", sidResident, idnumber.Generate("120114", time.Date(1975, 11, 2, 0, 0, 0, 0, time.UTC), 42), "李娜", "female", "1975-11-02", "13800001111")).wantStatus(t, 201).str("id")
		lm := masterOf(t, base, li)
		e := do(t, "POST", base+"/Patient/"+li+"/$link", fj, params(refParam("master", m))).wantStatus(t, 422)
		if !strings.Contains(e.diagnostics(), "different valid resident ID numbers") {
			t.Errorf("veto: %s", e.diagnostics())
		}
		// Merge: the twin's master into the master (a person decided after all).
		do(t, "POST", base+"/Patient/$merge", fj, params(refParam("source-patient", lm), refParam("target-patient", m))).wantStatus(t, 422)
		do(t, "POST", base+"/Patient/$merge", fj, params(refParam("source-patient", m), refParam("target-patient", a))).wantStatus(t, 422) // one master already
		do(t, "POST", base+"/Patient/$merge", fj, params(refParam("source-patient", tm))).wantStatus(t, 400)
		do(t, "POST", base+"/Patient/$merge", fj, params(refParam("source-patient", tm), refParam("target-patient", m), `{"name":"result-patient","resource":{"resourceType":"Patient"}}`)).wantStatus(t, 400)
		pv := do(t, "POST", base+"/Patient/$merge", fj, params(refParam("source-patient", tm), refParam("target-patient", m), `{"name":"preview","valueBoolean":true}`)).wantStatus(t, 200)
		if masterOf(t, base, twin) != tm || !strings.Contains(string(pv.body), "Patient/"+twin) {
			t.Errorf("preview wrote or did not show the result: %s", pv.body)
		}
		mg := do(t, "POST", base+"/Patient/$merge", fj, params(refParam("source-patient", tm), refParam("target-patient", m))).wantStatus(t, 200)
		if mg.str("parameter", 2, "name") != "result" || mg.str("parameter", 2, "resource", "id") != m {
			t.Errorf("merge answer %s", mg.body)
		}
		if masterOf(t, base, twin) != m {
			t.Errorf("the twin's record did not move")
		}
		old := do(t, "GET", base+"/Patient/"+tm, "", "").wantStatus(t, 200)
		if old.str("active") != "false" || old.str("link", 0, "type") != "replaced-by" || old.str("link", 0, "other", "reference") != "Patient/"+m {
			t.Errorf("merged master %s", old.body)
		}
		do(t, "POST", base+"/Patient/"+b+"/$link", fj, params(refParam("master", tm))).wantStatus(t, 422) // retired

		// The audit trail says who linked what.
		var trail *response
		for i := 0; i < 50; i++ {
			trail = do(t, "GET", base+"/$audit?entity=Patient/"+b, "", "").wantStatus(t, 200)
			if strings.Contains(string(trail.body), "$link") && strings.Contains(string(trail.body), "$unlink") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(string(trail.body), `"name":"$link"`) || !strings.Contains(string(trail.body), "clinician") {
			t.Errorf("the audit trail of Patient/%s does not record the manual link: %s", b, trail.body)
		}
	})
}

// PIXm: from any identifier, all the others of the person.
func TestPIX(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		id := idnumber.Generate("110112", bornLiu, 31)
		a := do(t, "POST", base+"/Patient", fj, pat("H1", "A-1", sidResident, id, "刘洋", "male", "1985-06-12", "")).wantStatus(t, 201).str("id")
		b := do(t, "POST", base+"/Patient", fj, pat("H2", "B-1", sidResident, id, "刘洋", "male", "1985-06-12", "")).wantStatus(t, 201).str("id")
		m := masterOf(t, base, a)
		r := do(t, "GET", base+"/Patient/$ihe-pix?sourceIdentifier="+sidMRN+"H1|A-1", "", "").wantStatus(t, 200)
		body := string(r.body)
		for _, want := range []string{`"value":"B-1"`, `"value":"` + id + `"`, "Patient/" + m, "Patient/" + a, "Patient/" + b} {
			if !strings.Contains(body, want) {
				t.Errorf("$ihe-pix lacks %s: %s", want, body)
			}
		}
		if strings.Contains(body, `"value":"A-1"`) {
			t.Errorf("$ihe-pix returns the source identifier: %s", body)
		}
		r = do(t, "GET", base+"/Patient/$ihe-pix?sourceIdentifier="+sidResident+"|"+id+"&targetSystem="+sidMRN+"H2", "", "").wantStatus(t, 200)
		if strings.Count(string(r.body), "targetIdentifier") != 1 || !strings.Contains(string(r.body), `"value":"B-1"`) {
			t.Errorf("targetSystem: %s", r.body)
		}
		do(t, "GET", base+"/Patient/$ihe-pix?sourceIdentifier="+sidMRN+"H1|nope", "", "").wantStatus(t, 404)
		do(t, "GET", base+"/Patient/$ihe-pix?sourceIdentifier=A-1", "", "").wantStatus(t, 400)
		do(t, "GET", base+"/Patient/$ihe-pix", "", "").wantStatus(t, 400)
		do(t, "GET", base+"/Patient/$ihe-pix?sourceIdentifier="+sidMRN+"H1|A-1&targetSystem=urn:nowhere", "", "").wantStatus(t, 403)
	})
}

// Two institutions registering one person at the same moment get one
// master (the ID number's case and the probabilistic case), and a
// restarted node rebuilds its index from the store.
func TestIdentityConcurrency(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			dsn := st.dsn(t)
			base := node(t, dsn)
			born := time.Date(1980, 3, 7, 0, 0, 0, 0, time.UTC)
			id := idnumber.Generate("110112", born, 123)
			const n = 6
			var wg sync.WaitGroup
			ids := make([]string, 2*n)
			for i := range n {
				wg.Add(2)
				go func() {
					defer wg.Done()
					ids[i] = do(t, "POST", base+"/Patient", fj, pat(fmt.Sprintf("H%d", i), "A", sidResident, id, "张伟", "male", "1980-03-07", "")).wantStatus(t, 201).str("id")
				}()
				go func() {
					defer wg.Done()
					ids[n+i] = do(t, "POST", base+"/Patient", fj, pat(fmt.Sprintf("H%d", i), "B", "", "", "王芳", "female", "1991-09-30", "13611112222")).wantStatus(t, 201).str("id")
				}()
			}
			wg.Wait()
			for _, group := range [][]string{ids[:n], ids[n:]} {
				m := masterOf(t, base, group[0])
				for _, s := range group[1:] {
					if got := masterOf(t, base, s); got != m {
						t.Errorf("concurrent records of one person: masters %s and %s", m, got)
					}
				}
				if links, _ := seealso(t, base, m); len(links) != n {
					t.Errorf("master %s lists %d records, want %d", m, len(links), n)
				}
			}
			if got := countOf(t, base+"/Patient?_tag="+masterTag+"&_summary=count"); got != "2" {
				t.Errorf("%s masters, want 2", got)
			}
			if st.name != "sqlite" {
				return
			}
			// A second node on the same database rebuilds the index.
			srv, err := server.New(context.Background(), server.Config{DB: dsn, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			hs := httptest.NewServer(srv.Handler())
			defer hs.Close()
			base2 := hs.URL + "/fhir"
			x := do(t, "POST", base2+"/Patient", fj, pat("H9", "C", "", "", "王芳", "female", "1991-09-30", "13611112222")).wantStatus(t, 201).str("id")
			if masterOf(t, base2, x) != masterOf(t, base2, ids[n]) {
				t.Errorf("after a restart a known person got a new master")
			}
		})
	}
}

// A refer link to a master written by another service (the one-code
// resolve) is trusted; one to something that is not a master is not.
func TestIdentityAssertedLink(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "a.db"))
	a := do(t, "POST", base+"/Patient", fj, pat("H1", "A-1", "", "", "赵敏", "female", "1970-01-01", "")).wantStatus(t, 201).str("id")
	m := masterOf(t, base, a)
	in := strings.Replace(pat("H2", "B-1", "", "", "赵敏", "female", "1970-01-01", ""), `"name"`, `"link":[{"other":{"reference":"Patient/`+m+`"},"type":"refer"}],"name"`, 1)
	b := do(t, "POST", base+"/Patient", fj, in).wantStatus(t, 201).str("id")
	if masterOf(t, base, b) != m {
		t.Errorf("the asserted link was not kept")
	}
	if links, _ := seealso(t, base, m); links[b] != "asserted" {
		t.Errorf("links %v", links)
	}
	in = strings.Replace(pat("H3", "C-1", "", "", "钱七", "male", "1960-01-01", ""), `"name"`, `"link":[{"other":{"reference":"Patient/`+a+`"},"type":"refer"}],"name"`, 1)
	c := do(t, "POST", base+"/Patient", fj, in).wantStatus(t, 201)
	if got := masterOf(t, base, c.str("id")); got == m {
		t.Errorf("a refer link to a non-master decided the master")
	}
	if c.str("link", 0, "other", "reference") != "Patient/"+a {
		t.Errorf("the institution's own link was dropped: %s", c.body)
	}
}

// residentID is the i-th valid resident ID number of a man born on
// 1990-03-07 (test patients), i < 500.
func residentID(i int) string {
	return idnumber.Generate("110101", time.Date(1990, 3, 7, 0, 0, 0, 0, time.UTC), 2*i+1)
}
