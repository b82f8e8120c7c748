package empi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/empi"
	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/identity/match"
	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/open"
)

var (
	born = time.Date(1980, 3, 7, 0, 0, 0, 0, time.UTC)
	// idZhang is 张伟's resident ID number.
	idZhang = idnumber.Generate("110112", born, 123)
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := open.Open(context.Background(), filepath.Join(t.TempDir(), "e.db"), open.WithMigrate())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// put writes Patient id (its next version) directly into the store, or
// deletes it when p is nil.
func put(t *testing.T, st store.Store, id string, p map[string]any) {
	t.Helper()
	ctx := context.Background()
	vid := int64(1)
	if cur, err := st.Read(ctx, "Patient", id); cur != nil && (err == nil || errors.Is(err, store.ErrGone)) {
		vid = cur.VersionID + 1
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	w := &store.Write{Type: "Patient", ID: id, VersionID: vid, LastUpdated: now, Method: "PUT"}
	if p == nil {
		w.Delete, w.Method = true, "DELETE"
	} else {
		p["resourceType"] = "Patient"
		p["id"] = id
		p["meta"] = map[string]any{"versionId": json.Number(itoa(vid)), "lastUpdated": now.Format(time.RFC3339Nano)}
		body, err := fhirjson.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		w.Body = body
	}
	tx, err := st.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Put(ctx, w); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ident(system, value string) map[string]any {
	return map[string]any{"system": system, "value": value}
}

func phone(v string) []any {
	return []any{map[string]any{"system": "phone", "value": v}}
}

// seed writes the population of the tests:
//
//	a1  张伟 of hospital A, with the resident ID number (xietong system)
//	b7  張偉 (traditional) of hospital B, same number (OID system), written family+given
//	c3  李娜, unrelated
//	d5  张强, 张伟's twin: same birth date, phone and address, no number
func seed(t *testing.T, st store.Store) {
	put(t, st, "a1", map[string]any{
		"identifier": []any{
			ident(empi.SystemResidentID, idZhang),
			map[string]any{"system": "urn:oid:1.2.156.1.a", "value": "MRN-0001", "type": map[string]any{"coding": []any{map[string]any{"code": "MR"}}}},
		},
		"name":      []any{map[string]any{"use": "official", "text": "张伟"}},
		"gender":    "male",
		"birthDate": "1980-03-07",
		"telecom":   phone("13912345678"),
		"address": []any{map[string]any{"use": "home", "text": "通州区新华大街23号",
			"extension": []any{map[string]any{"url": empi.ExtAddressDivision, "valueCoding": map[string]any{"code": "110112"}}}}},
	})
	put(t, st, "b7", map[string]any{
		"identifier": []any{ident(empi.SystemResidentIDOID, idZhang)},
		"name":       []any{map[string]any{"family": "張", "given": []any{"偉"}}},
		"gender":     "male",
		"birthDate":  "1980-03-07",
	})
	put(t, st, "c3", map[string]any{
		"identifier": []any{ident(empi.SystemResidentID, idnumber.Generate("120114", time.Date(1975, 11, 2, 0, 0, 0, 0, time.UTC), 42))},
		"name":       []any{map[string]any{"text": "李娜"}},
		"gender":     "female",
		"birthDate":  "1975-11-02",
		"telecom":    phone("13800001111"),
	})
	put(t, st, "d5", map[string]any{
		"name":      []any{map[string]any{"text": "张强"}},
		"gender":    "male",
		"birthDate": "1980-03-07",
		"telecom":   phone("+86 139 1234 5678"),
		"address":   []any{map[string]any{"use": "home", "district": "110112", "text": "通州区新华大街23号"}},
	})
}

type result struct {
	Status int
	Type   string
	Bundle struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Total        int    `json:"total"`
		Entry        []struct {
			FullURL  string `json:"fullUrl"`
			Resource struct {
				ID string `json:"id"`
			} `json:"resource"`
			Search struct {
				Mode      string  `json:"mode"`
				Score     float64 `json:"score"`
				Extension []struct {
					URL       string `json:"url"`
					ValueCode string `json:"valueCode"`
				} `json:"extension"`
			} `json:"search"`
		} `json:"entry"`
	}
	Err *outcome.Error
}

func (r result) ids() []string {
	var out []string
	for _, e := range r.Bundle.Entry {
		out = append(out, e.Resource.ID+":"+e.Search.Extension[0].ValueCode)
	}
	return out
}

func call(t *testing.T, m *empi.Matcher, contentType, body string) result {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://node.example/fhir/Patient/$match", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	var res result
	if err := m.Operation(rec, req, ""); err != nil {
		res.Err = outcome.As(err)
		if res.Err == nil {
			t.Fatalf("internal error: %v", err)
		}
		res.Status = res.Err.Status
		return res
	}
	res.Status, res.Type = rec.Code, rec.Header().Get("Content-Type")
	if err := json.Unmarshal(rec.Body.Bytes(), &res.Bundle); err != nil {
		t.Fatalf("response: %v\n%s", err, rec.Body)
	}
	for _, e := range res.Bundle.Entry {
		if e.Search.Mode != "match" || e.Search.Score < 0 || e.Search.Score > 1 || len(e.Search.Extension) != 1 || e.Search.Extension[0].URL != empi.ExtMatchGrade {
			t.Errorf("entry %s: search %+v", e.Resource.ID, e.Search)
		}
		if e.FullURL != "http://node.example/fhir/Patient/"+e.Resource.ID {
			t.Errorf("fullUrl %s", e.FullURL)
		}
	}
	return res
}

func params(patient string, extra ...string) string {
	ps := append([]string{`{"name":"resource","resource":` + patient + `}`}, extra...)
	return `{"resourceType":"Parameters","parameter":[` + strings.Join(ps, ",") + `]}`
}

const queryZhang = `{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.156.10011.1.1","value":"` + "%ID%" + `"}],` +
	`"name":[{"text":"张伟"}],"gender":"male","birthDate":"1980-03-07","telecom":[{"system":"phone","value":"13912345678"}]}`

func zhang() string { return strings.ReplaceAll(queryZhang, "%ID%", idZhang) }

func want(t *testing.T, r result, ids ...string) {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("status %d: %v", r.Status, r.Err)
	}
	if got := r.ids(); !slices.Equal(got, ids) {
		t.Errorf("matches %v, want %v", got, ids)
	}
	if r.Bundle.ResourceType != "Bundle" || r.Bundle.Type != "searchset" || r.Bundle.Total != len(r.Bundle.Entry) {
		t.Errorf("bundle %s %s total %d", r.Bundle.ResourceType, r.Bundle.Type, r.Bundle.Total)
	}
	for i := 1; i < len(r.Bundle.Entry); i++ {
		if r.Bundle.Entry[i].Search.Score > r.Bundle.Entry[i-1].Search.Score {
			t.Errorf("entries not sorted by score: %v", r.ids())
		}
	}
}

// The same person in two institutions (same number, one in traditional
// characters) is certain, the twin sharing birth date, phone and address
// is probable (no evidence of the person), the unrelated patient absent.
func TestMatchGradesAndOrder(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	m := empi.New(st, match.DefaultModel())
	r := call(t, m, "application/fhir+json", params(zhang()))
	if r.Type != "application/fhir+json; charset=utf-8" {
		t.Errorf("Content-Type %q", r.Type)
	}
	want(t, r, "a1:certain", "b7:certain", "d5:probable")
	if s := r.Bundle.Entry[0].Search.Score; s < 0.9 {
		t.Errorf("certain score %v", s)
	}
	if s := r.Bundle.Entry[2].Search.Score; s < 0.5 || s >= 0.9 {
		t.Errorf("probable score %v", s)
	}
	// A bare Patient body, as some clients send, with plain JSON.
	want(t, call(t, m, "application/json", zhang()), "a1:certain", "b7:certain", "d5:probable")
}

// Without an ID number, a homophone of the name with the same birth date
// and phone still finds the person.
func TestMatchHomophoneWithoutID(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	m := empi.New(st, nil)
	q := `{"resourceType":"Patient","name":[{"family":"张","given":["玮"]}],"gender":"male","birthDate":"1980-03-07","telecom":[{"system":"phone","value":"139-1234-5678"}]}`
	r := call(t, m, "application/fhir+json", params(q))
	if r.Status != 200 || len(r.Bundle.Entry) == 0 || r.Bundle.Entry[0].Resource.ID != "a1" {
		t.Fatalf("%d %v %v", r.Status, r.ids(), r.Err)
	}
	if g := r.Bundle.Entry[0].Search.Extension[0].ValueCode; g != "certain" && g != "probable" {
		t.Errorf("grade %s", g)
	}
	for _, e := range r.Bundle.Entry {
		if e.Resource.ID == "c3" {
			t.Errorf("unrelated patient matched: %v", r.ids())
		}
	}
}

func TestOnlyCertainMatches(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	m := empi.New(st, nil)
	only := `{"name":"onlyCertainMatches","valueBoolean":true}`
	want(t, call(t, m, "application/fhir+json", params(zhang(), only)), "a1:certain", "b7:certain")

	// A namesake born the same day with another valid number: a query
	// without a number is certain of both, which are two persons, so
	// onlyCertainMatches answers nothing.
	put(t, st, "e1", map[string]any{
		"identifier": []any{ident(empi.SystemResidentID, idnumber.Generate("131082", born, 5))},
		"name":       []any{map[string]any{"text": "张伟"}},
		"gender":     "male",
		"birthDate":  "1980-03-07",
	})
	q := `{"resourceType":"Patient","name":[{"text":"张伟"}],"gender":"male","birthDate":"1980-03-07"}`
	all := call(t, m, "application/fhir+json", params(q))
	var certain int
	for _, id := range all.ids() {
		if strings.HasSuffix(id, ":certain") {
			certain++
		}
	}
	if certain < 2 {
		t.Fatalf("want several certain matches without the flag, got %v", all.ids())
	}
	want(t, call(t, m, "application/fhir+json", params(q, only)))
	want(t, call(t, m, "application/fhir+json", params(q, `{"name":"onlyCertainMatches","valueBoolean":false}`)), all.ids()...)
}

func TestCount(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	m := empi.New(st, nil)
	want(t, call(t, m, "application/fhir+json", params(zhang(), `{"name":"count","valueInteger":1}`)), "a1:certain")
	want(t, call(t, m, "application/fhir+json", params(zhang(), `{"name":"count","valueInteger":2}`)), "a1:certain", "b7:certain")
}

// The index follows the store between calls: creates, updates, deletes.
func TestCatchUp(t *testing.T) {
	st := openStore(t)
	m := empi.New(st, nil)
	want(t, call(t, m, "application/fhir+json", params(zhang()))) // empty store
	seed(t, st)
	want(t, call(t, m, "application/fhir+json", params(zhang())), "a1:certain", "b7:certain", "d5:probable")
	if m.Len() != 4 {
		t.Errorf("Len %d", m.Len())
	}

	// A third institution registers the person.
	put(t, st, "f9", map[string]any{
		"identifier": []any{ident(empi.SystemResidentID, idZhang)},
		"name":       []any{map[string]any{"text": "张伟"}},
		"gender":     "male",
		"birthDate":  "1980-03-07",
		"telecom":    phone("13912345678"),
	})
	r := call(t, m, "application/fhir+json", params(zhang()))
	if got := r.ids(); len(got) != 4 || !slices.Contains(got, "f9:certain") {
		t.Errorf("after create: %v", got)
	}
	// b7 is corrected to another person; d5 is deleted.
	put(t, st, "b7", map[string]any{
		"identifier": []any{ident(empi.SystemResidentIDOID, idnumber.Generate("120114", time.Date(1975, 11, 2, 0, 0, 0, 0, time.UTC), 8))},
		"name":       []any{map[string]any{"text": "王芳"}},
		"gender":     "female",
		"birthDate":  "1975-11-02",
	})
	put(t, st, "d5", nil)
	r = call(t, m, "application/fhir+json", params(zhang()))
	if got := r.ids(); len(got) != 2 || got[0] != "a1:certain" && got[0] != "f9:certain" || slices.Contains(got, "b7:certain") {
		t.Errorf("after update and delete: %v", got)
	}
	if m.Len() != 4 {
		t.Errorf("Len %d after delete, want 4", m.Len())
	}
}

func TestErrors(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	m := empi.New(st, nil)
	const fj = "application/fhir+json"
	for _, c := range []struct {
		name, ct, body string
		status         int
	}{
		{"xml", "application/fhir+xml", zhang(), 415},
		{"no content type", "", zhang(), 415},
		{"not json", fj, "{", 400},
		{"not a resource", fj, `[1]`, 400},
		{"observation", fj, `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, 400},
		{"no resource", fj, `{"resourceType":"Parameters","parameter":[{"name":"count","valueInteger":3}]}`, 400},
		{"no parameters", fj, `{"resourceType":"Parameters"}`, 400},
		{"resource not a patient", fj, params(`{"resourceType":"Practitioner"}`), 400},
		{"resource twice", fj, `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + zhang() + `},{"name":"resource","resource":` + zhang() + `}]}`, 400},
		{"count zero", fj, params(zhang(), `{"name":"count","valueInteger":0}`), 400},
		{"count negative", fj, params(zhang(), `{"name":"count","valueInteger":-2}`), 400},
		{"count string", fj, params(zhang(), `{"name":"count","valueString":"3"}`), 400},
		{"count decimal", fj, params(zhang(), `{"name":"count","valueInteger":1.5}`), 400},
		{"flag not boolean", fj, params(zhang(), `{"name":"onlyCertainMatches","valueString":"true"}`), 400},
		{"parameter not an array", fj, `{"resourceType":"Parameters","parameter":{"name":"resource"}}`, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, m, c.ct, c.body)
			if r.Status != c.status {
				t.Errorf("status %d, want %d (%v)", r.Status, c.status, r.Err)
			}
		})
	}
	req := httptest.NewRequest(http.MethodGet, "/fhir/Patient/$match", nil)
	err := m.Operation(httptest.NewRecorder(), req, "")
	if e := outcome.As(err); e == nil || e.Status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v", err)
	}
}

func TestRecordMapping(t *testing.T) {
	dec := func(s string) map[string]any {
		p, err := fhirjson.Decode([]byte(s), fhirjson.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	r := empi.Record(dec(`{"resourceType":"Patient","id":"x",
		"identifier":[
			{"type":{"coding":[{"code":"NI"}]},"value":"123"},
			{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"NNCHN"}]},"value":"` + strings.ToLower(idnumber.Generate("110112", born, 124)[:17]) + `"},
			{"type":{"coding":[{"code":"NI"}]},"value":"` + idnumber.Generate("110112", born, 124) + `"},
			{"system":"urn:oid:1.2.3","type":{"coding":[{"code":"MR"}]},"value":"M-9"}],
		"name":[{"use":"old","text":"张小伟"},{"use":"usual","family":"Zhang","given":["Wei"]},{"use":"official","family":"张","given":["伟"]}],
		"gender":"female","birthDate":"1980-03",
		"telecom":[{"system":"email","value":"a@b.cn"},{"system":"phone","value":"010-12345678","period":{"end":"2001-01-01"}},{"system":"phone","value":"13912345678"}],
		"address":[{"use":"old","district":"120114"},{"use":"home","district":"110112","postalCode":"101100","city":"北京市","line":["新华大街23号"]}],
		"managingOrganization":{"reference":"Organization/h1"}}`))
	if r.Source != "x" || r.Name != "张伟" || !r.Birth.IsZero() || r.Sex != idnumber.Female ||
		r.IDNumber != idnumber.Generate("110112", born, 124) || r.MRN != "M-9" || r.Institution != "Organization/h1" ||
		!slices.Equal(r.Phones, []string{"13912345678"}) || r.Division != "110112" || r.Address != "北京市新华大街23号" {
		t.Errorf("%+v", r)
	}
	r = empi.Record(dec(`{"resourceType":"Patient","name":[{"family":"Zhang","given":["Wei"]}],"birthDate":"1980-03-07",
		"address":[{"postalCode":"101100","extension":[{"url":"` + empi.ExtAddressDivision + `","valueCoding":{"code":"110105"}}]}]}`))
	if r.Name != "Zhang Wei" || !r.Birth.Equal(born) || r.Division != "110105" || r.Institution != "" {
		t.Errorf("%+v", r)
	}
	r = empi.Record(dec(`{"resourceType":"Patient","address":[{"postalCode":"101100"}]}`))
	if r.Division != "" {
		t.Errorf("a postal code is not a division: %+v", r)
	}
}

// Calls and writes run concurrently (go test -race).
func TestConcurrentCalls(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	m := empi.New(st, nil)
	done := make(chan struct{})
	for i := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 5 {
				r := call(t, m, "application/fhir+json", params(zhang()))
				if r.Status != 200 || len(r.Bundle.Entry) < 2 {
					t.Errorf("worker %d: %d %v", i, r.Status, r.ids())
				}
			}
		}()
	}
	for i := range 5 {
		put(t, st, "g"+strconv.Itoa(i), map[string]any{"name": []any{map[string]any{"text": "赵敏"}}, "birthDate": "1999-09-09"})
	}
	for range 4 {
		<-done
	}
	if err := m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := m.Len(); n != 9 {
		t.Errorf("Len %d, want 9", n)
	}
}
