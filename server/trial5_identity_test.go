package server_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/identity/idnumber"
)

// The new-user trial of session 5 (decision 025): identity data nobody on
// the team had written — a household sharing a phone and an address, ID
// numbers typed with a lower-case x or under the national OID.

// homePatient is an institution's Patient living at one household's
// address and phone.
func homePatient(inst, mrn, id, name, gender, birth string) string {
	ids := `{"system":"` + sidMRN + inst + `","value":"` + mrn + `","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]}}`
	if id != "" {
		ids += `,{"system":"` + sidResident + `","value":"` + id + `"}`
	}
	return `{"resourceType":"Patient","identifier":[` + ids + `],"name":[{"text":"` + name + `"}],"gender":"` + gender +
		`","birthDate":"` + birth + `","telecom":[{"system":"phone","value":"13500002222"}],` +
		`"address":[{"use":"home","text":"佛山市禅城区季华五路88号3栋1201","extension":[{"url":"https://xietong.dev/fhir/StructureDefinition/address-division","valueCoding":{"code":"440604"}}]}]}`
}

// A girl twin and her brother (homophone names), and a newborn registered
// under her mother's name, were linked to one master automatically: the
// household's phone and address outweighed the different sex and birth
// date. They must get masters of their own (the newborn with a review).
func TestTrial5HouseholdGetsOwnMasters(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "household.db"))
	born := time.Date(1990, 5, 5, 0, 0, 0, 0, time.UTC)
	do(t, "PUT", base+"/Patient/fs-mother", fj, withID("fs-mother", homePatient("440604001", "FS0201", idnumber.Generate("440604", born, 222), "黄丽", "female", "1990-05-05"))).wantStatus(t, 201)
	do(t, "PUT", base+"/Patient/nh-baby", fj, withID("nh-baby", homePatient("440605001", "NH0202", "", "黄丽婴", "female", "2026-10-01"))).wantStatus(t, 201)
	if a, b := masterOf(t, base, "fs-mother"), masterOf(t, base, "nh-baby"); a == b {
		t.Errorf("the newborn 黄丽婴 shares her mother's master Patient/%s", a)
	}
	if n := countOf(t, base+"/Task?code=identity-review&focus=Patient/nh-baby"); n != "1" {
		t.Errorf("review Tasks for the newborn: %s, want 1 (a person decides)", n)
	}
	do(t, "PUT", base+"/Patient/fs-boy", fj, withID("fs-boy", homePatient("440604001", "FS0103", "", "王子涵", "male", "2019-07-07"))).wantStatus(t, 201)
	do(t, "PUT", base+"/Patient/fs-girl", fj, withID("fs-girl", homePatient("440604001", "FS0104", "", "王梓涵", "female", "2019-07-07"))).wantStatus(t, 201)
	if a, b := masterOf(t, base, "fs-boy"), masterOf(t, base, "fs-girl"); a == b {
		t.Errorf("the twins 王子涵 (male) and 王梓涵 (female) share master Patient/%s", a)
	}
}

func withID(id, body string) string {
	return `{"id":"` + id + `",` + strings.TrimPrefix(body, "{")
}

// $merge named by institutions' records said "Master Patient/j3 was
// merged", though j3 is a record and its master is another Patient.
func TestTrial5MergeOutcomeNamesTheMasters(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "merge.db"))
	do(t, "PUT", base+"/Patient/j1", fj, withID("j1", pat("440104001", "GZ0501", "", "", "陳偉強", "male", "1975-10-10", ""))).wantStatus(t, 201)
	do(t, "PUT", base+"/Patient/j3", fj, withID("j3", pat("440605001", "NH0501", "", "", "CHAN Wai Keung", "male", "1975-10-10", ""))).wantStatus(t, 201)
	from, to := masterOf(t, base, "j3"), masterOf(t, base, "j1")
	r := do(t, "POST", base+"/Patient/$merge", fj, params(refParam("source-patient", "j3"), refParam("target-patient", "j1"))).wantStatus(t, 200)
	want := "Master Patient/" + from + " (the master of Patient/j3) was merged into Patient/" + to
	if !strings.Contains(string(r.body), want) {
		t.Errorf("outcome does not say %q: %s", want, r.body)
	}
}
