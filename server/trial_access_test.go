package server_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// Only administrators write the recognition catalogue and the
// qualifications through the raw API (the console offered the forms to
// administrators only, but any working role could PUT them directly).
func TestTrialCatalogueWritesNeedAnAdministrator(t *testing.T) {
	base := node(t, filepath.Join(t.TempDir(), "catalogue.db"))
	ad := `{"resourceType":"ActivityDefinition","id":"trial-ad","status":"active","name":"TrialItem"}`
	for _, role := range []string{"clinician", "commission", "cdc", "viewer"} {
		r := do(t, "PUT", base+"/ActivityDefinition/trial-ad", fj, ad, "X-Xietong-Role", role).wantStatus(t, 403)
		if role != "viewer" && !strings.Contains(r.diagnostics(), "only administrators may write ActivityDefinition") {
			t.Errorf("%s: %s", role, r.diagnostics())
		}
	}
	do(t, "PUT", base+"/ActivityDefinition/trial-ad", fj, ad, "X-Xietong-Role", "admin").wantStatus(t, 201)
	do(t, "GET", base+"/ActivityDefinition/trial-ad", "", "", "X-Xietong-Role", "clinician").wantStatus(t, 200)
	do(t, "DELETE", base+"/ActivityDefinition/trial-ad", "", "", "X-Xietong-Role", "clinician").wantStatus(t, 403)
	patch := `[{"op":"replace","path":"/status","value":"retired"}]`
	do(t, "PATCH", base+"/ActivityDefinition/trial-ad", "application/json-patch+json", patch, "X-Xietong-Role", "clinician").wantStatus(t, 403)

	// a transaction that carries one catalogue entry among clinical ones is
	// refused as a whole, and writes nothing
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"resource":{"resourceType":"Patient","identifier":[{"system":"urn:trial","value":"tx-ad"}]},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"PlanDefinition","status":"active"},"request":{"method":"POST","url":"PlanDefinition"}}]}`
	do(t, "POST", base, fj, tx, "X-Xietong-Role", "clinician").wantStatus(t, 403)
	if n := do(t, "GET", base+"/Patient?identifier=urn:trial|tx-ad&_summary=count", "", "").str("total"); n != "0" {
		t.Errorf("the refused transaction wrote %s patient(s)", n)
	}
	// clinical writes stay open to the working roles
	do(t, "POST", base, fj, strings.Replace(tx, `,
	 {"resource":{"resourceType":"PlanDefinition","status":"active"},"request":{"method":"POST","url":"PlanDefinition"}}`, "", 1), "X-Xietong-Role", "clinician").wantStatus(t, 200)
}
