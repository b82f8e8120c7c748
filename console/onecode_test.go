package console_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// onecodeUses reads the dashboard's count of card uses at a doctor
// workstation in the city of 北京市 (a clinician at 北京运河医院 scans there).
func onecodeUses(t *testing.T, b *browser) int {
	t.Helper()
	d := b.ready("/commission/onecode")
	for _, tr := range d.all("#onecode tbody tr") {
		f := strings.Fields(text(tr))
		if len(f) == 7 && f[0] == "北京市" {
			n, _ := strconv.Atoi(strings.ReplaceAll(f[3], ",", "")) // counter, kiosk, doctor workstation ...
			return n
		}
	}
	return 0
}

func TestScannedCardResolvesAndIsCounted(t *testing.T) {
	commission := newBrowser(t).as("commission", "")
	before := onecodeUses(t, commission)

	issued := apiPost(t, "/Patient/demo-pat-000003/$issue-health-card", `{"resourceType":"Parameters"}`)
	code := param(issued, "staticCode")
	if code == "" {
		t.Fatalf("no static code issued: %v", issued)
	}
	clinician := newBrowser(t).as("clinician", "demo-org-110112001")
	// what a scanner types: the QR text, here inside a line of noise
	status, body, resp := clinician.get("/patients?q=" + url.QueryEscape(" "+code+"\n"))
	loc := resp.Header.Get("Location")
	// The card belongs to the EMPI's master of the record; the console
	// opens the master's view.
	var master string
	for _, x := range issued["parameter"].([]any) {
		if po := x.(map[string]any); po["name"] == "patient" {
			master = strings.TrimPrefix(po["valueReference"].(map[string]any)["reference"].(string), "Patient/")
		}
	}
	if status != http.StatusSeeOther || master == "" || !strings.HasPrefix(loc, "/patients/"+master+"?mrn=") {
		t.Fatalf("scan: %d → %q\n%.1500s", status, loc, body)
	}
	d := clinician.page(loc)
	if got := text(d.one(t, "#resolved")); !strings.Contains(got, "本院病案号") {
		t.Errorf("resolved note %q", got)
	}
	// the use is recorded (in batches) and shows on the dashboard
	after := before
	for i := 0; i < 50 && after == before; i++ {
		time.Sleep(100 * time.Millisecond)
		after = onecodeUses(t, commission)
	}
	if after != before+1 {
		t.Errorf("doctor-workstation uses in 北京市: %d before, %d after one scan", before, after)
	}
	// a forged code is refused with the card service's reason
	forged := code[:len(code)-4] + "AAAA"
	if status, _, _ := clinician.get("/patients?q=" + url.QueryEscape(forged)); status != http.StatusBadRequest {
		t.Errorf("forged code: %d, want 400", status)
	}
	// resolving needs an institution
	platform := newBrowser(t).as("clinician", "")
	if status, _, _ := platform.get("/patients?q=" + url.QueryEscape(code)); status != http.StatusBadRequest {
		t.Errorf("scan without an institution: %d, want 400", status)
	}
	// the CSV export has the same figures
	_, csv, _ := commission.get("/commission/onecode.csv")
	if !strings.Contains(csv, "北京市,") || !strings.HasPrefix(csv, "\uFEFF城市,窗口,自助机,医生工作站") {
		t.Errorf("onecode.csv: %.300s", csv)
	}
}

func TestPatientCard(t *testing.T) {
	b := newBrowser(t).as("clinician", "demo-org-110112001")
	// The demo loader put each resident's card on the EMPI master, where
	// the card service keeps cards: a demo patient shows its card at once.
	const id = "demo-pat-000005"
	d := b.page("/patients/" + id)
	if len(d.all("form#issue-card")) != 0 {
		t.Error("a demo resident with a card is offered a new one")
	}
	// A near-duplicate waiting for review has no card of its own yet: it
	// is offered one.
	if d := b.page("/patients/demo-dup-000087"); len(d.all("#card img.qr")) != 0 {
		t.Error("the near-duplicate demo-dup-000087 shows a card before anyone linked it")
	} else {
		d.one(t, "form#issue-card")
	}
	src, _ := attr(d.one(t, "#card img.qr"), "src")
	status, body, resp := b.get(src)
	if status != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(body, "<svg") {
		t.Fatalf("card QR: %d %s %.300s", status, resp.Header.Get("Content-Type"), body)
	}
}
