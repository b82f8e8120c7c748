package server_test

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/identity/idnumber"
)

// Patient?identifier=system|value found nobody for a resident ID number
// typed with a lower-case x, in its legacy 15-digit form, or under the
// national OID system, although the EMPI stores the number upper case,
// upgraded, and treats both systems as one (found by the session-5 trial,
// decision 025; $ihe-pix and $match already read numbers that way).
func TestIdentifierSearchReadsResidentIDsAsTheEMPIDoes(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "idsearch.db"))
	id := postOneResidentAtTwoInstitutions(t, base, time.Date(1962, 8, 15, 0, 0, 0, 0, time.UTC))
	count := func(q string) int {
		t.Helper()
		r := do(t, "GET", base+"/Patient?_summary=count&identifier="+url.QueryEscape(q), "", "").wantStatus(t, 200)
		var b struct{ Total int }
		if err := json.Unmarshal(r.body, &b); err != nil {
			t.Fatal(err)
		}
		return b.Total
	}
	// Both institutions' records and their master carry the number.
	want := count(sidResident + "|" + id)
	if want < 2 {
		t.Fatalf("identifier=%s|%s found %d records, want the two institutions' at least", sidResident, id, want)
	}
	for _, q := range []string{
		sidResident + "|" + strings.ToLower(id),
		"urn:oid:2.16.156.10011.1.1|" + id,
		"urn:oid:2.16.156.10011.1.1|" + strings.ToLower(id),
	} {
		if got := count(q); got != want {
			t.Errorf("identifier=%s found %d, want %d (as the upper-case number under the resident-id system)", q, got, want)
		}
	}
	// A legacy 15-digit number finds the record written with it (stored upgraded).
	old := idnumber.Generate("441202", time.Date(1968, 2, 20, 0, 0, 0, 0, time.UTC), 35)
	do(t, "POST", base+"/Patient", fj, pat("441202001", "ZQ0001", sidResident, idnumber.Legacy(old), "司马相如", "male", "1968-02-20", "")).wantStatus(t, 201)
	if got := count(sidResident + "|" + idnumber.Legacy(old)); got < 1 {
		t.Errorf("identifier by the 15-digit number found %d, want the record stored under %s", got, old)
	}
	// Anything else is searched as given: a wrong check character finds nobody.
	if got := count(sidResident + "|" + id[:17] + "0"); got != 0 {
		t.Errorf("a number with a wrong check character found %d", got)
	}
}

// postOneResidentAtTwoInstitutions registers one woman born on birth at
// two institutions under a resident ID number ending in X: at GZ0001 typed
// lower case under the resident system, at TH0001 upper case under the
// national OID system. It returns the number (upper case).
func postOneResidentAtTwoInstitutions(t *testing.T, base string, birth time.Time) string {
	t.Helper()
	id := residentIDEndingInX("440104", birth)
	day := birth.Format("2006-01-02")
	do(t, "POST", base+"/Patient", fj, pat("440104001", "GZ0001", sidResident, strings.ToLower(id), "欧阳娜娜", "female", day, "")).wantStatus(t, 201)
	do(t, "POST", base+"/Patient", fj, pat("440106001", "TH0001", "urn:oid:2.16.156.10011.1.1", id, "欧阳娜娜", "female", day, "")).wantStatus(t, 201)
	return id
}

// residentIDEndingInX is a woman's valid resident ID number of that
// division and birth date whose check character is X (the one a clerk
// types in lower case).
func residentIDEndingInX(division string, birth time.Time) string {
	for seq := 2; ; seq += 2 {
		if id := idnumber.Generate(division, birth, seq); strings.HasSuffix(id, "X") {
			return id
		}
	}
}
