package server_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// docPatient is an institution's Patient carrying one travel document.
func docPatient(id, inst, mrn, docSystem, docValue, name, gender, birth string) string {
	return `{"resourceType":"Patient","id":"` + id + `","identifier":[` +
		`{"system":"` + sidMRN + inst + `","value":"` + mrn + `","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]}},` +
		`{"system":"` + docSystem + `","value":"` + docValue + `"}],` +
		`"name":[{"text":"` + name + `"}],"gender":"` + gender + `","birthDate":"` + birth + `"}`
}

const (
	sidHKMacao  = "https://xietong.dev/fhir/sid/hk-macao-permit"
	sidPassport = "https://xietong.dev/fhir/sid/passport/"
)

// Hong Kong residents, foreigners and Taiwan residents carry no resident
// ID number; their permit or passport is what the institutions of a city
// cluster share. The trial found those numbers neither checked nor used:
// one Hong Kong resident registered at three institutions (traditional,
// simplified and Cantonese-romanised names, one birth date mistyped, one
// permit number typed "h1234 5678") got three masters, and so did one
// passport holder named in Latin and in Chinese letters.
func TestTrial5TravelDocumentsLinkAndAreChecked(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "docs.db"))
	do(t, "PUT", base+"/Patient/j1", fj, docPatient("j1", "440104001", "GZ0501", sidHKMacao, "H12345678", "陳偉強", "male", "1975-10-10")).wantStatus(t, 201)
	r := do(t, "PUT", base+"/Patient/j2", fj, docPatient("j2", "440106001", "TH0501", sidHKMacao, "h1234 5678", "陈伟强", "male", "1975-10-01")).wantStatus(t, 201)
	if !strings.Contains(string(r.body), `"value":"H12345678"`) {
		t.Errorf("the permit number is not stored in its standard form H12345678: %s", r.body)
	}
	do(t, "PUT", base+"/Patient/j3", fj, docPatient("j3", "440605001", "NH0501", sidHKMacao, "H12345678", "CHAN Wai Keung", "male", "1975-10-10")).wantStatus(t, 201)
	m := masterOf(t, base, "j1")
	for _, id := range []string{"j2", "j3"} {
		if got := masterOf(t, base, id); got != m {
			t.Errorf("Patient/%s (the same permit H12345678) has master %s, want %s", id, got, m)
		}
	}
	do(t, "PUT", base+"/Patient/i1", fj, docPatient("i1", "440104001", "GZ0401", sidPassport+"USA", "545123456", "SMITH John", "male", "1980-01-02")).wantStatus(t, 201)
	do(t, "PUT", base+"/Patient/i2", fj, docPatient("i2", "441202001", "ZQ0401", sidPassport+"USA", "545123456", "史密斯 约翰", "male", "1980-01-02")).wantStatus(t, 201)
	if a, b := masterOf(t, base, "i1"), masterOf(t, base, "i2"); a != b {
		t.Errorf("one US passport, two masters: %s and %s", a, b)
	}
	// The same number from another country is another passport.
	do(t, "PUT", base+"/Patient/i3", fj, docPatient("i3", "441202001", "ZQ0402", sidPassport+"GBR", "545123456", "Jane Doe", "female", "1991-04-05")).wantStatus(t, 201)
	if masterOf(t, base, "i3") == masterOf(t, base, "i1") {
		t.Errorf("a British passport with the US passport's number was linked to its holder")
	}
	for _, bad := range []struct{ system, value, want string }{
		{sidHKMacao, "X1234567", "H or M"},
		{sidPassport + "CHN", "E1234567", "Chinese passport"},
		{sidPassport + "China", "E12345678", "ISO 3166"},
		{"https://xietong.dev/fhir/sid/taiwan-permit", "1234", "8 digits"},
	} {
		r := do(t, "PUT", base+"/Patient/bad", fj, docPatient("bad", "440104001", "GZ0999", bad.system, bad.value, "王五", "male", "1970-01-01"))
		if r.status != 422 || !strings.Contains(r.diagnostics(), bad.want) || !strings.Contains(string(r.body), "Patient.identifier[1].value") {
			t.Errorf("%s|%s: %d %s, want 422 at Patient.identifier[1].value saying %q", bad.system, bad.value, r.status, r.body, bad.want)
		}
	}
}

// Two records of one permit in one transaction (a hospital group sending
// its records together) got two masters: the second's look-up read the
// store, where the first was not yet.
func TestTrial5TravelDocumentInOneTransaction(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "docstx.db"))
	entry := func(id, inst, name string) string {
		return `{"resource":` + docPatient(id, inst, "TX-"+id, sidHKMacao, "H87654321", name, "male", "1962-06-27") + `,"request":{"method":"PUT","url":"Patient/` + id + `"}}`
	}
	do(t, "POST", base, fj, `{"resourceType":"Bundle","type":"transaction","entry":[`+entry("tx1", "440104001", "梁朝偉")+`,`+entry("tx2", "440106001", "LEUNG Chiu Wai")+`]}`).wantStatus(t, 200)
	if a, b := masterOf(t, base, "tx1"), masterOf(t, base, "tx2"); a != b {
		t.Errorf("one permit in one transaction, two masters: %s and %s", a, b)
	}
}

// An institution's record number with a line break, of blanks only, or of
// 100 characters was stored and indexed as any other: the identifier
// package refuses them (an MRN), but nothing asked it.
func TestTrial5RecordNumbersAreChecked(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "mrn.db"))
	for _, bad := range []struct{ value, want string }{
		{`GZ\n01`, "control characters"},
		{" ", "empty"},
		{strings.Repeat("A", 100), "longer than 64"},
	} {
		r := do(t, "PUT", base+"/Patient/x", fj, `{"resourceType":"Patient","id":"x","identifier":[{"system":"`+sidMRN+`440104001","value":"`+bad.value+`"}],"name":[{"text":"王五"}]}`)
		if r.status != 422 || !strings.Contains(r.diagnostics(), bad.want) || !strings.Contains(string(r.body), "Patient.identifier[0].value") {
			t.Errorf("MRN %q: %d %s, want 422 at Patient.identifier[0].value saying %q", bad.value, r.status, r.body, bad.want)
		}
	}
	r := do(t, "PUT", base+"/Patient/y", fj, `{"resourceType":"Patient","id":"y","identifier":[{"system":"`+sidMRN+`440104001","value":" GZ-0001 "}],"name":[{"text":"王五"}]}`).wantStatus(t, 201)
	if r.str("identifier", 0, "value") != "GZ-0001" {
		t.Errorf("the record number is not stored trimmed: %s", r.body)
	}
}
