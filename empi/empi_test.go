package empi_test

import (
	"context"
	"encoding/json"
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

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ident(system, value string) map[string]any {
	return map[string]any{"system": system, "value": value}
}

func phone(v string) []any {
	return []any{map[string]any{"system": "phone", "value": v}}
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

func call(t *testing.T, m *empi.Engine, contentType, body string) result {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://node.example/fhir/Patient/$match", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	var res result
	if err := m.MatchOperation(rec, req, ""); err != nil {
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

func TestErrors(t *testing.T) {
	st := openStore(t)
	m := empi.New(empi.Config{Store: st})
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
	err := m.MatchOperation(httptest.NewRecorder(), req, "")
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
