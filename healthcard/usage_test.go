package healthcard

import (
	"testing"
	"time"

	searchindex "github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
)

// A use record is written and indexed once per resolve, so every index
// entry it does not need is a row written for nothing on the hot path's
// background writer. Its two Patient entities share their role: one
// entity-role entry, not two; and each search the counts rely on finds it.
func TestUseRecordIndexEntries(t *testing.T) {
	ev := auditEvent(use{event: "resolve", at: time.Date(2026, 12, 6, 3, 4, 5, 0, time.UTC), card: "C0FFEE", codeType: TypeStatic,
		master: "m1", local: "l1", org: obj{"id": "o1", "name": "医院"}, instCode: "110112100", city: "110100",
		channel: "0300", careStep: "registration", subject: "his-1"})
	x, err := searchindex.NewIndexer(time.UTC).Index("AuditEvent", ev)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[store.TokenEntry]bool{}
	for _, e := range x.Tokens {
		if seen[e] {
			t.Errorf("token entry %+v indexed twice", e)
		}
		seen[e] = true
	}
	refs := map[store.ReferenceEntry]bool{}
	for _, e := range x.References {
		if refs[e] {
			t.Errorf("reference entry %+v indexed twice", e)
		}
		refs[e] = true
	}
	for _, want := range []store.TokenEntry{
		{Param: "type", System: SystemAuditEventType, Code: AuditEventType},
		{Param: "subtype", System: SystemCardEvent, Code: "resolve"},
		{Param: "site", Code: "110100"},
		{Param: "entity-role", System: "http://terminology.hl7.org/CodeSystem/object-role", Code: "1"},
	} {
		found := false
		for e := range seen {
			if e.Param == want.Param && e.System == want.System && e.Code == want.Code {
				found = true
			}
		}
		if !found {
			t.Errorf("no token entry %s=%s|%s", want.Param, want.System, want.Code)
		}
	}
	for _, id := range []string{"m1", "l1"} {
		if !refs[store.ReferenceEntry{Param: "patient", TargetType: "Patient", TargetID: id}] {
			t.Errorf("no patient entry for Patient/%s", id)
		}
	}
	if len(x.Dates) != 1 || x.Dates[0].Param != "date" {
		t.Errorf("date entries %+v, want the recorded time", x.Dates)
	}
}
