package directory

import (
	"testing"

	"github.com/xietong/xietong/directory/vocab"
)

// Ending keeps the source's tag and history-worthy fields, never lets a
// period end before it starts, keeps an earlier end, and ends a pool's
// members with it.
func TestEnd(t *testing.T) {
	tag := map[string]any{"system": vocab.SystemImportSource, "code": "s"}
	for _, tc := range []struct {
		name          string
		res           map[string]any
		wantEnd       string // period.end (of the first member for a Group)
		wantInactive  bool
		wantLocStatus string
	}{
		{"open role", map[string]any{"resourceType": "PractitionerRole", "active": true, "period": map[string]any{"start": "2015-07-01"}}, "2026-06-01", true, ""},
		{"role starting later", map[string]any{"resourceType": "PractitionerRole", "active": true, "period": map[string]any{"start": "2027-01-01"}}, "2027-01-01", true, ""},
		{"member ending later", map[string]any{"resourceType": "OrganizationAffiliation", "active": true, "period": map[string]any{"start": "2025-01-01", "end": "2027-12-31"}}, "2026-06-01", true, ""},
		{"member ended earlier", map[string]any{"resourceType": "OrganizationAffiliation", "active": true, "period": map[string]any{"start": "2025-01-01", "end": "2026-01-31"}}, "2026-01-31", true, ""},
		{"pool", map[string]any{"resourceType": "Group", "active": true, "member": []any{map[string]any{"entity": map[string]any{"reference": "PractitionerRole/x"}}}}, "2026-06-01", true, ""},
		{"location", map[string]any{"resourceType": "Location", "status": "active"}, "", false, "inactive"},
		{"institution", map[string]any{"resourceType": "Organization", "active": true}, "", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.res["meta"] = map[string]any{"versionId": "3", "tag": []any{tag}}
			end(tc.res, "2026-06-01")
			if isActive(tc.res) {
				t.Errorf("still active: %v", tc.res)
			}
			if m := obj(tc.res["meta"]); m["versionId"] != nil || len(list(m["tag"])) != 1 {
				t.Errorf("meta %v", m)
			}
			p := obj(tc.res["period"])
			if tc.res["resourceType"] == "Group" {
				mem := obj(list(tc.res["member"])[0])
				p = obj(mem["period"])
				if mem["inactive"] != true {
					t.Errorf("pool member not inactive: %v", mem)
				}
			}
			if str(p["end"]) != tc.wantEnd {
				t.Errorf("period %v, want end %q", p, tc.wantEnd)
			}
			if tc.wantInactive && tc.res["active"] != false {
				t.Errorf("active %v", tc.res["active"])
			}
			if tc.wantLocStatus != "" && tc.res["status"] != tc.wantLocStatus {
				t.Errorf("status %v", tc.res["status"])
			}
		})
	}
}
