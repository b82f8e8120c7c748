package server_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// $find with a misspelt service type (tcm-clnic) answered an empty Bundle,
// as if the region had no TCM clinic, while a misspelt kind was a 400.
// The type may be a code of the region's own (services written through
// the API), so an unknown one is searched, and an empty answer says that
// no service has it and which kinds the directory knows.
func TestTrial5FindSaysWhenNoServiceHasTheType(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "find.db"))
	r := do(t, "GET", base+"/HealthcareService/$find?lat=23.13&lon=113.30&type=tcm-clnic", "", "").wantStatus(t, 200)
	if r.str("total") != "0" || r.str("entry", 0, "search", "mode") != "outcome" ||
		!strings.Contains(string(r.body), "tcm-clinic") || r.str("entry", 0, "resource", "issue", 0, "expression", 0) != "type" {
		t.Errorf("want an empty searchset whose outcome entry names the known service kinds at type: %s", r.body)
	}
	r = do(t, "GET", base+"/HealthcareService/$find?lat=23.13&lon=113.30&type=tcm-clinic", "", "").wantStatus(t, 200)
	if strings.Contains(string(r.body), "OperationOutcome") {
		t.Errorf("a known kind with no service near is no mistake: %s", r.body)
	}
}
