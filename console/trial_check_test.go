package console_test

import (
	"strings"
	"testing"
)

// The check page says why nothing is recognisable in the page's language.
func TestCheckReasonsInThePageLanguage(t *testing.T) {
	b := newBrowser(t).as("clinician", "demo-org-110112001")
	zh := text(b.page("/patients/demo-pat-000001/check?item=NO-SUCH-ITEM").one(t, "#check-result"))
	if !strings.Contains(zh, "该项目不在任何互认项目目录中") || strings.Contains(zh, "catalogue") {
		t.Errorf("Chinese check page: %q", zh)
	}
	en := text(b.page("/patients/demo-pat-000001/check?item=NO-SUCH-ITEM&lang=en").one(t, "#check-result"))
	if !strings.Contains(en, "in no recognition programme's catalogue") {
		t.Errorf("English check page: %q", en)
	}
}

// A demo node's activity chart opens on the demo's last month of results.
func TestDemoActivityOpensOnTheDemoData(t *testing.T) {
	b := newBrowser(t).as("commission", "")
	d := b.page("/commission/activity")
	if v, _ := attr(d.one(t, "input[name=to]"), "value"); v != "2026-10" {
		t.Errorf("default month %q, want 2026-10 (the demo's results end on 2026-11-01)", v)
	}
}
