package server_test

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/identity/idnumber"
)

// $ihe-pix found nobody for an ID number typed with a lower-case x (the
// store keeps it upper-case), nor for the same number under the national
// OID system that the EMPI treats as the same identifier.
func TestTrial5PIXReadsResidentIDsAsTheEMPIDoes(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "pix.db"))
	id := postOneResidentAtTwoInstitutions(t, base, time.Date(1992, 8, 15, 0, 0, 0, 0, time.UTC))
	for _, src := range []string{
		sidResident + "|" + strings.ToLower(id),
		sidResident + "|" + id,
		"urn:oid:2.16.156.10011.1.1|" + id,
		"urn:oid:2.16.156.10011.1.1|" + strings.ToLower(id),
	} {
		r := do(t, "GET", base+"/Patient/$ihe-pix?sourceIdentifier="+url.QueryEscape(src), "", "").wantStatus(t, 200)
		for _, want := range []string{`"value":"GZ0001"`, `"value":"TH0001"`} {
			if !strings.Contains(string(r.body), want) {
				t.Errorf("$ihe-pix?sourceIdentifier=%s lacks %s: %s", src, want, r.body)
			}
		}
	}
	r := do(t, "GET", base+"/Patient/$ihe-pix?sourceIdentifier="+url.QueryEscape(sidResident+"|"+id[:17]+"0"), "", "")
	if r.status != 400 || !strings.Contains(r.diagnostics(), "check character") {
		t.Errorf("an ID number with a wrong check character: %d %s, want 400 saying so", r.status, r.body)
	}
}

// Asked with a legacy 15-digit number, $ihe-pix hid the 18-digit form the
// record holds now (it counted the upgraded query as the source).
func TestTrial5PIXGivesTheUpgradedNumber(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "pix15.db"))
	id := idnumber.Generate("441202", time.Date(1968, 2, 29, 0, 0, 0, 0, time.UTC), 35)
	do(t, "POST", base+"/Patient", fj, pat("441202001", "ZQ0001", sidResident, idnumber.Legacy(id), "司马相如", "male", "1968-02-29", "")).wantStatus(t, 201)
	r := do(t, "GET", base+"/Patient/$ihe-pix?sourceIdentifier="+url.QueryEscape(sidResident+"|"+idnumber.Legacy(id)), "", "").wantStatus(t, 200)
	if !strings.Contains(string(r.body), `"value":"`+id+`"`) {
		t.Errorf("$ihe-pix by the 15-digit number lacks the 18-digit %s: %s", id, r.body)
	}
}

// targetSystem=urn:oid:2.16.156.10011.1.1 (the national OID of resident
// ID numbers) was a 403 "not an identifier system of any patient" in a
// region whose records hold the numbers under resident-id, the system
// the EMPI treats as the same. The numbers come back under the system
// asked for.
func TestTrial5PIXTargetSystemOID(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "pixoid.db"))
	id := idnumber.Generate("440104", time.Date(1992, 8, 15, 0, 0, 0, 0, time.UTC), 4)
	do(t, "POST", base+"/Patient", fj, pat("440104001", "GZ0001", sidResident, id, "欧阳娜娜", "female", "1992-08-15", "")).wantStatus(t, 201)
	r := do(t, "GET", base+"/Patient/$ihe-pix?sourceIdentifier="+url.QueryEscape(sidMRN+"440104001|GZ0001")+"&targetSystem="+url.QueryEscape("urn:oid:2.16.156.10011.1.1"), "", "").wantStatus(t, 200)
	if !strings.Contains(string(r.body), `"system":"urn:oid:2.16.156.10011.1.1","value":"`+id+`"`) {
		t.Errorf("the resident ID number under the OID asked for is missing: %s", r.body)
	}
}
