package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/demo"
	"github.com/xietong/xietong/fhir/validate"
	"github.com/xietong/xietong/server"
	"github.com/xietong/xietong/store/postgres/pgtest"
)

// stores names the databases every API test runs on.
var stores = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "test.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.Schema(t) }},
}

// eachStore runs a test once per store kind.
func eachStore(t *testing.T, fn func(t *testing.T, base string)) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { fn(t, node(t, st.dsn(t))) })
	}
}

// node starts a node on a fresh database and returns its FHIR base URL.
func node(t *testing.T, db string) string {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return hs.URL + "/fhir"
}

type response struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func do(t *testing.T, method, url, contentType string, body string, headers ...string) *response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := &response{status: resp.StatusCode, header: resp.Header, body: data}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &r.json); err != nil {
			t.Fatalf("%s %s: response is not JSON: %v\n%s", method, url, err, data)
		}
	}
	return r
}

const fj = "application/fhir+json"

func (r *response) wantStatus(t *testing.T, want int) *response {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body: %s", r.status, want, r.body)
	}
	if want >= 400 {
		if r.json["resourceType"] != "OperationOutcome" {
			t.Fatalf("error response is not an OperationOutcome: %s", r.body)
		}
	}
	return r
}

func (r *response) str(path ...any) string {
	var v any = r.json
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return ""
			}
			v = a[k]
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		return fmt.Sprint(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (r *response) diagnostics() string {
	var parts []string
	issues, _ := r.json["issue"].([]any)
	for _, i := range issues {
		m, _ := i.(map[string]any)
		parts = append(parts, fmt.Sprint(m["diagnostics"]))
	}
	return strings.Join(parts, " | ")
}

const patient = `{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.156.10011.1.1","value":"110101199003077774"}],
 "name":[{"family":"张","given":["三"],"text":"张三"}],"gender":"male","birthDate":"1990-03-07"}`

func TestCRUDAndHistory(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		c := do(t, "POST", base+"/Patient", fj, patient).wantStatus(t, 201)
		id := c.str("id")
		if id == "" || c.str("meta", "versionId") != "1" || c.str("meta", "lastUpdated") == "" {
			t.Fatalf("created resource lacks id or meta: %s", c.body)
		}
		if loc := c.header.Get("Location"); !strings.HasSuffix(loc, "/fhir/Patient/"+id+"/_history/1") {
			t.Errorf("Location = %q", loc)
		}
		if et := c.header.Get("ETag"); et != `W/"1"` {
			t.Errorf("ETag = %q", et)
		}
		r := do(t, "GET", base+"/Patient/"+id, "", "").wantStatus(t, 200)
		if r.str("name", 0, "text") != "张三" || r.str("birthDate") != "1990-03-07" {
			t.Errorf("read back: %s", r.body)
		}
		// Update with the right and a stale version.
		upd := strings.Replace(patient, `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+id+`",`, 1)
		upd = strings.Replace(upd, `"male"`, `"other"`, 1)
		do(t, "PUT", base+"/Patient/"+id, fj, upd, "If-Match", `W/"1"`).wantStatus(t, 200)
		do(t, "PUT", base+"/Patient/"+id, fj, upd, "If-Match", `W/"1"`).wantStatus(t, 412)
		if g := do(t, "GET", base+"/Patient/"+id, "", "").wantStatus(t, 200); g.str("gender") != "other" || g.str("meta", "versionId") != "2" {
			t.Errorf("after update: %s", g.body)
		}
		if v1 := do(t, "GET", base+"/Patient/"+id+"/_history/1", "", "").wantStatus(t, 200); v1.str("gender") != "male" {
			t.Errorf("vread 1: %s", v1.body)
		}
		do(t, "DELETE", base+"/Patient/"+id, "", "").wantStatus(t, 204)
		do(t, "GET", base+"/Patient/"+id, "", "").wantStatus(t, 410)
		h := do(t, "GET", base+"/Patient/"+id+"/_history", "", "").wantStatus(t, 200)
		if h.str("type") != "history" || h.str("total") != "3" || h.str("entry", 0, "request", "method") != "DELETE" {
			t.Errorf("history: %s", h.body)
		}
		// Re-create after delete continues the version sequence.
		if rc := do(t, "PUT", base+"/Patient/"+id, fj, upd).wantStatus(t, 201); rc.str("meta", "versionId") != "4" {
			t.Errorf("re-create: %s", rc.body)
		}
		// Update as create with a client-chosen id.
		cid := strings.Replace(patient, `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"pat-001",`, 1)
		do(t, "PUT", base+"/Patient/pat-001", fj, cid).wantStatus(t, 201)
		do(t, "GET", base+"/Patient/pat-001", "", "").wantStatus(t, 200)
		do(t, "GET", base+"/Patient/_history", "", "").wantStatus(t, 200)
		do(t, "GET", base+"/_history?_count=2", "", "").wantStatus(t, 200)
	})
}

func TestPreferAndShaping(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		if r := do(t, "POST", base+"/Patient", fj, patient, "Prefer", "return=minimal"); r.status != 201 || len(r.body) != 0 {
			t.Errorf("return=minimal: %d %s", r.status, r.body)
		}
		r := do(t, "POST", base+"/Patient", fj, patient, "Prefer", "return=OperationOutcome").wantStatus(t, 201)
		if r.str("resourceType") != "OperationOutcome" {
			t.Errorf("return=OperationOutcome: %s", r.body)
		}
		id := strings.Split(r.header.Get("Location"), "/")[5]
		// In a transaction every write entry carries its outcome too; a
		// read entry carries its resource.
		tr := do(t, "POST", base, fj, `{"resourceType":"Bundle","type":"transaction","entry":[
			{"fullUrl":"urn:uuid:5b4a3c2d-0000-4000-8000-000000000001","resource":{"resourceType":"Organization","name":"O"},"request":{"method":"POST","url":"Organization"}},
			{"resource":{"resourceType":"Patient","id":"prefer-tx","gender":"female"},"request":{"method":"PUT","url":"Patient/prefer-tx"}},
			{"request":{"method":"GET","url":"Patient/`+id+`"}}]}`, "Prefer", "return=OperationOutcome").wantStatus(t, 200)
		for i := 0; i < 2; i++ {
			if tr.str("entry", i, "response", "outcome", "resourceType") != "OperationOutcome" || !strings.Contains(tr.str("entry", i, "response", "outcome", "issue", 0, "diagnostics"), "was written as version") {
				t.Errorf("transaction entry %d under return=OperationOutcome: %s", i, tr.body)
			}
		}
		if tr.str("entry", 2, "response", "outcome") != "" || tr.str("entry", 2, "resource", "resourceType") != "Patient" {
			t.Errorf("read entry under return=OperationOutcome: %s", tr.body)
		}
		s := do(t, "GET", base+"/Patient/"+id+"?_elements=gender", "", "").wantStatus(t, 200)
		if s.str("gender") != "male" || s.str("name") != "" || !strings.Contains(string(s.body), "SUBSETTED") {
			t.Errorf("_elements: %s", s.body)
		}
		s = do(t, "GET", base+"/Patient/"+id+"?_summary=true", "", "").wantStatus(t, 200)
		if s.str("name", 0, "family") != "张" || !strings.Contains(string(s.body), "SUBSETTED") {
			t.Errorf("_summary=true: %s", s.body)
		}
		if nm := do(t, "GET", base+"/Patient/"+id, "", "", "If-None-Match", `W/"1"`); nm.status != 304 {
			t.Errorf("If-None-Match: %d", nm.status)
		}
	})
}

// Conditional criteria read dates in the server's zone, as the index
// does: 07:00 on 2026-03-07 in Asia/Shanghai is 23:00 UTC the day before,
// so date=2026-03-07 read as a UTC day would not match the Observation and
// If-None-Exist would store it a second time.
func TestConditionalCreateReadsDatesInTheServerZone(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		obs := `{"resourceType":"Observation","status":"final",
 "code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},
 "effectiveDateTime":"2026-03-07T07:00:00+08:00","valueQuantity":{"value":5.4,"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}`
		ine := "code=http://loinc.org|2345-7&date=2026-03-07"
		a := do(t, "POST", base+"/Observation", fj, obs, "If-None-Exist", ine).wantStatus(t, 201)
		b := do(t, "POST", base+"/Observation", fj, obs, "If-None-Exist", ine).wantStatus(t, 200)
		if a.str("id") != b.str("id") {
			t.Errorf("If-None-Exist with a date stored the Observation twice: %s vs %s", a.str("id"), b.str("id"))
		}
	})
}

func TestConditionalInteractions(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		ine := "identifier=urn:oid:2.16.156.10011.1.1|110101199003077774"
		a := do(t, "POST", base+"/Patient", fj, patient, "If-None-Exist", ine).wantStatus(t, 201)
		b := do(t, "POST", base+"/Patient", fj, patient, "If-None-Exist", ine).wantStatus(t, 200)
		if a.str("id") != b.str("id") {
			t.Errorf("conditional create made a second patient: %s vs %s", a.str("id"), b.str("id"))
		}
		upd := strings.Replace(patient, `"male"`, `"female"`, 1)
		u := do(t, "PUT", base+"/Patient?"+ine, fj, upd).wantStatus(t, 200)
		if u.str("id") != a.str("id") || u.str("gender") != "female" {
			t.Errorf("conditional update: %s", u.body)
		}
		// Conditional update with no match creates.
		other := strings.Replace(patient, "110101199003077774", "110101199003078881", 1)
		do(t, "PUT", base+"/Patient?identifier=urn:oid:2.16.156.10011.1.1|110101199003078881", fj, other).wantStatus(t, 201)
		// Two matches now share the family name: ambiguous.
		do(t, "PUT", base+"/Patient?family=张", fj, patient).wantStatus(t, 412)
		do(t, "DELETE", base+"/Patient?"+ine, "", "").wantStatus(t, 204)
		do(t, "GET", base+"/Patient/"+a.str("id"), "", "").wantStatus(t, 410)
		// Unknown parameters in conditional criteria are refused, never ignored.
		do(t, "DELETE", base+"/Patient?nonsense=1", "", "").wantStatus(t, 400)
	})
}

func TestPatch(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		id := do(t, "POST", base+"/Patient", fj, patient).wantStatus(t, 201).str("id")
		p := do(t, "PATCH", base+"/Patient/"+id, "application/json-patch+json",
			`[{"op":"replace","path":"/gender","value":"female"},{"op":"add","path":"/name/0/given/-","value":"丰"}]`).wantStatus(t, 200)
		if p.str("gender") != "female" || p.str("name", 0, "given", 1) != "丰" || p.str("meta", "versionId") != "2" {
			t.Errorf("patched: %s", p.body)
		}
		do(t, "PATCH", base+"/Patient/"+id, "application/json-patch+json", `[{"op":"replace","path":"/gender","value":"robot"}]`).wantStatus(t, 400)
		do(t, "PATCH", base+"/Patient/"+id, "application/json-patch+json", `[{"op":"test","path":"/gender","value":"male"}]`).wantStatus(t, 400)
		do(t, "PATCH", base+"/Patient/"+id, fj, `[]`).wantStatus(t, 415)
	})
}

func TestTransaction(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		tx := `{"resourceType":"Bundle","type":"transaction","entry":[
		 {"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":` + patient + `,"request":{"method":"POST","url":"Patient"}},
		 {"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222","resource":{"resourceType":"Observation","status":"final",
		   "code":{"coding":[{"system":"http://loinc.org","code":"718-7","display":"Hemoglobin"}]},
		   "subject":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"},
		   "effectiveDateTime":"2026-10-01T08:00:00+08:00",
		   "valueQuantity":{"value":13.5,"unit":"g/dL","system":"http://unitsofmeasure.org","code":"g/dL"}},
		  "request":{"method":"POST","url":"Observation"}}]}`
		r := do(t, "POST", base, fj, tx).wantStatus(t, 200)
		if r.str("type") != "transaction-response" || !strings.HasPrefix(r.str("entry", 0, "response", "status"), "201") {
			t.Fatalf("transaction response: %s", r.body)
		}
		patLoc := r.str("entry", 0, "response", "location")
		obsLoc := r.str("entry", 1, "response", "location")
		pid := strings.Split(patLoc, "/")[1]
		obs := do(t, "GET", base+"/"+strings.Join(strings.Split(obsLoc, "/")[:2], "/"), "", "").wantStatus(t, 200)
		if got := obs.str("subject", "reference"); got != "Patient/"+pid {
			t.Errorf("urn:uuid reference not rewritten: %q, want Patient/%s", got, pid)
		}
		// Search finds it through the rewritten reference and the code.
		s := do(t, "GET", base+"/Observation?subject=Patient/"+pid+"&code=http://loinc.org|718-7", "", "").wantStatus(t, 200)
		if s.str("total") != "1" {
			t.Errorf("search after transaction: %s", s.body)
		}

		// A conditional create that finds the patient: the Observation must
		// point at the existing patient, not at a tentative new id.
		cond := strings.Replace(tx, `"request":{"method":"POST","url":"Patient"}`,
			`"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:oid:2.16.156.10011.1.1|110101199003077774"}`, 1)
		r2 := do(t, "POST", base, fj, cond).wantStatus(t, 200)
		if got := r2.str("entry", 0, "response", "status"); !strings.HasPrefix(got, "200") {
			t.Errorf("conditional create in a transaction: status %q, want 200", got)
		}
		obs2 := strings.Join(strings.Split(r2.str("entry", 1, "response", "location"), "/")[:2], "/")
		if got := do(t, "GET", base+"/"+obs2, "", "").wantStatus(t, 200).str("subject", "reference"); got != "Patient/"+pid {
			t.Errorf("reference to a conditionally-created entry = %q, want Patient/%s", got, pid)
		}
		// Conditional references are resolved in the transaction.
		condRef := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},
		  "subject":{"reference":"Patient?identifier=urn:oid:2.16.156.10011.1.1|110101199003077774"}},"request":{"method":"POST","url":"Observation"}}]}`
		r3 := do(t, "POST", base, fj, condRef).wantStatus(t, 200)
		obs3 := strings.Join(strings.Split(r3.str("entry", 0, "response", "location"), "/")[:2], "/")
		if got := do(t, "GET", base+"/"+obs3, "", "").wantStatus(t, 200).str("subject", "reference"); got != "Patient/"+pid {
			t.Errorf("conditional reference resolved to %q, want Patient/%s", got, pid)
		}
		noMatch := strings.Replace(condRef, "110101199003077774", "000000000000000000", 1)
		do(t, "POST", base, fj, noMatch).wantStatus(t, 412)

		// All or nothing: the second entry is invalid, so the first is not stored.
		bad := strings.Replace(tx, `"status":"final"`, `"status":"done"`, 1)
		bad = strings.Replace(bad, "110101199003077774", "110101199003079999", 1)
		e := do(t, "POST", base, fj, bad).wantStatus(t, 400)
		if !strings.Contains(e.diagnostics(), "Bundle.entry[1]") {
			t.Errorf("the error should name the entry: %s", e.diagnostics())
		}
		if s := do(t, "GET", base+"/Patient?identifier=110101199003079999", "", "").wantStatus(t, 200); s.str("total") != "0" {
			t.Errorf("a failed transaction left a patient behind: %s", s.body)
		}
		// A urn:uuid reference to nothing.
		dangling := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},
		  "subject":{"reference":"urn:uuid:99999999-9999-4999-8999-999999999999"}},"request":{"method":"POST","url":"Observation"}}]}`
		if d := do(t, "POST", base, fj, dangling).wantStatus(t, 400); !strings.Contains(d.diagnostics(), "names no entry") {
			t.Errorf("dangling reference: %s", d.diagnostics())
		}
	})
}

func TestBatchIsolatesFailures(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		b := `{"resourceType":"Bundle","type":"batch","entry":[
		 {"resource":` + patient + `,"request":{"method":"POST","url":"Patient"}},
		 {"resource":{"resourceType":"Patient","gender":"robot"},"request":{"method":"POST","url":"Patient"}},
		 {"request":{"method":"GET","url":"Patient/does-not-exist"}}]}`
		r := do(t, "POST", base, fj, b).wantStatus(t, 200)
		for i, want := range []string{"201", "400", "404"} {
			if got := r.str("entry", i, "response", "status"); !strings.HasPrefix(got, want) {
				t.Errorf("entry %d status %q, want %s (%s)", i, got, want, r.body)
			}
		}
		if r.str("entry", 1, "response", "outcome", "resourceType") != "OperationOutcome" {
			t.Errorf("failed entry has no outcome: %s", r.body)
		}
	})
}

// sourcesOnly leaves out the master Patients the EMPI keeps beside the
// institutions' records.
const sourcesOnly = "&_tag:not=https://xietong.dev/fhir/CodeSystem/patient-role|master"

func TestSearchBasics(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		for i := 0; i < 7; i++ {
			p := strings.Replace(patient, "110101199003077774", residentID(i), 1)
			if i%2 == 1 {
				p = strings.Replace(p, `"1990-03-07"`, `"1985-06-01"`, 1)
			}
			do(t, "POST", base+"/Patient", fj, p).wantStatus(t, 201)
		}
		cases := []struct {
			query string
			total string
		}{
			{"family=张", "7"},
			{"name=张三", "7"},
			{"family:exact=张", "7"},
			{"family=李", "0"},
			{"birthdate=1985", "3"},
			{"birthdate=ge1990-01-01", "4"},
			{"birthdate=lt1990", "3"},
			{"gender=male", "7"},
			{"identifier=urn:oid:2.16.156.10011.1.1|" + residentID(3), "1"},
			{"identifier=" + residentID(3) + "," + residentID(4), "2"},
			{"_summary=count", "7"},
		}
		for _, c := range cases {
			r := do(t, "GET", base+"/Patient?"+c.query+sourcesOnly, "", "").wantStatus(t, 200)
			if r.str("total") != c.total {
				t.Errorf("%s: total %s, want %s", c.query, r.str("total"), c.total)
			}
		}
		// Paging: 7 results in pages of 3 with next links, no duplicates.
		seen := map[string]bool{}
		next := base + "/Patient?_count=3" + sourcesOnly
		pages := 0
		for next != "" && pages < 10 {
			r := do(t, "GET", next, "", "").wantStatus(t, 200)
			pages++
			entries, _ := r.json["entry"].([]any)
			for i := range entries {
				id := r.str("entry", i, "resource", "id")
				if seen[id] {
					t.Errorf("duplicate %s across pages", id)
				}
				seen[id] = true
			}
			next = ""
			links, _ := r.json["link"].([]any)
			for _, l := range links {
				if m := l.(map[string]any); m["relation"] == "next" {
					next = m["url"].(string)
				}
			}
		}
		if len(seen) != 7 || pages != 3 {
			t.Errorf("paging saw %d resources in %d pages", len(seen), pages)
		}
		// Strict handling names the unknown parameter; lenient ignores it.
		e := do(t, "GET", base+"/Patient?foo=bar", "", "", "Prefer", "handling=strict").wantStatus(t, 400)
		if !strings.Contains(e.diagnostics(), "foo") {
			t.Errorf("strict: %s", e.diagnostics())
		}
		if l := do(t, "GET", base+"/Patient?foo=bar"+sourcesOnly, "", "").wantStatus(t, 200); l.str("total") != "7" {
			t.Errorf("lenient: %s", l.body)
		}
		do(t, "GET", base+"/Patient?birthdate=1990-13", "", "").wantStatus(t, 400)
		do(t, "POST", base+"/Patient/_search", "application/x-www-form-urlencoded", "family=张").wantStatus(t, 200)
	})
}

func TestBadInput(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		deep := `{"resourceType":"Patient","extension":` + strings.Repeat(`[`, 5000) + strings.Repeat(`]`, 5000) + `}`
		cases := []struct {
			name, method, path, ct, body string
			status                       int
			mention                      string
		}{
			{"malformed JSON", "POST", "/Patient", fj, `{"resourceType":"Patient",`, 400, "line 1"},
			{"not an object", "POST", "/Patient", fj, `[1,2]`, 400, ""},
			{"wrong content type", "POST", "/Patient", "text/plain", patient, 415, "Content-Type"},
			{"no content type", "POST", "/Patient", "", patient, 415, "Content-Type"},
			{"deeply nested", "POST", "/Patient", fj, deep, 400, "nest"},
			{"type mismatch", "POST", "/Observation", fj, patient, 400, "Observation"},
			{"unknown type", "GET", "/Patients/1", "", "", 404, "Patients"},
			{"unknown type in body", "POST", "/Patient", fj, `{"resourceType":"Patients"}`, 400, "Patients"},
			{"invalid id", "GET", "/Patient/bad_id!", "", "", 400, "id"},
			{"id mismatch", "PUT", "/Patient/abc", fj, `{"resourceType":"Patient","id":"xyz"}`, 400, "differs"},
			{"invalid element", "POST", "/Patient", fj, `{"resourceType":"Patient","gender":"robot"}`, 400, "gender"},
			{"unknown element", "POST", "/Patient", fj, `{"resourceType":"Patient","colour":"blue"}`, 400, "colour"},
			{"not found", "GET", "/Patient/nope", "", "", 404, "Patient/nope"},
			{"bad version", "GET", "/Patient/nope/_history/x", "", "", 400, "version"},
			{"xml", "GET", "/Patient?_format=xml", "", "", 406, "JSON"},
			{"bundle of wrong type", "POST", "", fj, `{"resourceType":"Bundle","type":"collection"}`, 400, "batch or transaction"},
			{"unsupported operation", "GET", "/$nonsense", "", "", 400, "operation"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := do(t, c.method, base+c.path, c.ct, c.body).wantStatus(t, c.status)
				if !strings.Contains(strings.ToLower(r.diagnostics()), strings.ToLower(c.mention)) {
					t.Errorf("diagnostics %q should mention %q", r.diagnostics(), c.mention)
				}
			})
		}
	})
}

func TestOversizedBodyAndGzip(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	srv, err := server.New(context.Background(), server.Config{DB: db, MaxBodyBytes: 1000, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	big := `{"resourceType":"Patient","name":[{"text":"` + strings.Repeat("x", 2000) + `"}]}`
	do(t, "POST", hs.URL+"/fhir/Patient", fj, big).wantStatus(t, 413)

	req, _ := http.NewRequest("GET", hs.URL+"/fhir/metadata", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("metadata not gzipped: %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(zr)
	if !bytes.Contains(data, []byte(`"CapabilityStatement"`)) {
		t.Errorf("gzipped metadata: %.200s", data)
	}
}

func TestCapabilityStatement(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		r := do(t, "GET", base+"/metadata", "", "").wantStatus(t, 200)
		if r.str("fhirVersion") != "4.0.1" {
			t.Errorf("fhirVersion %q", r.str("fhirVersion"))
		}
		rest := r.json["rest"].([]any)[0].(map[string]any)
		if n := len(rest["resource"].([]any)); n != 146 {
			t.Errorf("%d resource types listed, want 146", n)
		}
	})
}

func TestLoadDemo(t *testing.T) {
	srv, err := server.New(context.Background(), server.Config{DB: filepath.Join(t.TempDir(), "demo.db"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	if empty, err := srv.Empty(ctx); err != nil || !empty {
		t.Fatalf("new store: empty=%v err=%v", empty, err)
	}
	if err := srv.LoadDemo(ctx, demo.Small()); err != nil {
		t.Fatal(err)
	}
	if empty, _ := srv.Empty(ctx); empty {
		t.Fatal("store still empty after loading the demo region")
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	r := do(t, "GET", hs.URL+"/fhir/Patient?_summary=count"+sourcesOnly, "", "").wantStatus(t, 200)
	// 200 residents and 5 near-duplicate registrations (demo/duplicates.go)
	if r.str("total") != "205" {
		t.Errorf("demo patients: %s", r.body)
	}
	r = do(t, "GET", hs.URL+"/fhir/Organization?name:contains=通州&_summary=count", "", "").wantStatus(t, 200)
	if r.str("total") == "0" {
		t.Errorf("no 通州 institutions in the demo directory")
	}
}

func TestAccessGuard(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "guard.db"))
	do(t, "POST", base+"/Patient", fj, patient, "X-Xietong-Role", "viewer").wantStatus(t, 403)
	do(t, "GET", base+"/Patient", "", "", "X-Xietong-Role", "viewer").wantStatus(t, 200)
	do(t, "POST", base+"/Patient", fj, patient, "X-Xietong-Role", "clinician").wantStatus(t, 201)
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + patient + `,"request":{"method":"POST","url":"Patient"}}]}`
	do(t, "POST", base, fj, tx, "X-Xietong-Role", "viewer").wantStatus(t, 403)
}

// TestInteropFixes pins the defects found with real FHIR clients.
func TestInteropFixes(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "interop.db"))
	cid := strings.Replace(patient, `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"p1",`, 1)
	do(t, "PUT", base+"/Patient/p1", fj, cid).wantStatus(t, 201)
	// GET entries of a batch read what their URL says, or refuse clearly.
	b := `{"resourceType":"Bundle","type":"batch","entry":[
	 {"request":{"method":"GET","url":"Patient/p1/_history"}},
	 {"request":{"method":"GET","url":"_history"}},
	 {"request":{"method":"GET","url":"Patient/p1/$everything"}},
	 {"request":{"method":"GET","url":"Patient/p1/anything/at/all"}},
	 {"request":{"method":"GET","url":"Patient/p1/_history/1"}},
	 {"request":{"method":"GET","url":"Patient/p1/Observation"}}]}`
	r := do(t, "POST", base, fj, b).wantStatus(t, 200)
	for i, want := range []string{"200", "200", "400", "400", "200", "200"} {
		if got := r.str("entry", i, "response", "status"); !strings.HasPrefix(got, want) {
			t.Errorf("batch entry %d: status %q, want %s", i, got, want)
		}
	}
	if r.str("entry", 0, "resource", "type") != "history" || r.str("entry", 5, "resource", "type") != "searchset" {
		t.Errorf("batch GET entries answered with the wrong thing: %s", r.body)
	}
	// A transaction that touches one resource twice fails whole.
	dup := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"dup2"},"request":{"method":"PUT","url":"Patient/dup2"}},{"request":{"method":"DELETE","url":"Patient/dup2"}}]}`
	do(t, "POST", base, fj, dup).wantStatus(t, 400)
	do(t, "GET", base+"/Patient/dup2", "", "").wantStatus(t, 404)
	// Absolute request URLs must be on this server.
	other := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"elsewhere"},"request":{"method":"PUT","url":"http://other.example.org/fhir/Patient/elsewhere"}}]}`
	do(t, "POST", base, fj, other).wantStatus(t, 400)
	own := strings.Replace(other, "http://other.example.org/fhir", base, 1)
	do(t, "POST", base, fj, own).wantStatus(t, 200)
	// History filtered to nothing is an empty history, not a 404.
	if h := do(t, "GET", base+"/Patient/p1/_history?_since=2099-01-01T00:00:00Z", "", "").wantStatus(t, 200); h.str("total") != "0" {
		t.Errorf("empty filtered history: %s", h.body)
	}
	if h := do(t, "GET", base+"/Patient/p1/_history", "", "").wantStatus(t, 200); !strings.HasPrefix(h.str("entry", 0, "response", "status"), "201") {
		t.Errorf("update-as-create shows in history as %s", h.str("entry", 0, "response", "status"))
	}
	// Numbers: the resource's value is compared as it is.
	obs := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
	 "effectiveDateTime":"2026-01-02T01:00:00+08:00","valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`
	do(t, "POST", base+"/Observation", fj, obs).wantStatus(t, 201)
	for q, want := range map[string]string{
		"value-quantity=72.0":        "1",
		"value-quantity=72":          "1",
		"value-quantity=gt71.9":      "1",
		"value-quantity=gt72":        "0",
		"date=2026-01-02":            "1", // a Beijing day, not a UTC day
		"date=2026-01-01":            "0",
		"date=ge2026-01-02T00:00:00": "1",
	} {
		if got := do(t, "GET", base+"/Observation?"+q, "", "").wantStatus(t, 200).str("total"); got != want {
			t.Errorf("Observation?%s: total %s, want %s", q, got, want)
		}
	}
	// A UTF-8 byte order mark is ignored; _format with an unencoded '+'.
	do(t, "POST", base+"/Patient", fj, "\xef\xbb\xbf"+patient).wantStatus(t, 201)
	do(t, "GET", base+"/Patient/p1?_format=application/fhir+json", "", "").wantStatus(t, 200)
	do(t, "GET", base+"/Patient/p1", "", "", "Accept", "application/fhir+json; fhirVersion=3.0").wantStatus(t, 406)
	// If-None-Exist in the Type?criteria form some clients send.
	do(t, "POST", base+"/Patient", fj, patient, "If-None-Exist", "Patient?identifier=urn:oid:2.16.156.10011.1.1|110101199003077774").wantStatus(t, 412)
}

func TestAuditTrail(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		id := do(t, "POST", base+"/Patient", fj, patient).wantStatus(t, 201).str("id")
		do(t, "GET", base+"/Patient/"+id, "", "").wantStatus(t, 200)
		do(t, "DELETE", base+"/Patient/"+id, "", "", "X-Xietong-Role", "viewer").wantStatus(t, 403)
		// The trail is appended in batches; wait for it.
		var r *response
		for i := 0; i < 50; i++ {
			r = do(t, "GET", base+"/$audit?entity=Patient/"+id, "", "").wantStatus(t, 200)
			if entries, _ := r.json["entry"].([]any); len(entries) >= 2 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		entries, _ := r.json["entry"].([]any)
		if len(entries) != 2 {
			t.Fatalf("audit trail of Patient/%s has %d events, want 2 (read, denied delete): %s", id, len(entries), r.body)
		}
		// The create was decided before the id existed: it is recorded
		// against the type.
		if c := do(t, "GET", base+"/$audit?entity=Patient", "", "").wantStatus(t, 200); !strings.Contains(string(c.body), `"code":"create"`) {
			t.Errorf("no create in the Patient trail: %s", c.body)
		}
		// Newest first: the denied delete.
		if r.str("entry", 0, "resource", "outcome") != "4" || r.str("entry", 0, "resource", "action") != "D" ||
			!strings.Contains(r.str("entry", 0, "resource", "outcomeDesc"), "viewer") {
			t.Errorf("denied delete recorded as %s", r.str("entry", 0, "resource"))
		}
		if r.str("entry", 1, "resource", "action") != "R" || r.str("entry", 1, "resource", "entity", 0, "what", "reference") != "Patient/"+id {
			t.Errorf("read recorded as %s", r.str("entry", 1, "resource"))
		}
		for i := range entries {
			var ev map[string]any
			json.Unmarshal([]byte(r.str("entry", i, "resource")), &ev)
			if issues := validate.New().Resource(ev); validate.HasErrors(issues) {
				t.Errorf("AuditEvent %d is not valid FHIR: %v", i, issues)
			}
		}
		if d := do(t, "GET", base+"/$audit?outcome=4", "", "").wantStatus(t, 200); d.str("total") != "" && d.str("entry", 0, "resource", "outcome") != "4" {
			t.Errorf("outcome=4 filter: %s", d.body)
		}
		do(t, "GET", base+"/$audit", "", "", "X-Xietong-Role", "clinician").wantStatus(t, 403)
		do(t, "GET", base+"/$audit?entity=Nope/1", "", "").wantStatus(t, 400)
	})
}

func TestTrailingSlashAndAllow(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "slash.db"))
	cid := strings.Replace(patient, `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"p1",`, 1)
	do(t, "PUT", base+"/Patient/p1", fj, cid).wantStatus(t, 201)
	do(t, "GET", base+"/Patient/p1/", "", "").wantStatus(t, 200)
	if r := do(t, "GET", base+"/Patient/?_id=p1", "", "").wantStatus(t, 200); r.str("total") != "1" {
		t.Errorf("trailing-slash search: %s", r.body)
	}
	r := do(t, "PUT", base+"/Patient", fj, cid).wantStatus(t, 405)
	if r.header.Get("Allow") == "" {
		t.Error("405 without an Allow header")
	}
}
