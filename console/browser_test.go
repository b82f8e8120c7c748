package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
	var heading, summary, role string
	var events int
	err := chromedp.Run(ctx,
		// a first visit goes to the role page
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`#role-form`, chromedp.ByQuery),
		shot(t, "01-role"),
		chooseRole(base, "clinician", "demo-org-110112001"),
		chromedp.Text(`#current-role`, &role, chromedp.ByQuery),
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
		shot(t, "04-commission-1366x768"),
		chromedp.Click(`#activity-link`, chromedp.ByQuery),
		chromedp.WaitVisible(`#chart-activity`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#chart-activity rect').length`, &bars),
		shot(t, "05-activity-1366x768"),
		// a phone: nothing may be wider than the screen
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(base+"/commission/activity?lang=en"),
		chromedp.WaitVisible(`#chart-activity`, chromedp.ByQuery),
		chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow),
		shot(t, "06-activity-phone-en"),
		chromedp.Navigate(base+"/directory"),
		chromedp.WaitVisible(`#institutions`, chromedp.ByQuery),
		shot(t, "07-directory-phone-en"),
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
