package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser tests: headless Chromium (the Debian package) driven by
// chromedp through the key flows, with screenshots kept as artifacts in
// $XIETONG_ARTIFACTS (default: a folder in the system temp dir). They skip
// with a message when Chromium is absent, unless
// XIETONG_BROWSER_REQUIRED=1 (as in CI).

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("XIETONG_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("XIETONG_BROWSER_REQUIRED") == "1" {
		t.Fatal("XIETONG_BROWSER_REQUIRED=1 but no Chromium found (install the Debian package chromium, or set XIETONG_CHROMIUM)")
	}
	t.Skip("no Chromium on this machine: browser tests skipped (apt-get install chromium; XIETONG_BROWSER_REQUIRED=1 makes this a failure)")
	return ""
}

func artifactsDir(t *testing.T) string {
	dir := os.Getenv("XIETONG_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "xietong-artifacts")
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newChrome starts a fresh headless Chromium (its own profile folder) and
// returns a browser context.
func newChrome(t *testing.T) context.Context {
	exe := chromium(t)
	// A fresh profile, removed after Chromium has exited (t.TempDir's
	// cleanup can run while Chromium's helpers still write into it).
	profile, err := os.MkdirTemp("", "xietong-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1366, 768),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelT()
		cancelC()
		cancelA()
		for range 20 {
			if os.RemoveAll(profile) == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium %s: %v", exe, err)
	}
	return ctx
}

// shot saves a full-page screenshot as an artifact.
func shot(t *testing.T, name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var buf []byte
		if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
			return err
		}
		p := filepath.Join(artifactsDir(t), name+".png")
		t.Logf("screenshot %s", p)
		return os.WriteFile(p, buf, 0o644)
	})
}

// chooseRole goes through the demo role page.
func chooseRole(base, role, org string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(base + "/role"),
		chromedp.WaitVisible(`#role-form`, chromedp.ByQuery),
		chromedp.Click(`#role-form input[value="`+role+`"]`, chromedp.ByQuery),
		chromedp.SetValue(`#org`, org, chromedp.ByQuery),
		chromedp.Click(`#role-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#counts`, chromedp.ByQuery),
	}
}

func TestBrowserClinicianFindsAPatientByOneCode(t *testing.T) {
	ctx := newChrome(t)
	base := node(t).URL
	// a card issued by the card service; the clinician pastes its QR text
	issued := apiPost(t, "/Patient/demo-pat-000004/$issue-health-card", `{"resourceType":"Parameters"}`)
	code := param(issued, "staticCode")
	p4 := api(t, "/Patient/demo-pat-000004")
	name := p4["name"].([]any)[0].(map[string]any)["text"].(string)
	var heading, summary, role, retestBefore, retestAfter, checkResult string
	var events int
	err := chromedp.Run(ctx,
		// a first visit goes to the role page
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`#role-form`, chromedp.ByQuery),
		shot(t, "01-role"),
		chooseRole(base, "clinician", "demo-org-110112001"),
		chromedp.Text(`#current-role`, &role, chromedp.ByQuery),
		chromedp.Navigate(base+"/commission"),
		chromedp.WaitVisible(`#recog-retest`, chromedp.ByQuery),
		chromedp.Text(`#recog-retest`, &retestBefore, chromedp.ByQuery),
		shot(t, "02-home"),
		// paste the scanned e-health-card text into the workspace
		chromedp.Navigate(base+"/patients"),
		chromedp.WaitVisible(`#q`, chromedp.ByQuery),
		chromedp.SendKeys(`#q`, code, chromedp.ByQuery),
		chromedp.Click(`#patient-search-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#timeline`, chromedp.ByQuery),
		chromedp.WaitVisible(`#resolved`, chromedp.ByQuery),
		chromedp.Text(`#patient-name`, &heading, chromedp.ByQuery),
		chromedp.Text(`#patient-summary`, &summary, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#timeline li.event').length`, &events),
		shot(t, "03-patient-timeline"),
		// the recognition check before ordering, and the decision
		chromedp.SetValue(`#check-item`, "AFP", chromedp.ByQuery),
		chromedp.Click(`#check-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#decision-form`, chromedp.ByQuery),
		chromedp.Text(`#check-result`, &checkResult, chromedp.ByQuery),
		shot(t, "04-recognition-check"),
		chromedp.Click(`#decide-retest`, chromedp.ByQuery),
		chromedp.SetValue(`#retest-reason`, "6", chromedp.ByQuery),
		chromedp.SendKeys(`#retest-note`, "患者要求复查", chromedp.ByQuery),
		chromedp.Click(`#decision-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#decided`, chromedp.ByQuery),
		chromedp.Navigate(base+"/commission"),
		chromedp.WaitVisible(`#recog-retest`, chromedp.ByQuery),
		chromedp.Text(`#recog-retest`, &retestAfter, chromedp.ByQuery),
		shot(t, "05-commission-after-decision"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if role != "临床医生" {
		t.Errorf("banner role %q", role)
	}
	if !strings.HasPrefix(heading, name) {
		t.Errorf("patient page heading %q, want %s", heading, name)
	}
	if events == 0 || !strings.Contains(summary, "家机构") {
		t.Errorf("timeline: %d events, summary %q", events, summary)
	}
	if checkResult == "" {
		t.Error("no check result shown")
	}
	nb, _ := strconv.Atoi(strings.ReplaceAll(retestBefore, ",", ""))
	na, _ := strconv.Atoi(strings.ReplaceAll(retestAfter, ",", ""))
	if na != nb+1 {
		t.Errorf("re-tests on the dashboard: %q before, %q after recording one", retestBefore, retestAfter)
	}
}

func TestBrowserCommissionDashboardOnDesktopAndPhone(t *testing.T) {
	ctx := newChrome(t)
	base := node(t).URL
	var bars int
	var overflow bool
	err := chromedp.Run(ctx,
		chooseRole(base, "commission", ""),
		chromedp.Navigate(base+"/commission"),
		chromedp.WaitVisible(`#chart-participation`, chromedp.ByQuery),
		shot(t, "06-commission-1366x768"),
		chromedp.Click(`#activity-link`, chromedp.ByQuery),
		chromedp.WaitVisible(`#chart-activity`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#chart-activity rect').length`, &bars),
		shot(t, "07-activity-1366x768"),
		// a phone: nothing may be wider than the screen
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(base+"/commission/activity?lang=en"),
		chromedp.WaitVisible(`#chart-activity`, chromedp.ByQuery),
		chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow),
		shot(t, "08-activity-phone-en"),
		chromedp.Navigate(base+"/directory"),
		chromedp.WaitVisible(`#institutions`, chromedp.ByQuery),
		shot(t, "09-directory-phone-en"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if bars < 10 {
		t.Errorf("activity chart has %d bars", bars)
	}
	if overflow {
		t.Error("the dashboard is wider than a phone screen")
	}
}

// An administrator changes a catalogue item in the browser: a wrong code
// line is explained on the form with what was typed kept, the corrected
// form is saved; then the qualifications page, and the patient timeline
// with its recognition marks on a phone.
func TestBrowserAdministratorEditsTheCatalogue(t *testing.T) {
	ctx := newChrome(t)
	base := node(t).URL
	id := itemID(t, "XR-KNEE")
	orig := api(t, "/ActivityDefinition/"+id)
	t.Cleanup(func() {
		orig["meta"] = api(t, "/ActivityDefinition/"+id)["meta"]
		apiPut(t, "/ActivityDefinition/"+id, orig)
	})
	var errText, kept, saved, window string
	var marks int
	err := chromedp.Run(ctx,
		chooseRole(base, "admin", ""),
		chromedp.Navigate(base+"/recognition"),
		chromedp.WaitVisible(`#catalogue a.edit`, chromedp.ByQuery),
		shot(t, "10-catalogue-admin"),
		chromedp.Click(`#catalogue tr[data-item="`+id+`"] a.edit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#item-form`, chromedp.ByQuery),
		chromedp.SetValue(`#item-window`, "120", chromedp.ByQuery),
		chromedp.SetValue(`#item-codes`, "http://loinc.org|24675-1\n24676-9", chromedp.ByQuery),
		chromedp.Click(`#item-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#form-errors`, chromedp.ByQuery),
		chromedp.Text(`#form-errors`, &errText, chromedp.ByQuery),
		chromedp.Value(`#item-window`, &kept, chromedp.ByQuery),
		shot(t, "11-catalogue-item-error"),
		chromedp.SetValue(`#item-codes`, "http://loinc.org|24675-1\nhttp://loinc.org|24676-9", chromedp.ByQuery),
		chromedp.Click(`#item-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#item-saved`, chromedp.ByQuery),
		chromedp.Text(`#item-saved`, &saved, chromedp.ByQuery),
		chromedp.Navigate(base+"/recognition"),
		chromedp.Text(`#catalogue tr[data-item="`+id+`"] td.window`, &window, chromedp.ByQuery),
		chromedp.Navigate(base+"/recognition/qualifications?org=demo-org-110112001"),
		chromedp.WaitVisible(`#eqa-results`, chromedp.ByQuery),
		shot(t, "12-qualifications"),
		// the timeline on a phone, with the marks
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(base+"/patients/demo-pat-000001"),
		chromedp.WaitVisible(`#timeline`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#timeline .mark').length`, &marks),
		shot(t, "13-timeline-phone"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errText, "24676-9") || kept != "120" {
		t.Errorf("error %q, window kept as %q", errText, kept)
	}
	if saved == "" || window != "120" {
		t.Errorf("saved %q, catalogue window %q", saved, window)
	}
	if marks == 0 {
		t.Error("no recognition marks on the first patient's timeline")
	}
}
