package console_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xietong/xietong/demo"
	"github.com/xietong/xietong/server"
)

// The page and browser tests share one node with a small demo region
// (the full directory, 120 patients), loaded once through the API.

var region struct {
	once sync.Once
	dir  string
	srv  *server.Server
	ts   *httptest.Server
	err  error
}

// smallRegion is big enough for every page to have real work and small
// enough to load in a few seconds.
var smallRegion = demo.Config{Patients: 120, Practitioners: 40, Months: 18, Seed: 20261101}

func TestMain(m *testing.M) {
	code := m.Run()
	if region.ts != nil {
		region.ts.Close()
	}
	if region.srv != nil {
		region.srv.Close()
	}
	if region.dir != "" {
		os.RemoveAll(region.dir)
	}
	os.Exit(code)
}

// node returns the shared node's test server, loading the region on first
// use.
func node(t testing.TB) *httptest.Server {
	t.Helper()
	region.once.Do(func() {
		region.dir, region.err = os.MkdirTemp("", "xietong-console-")
		if region.err != nil {
			return
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		region.srv, region.err = server.New(context.Background(), server.Config{DB: filepath.Join(region.dir, "x.db"), Demo: true, Logger: log})
		if region.err != nil {
			return
		}
		// the recognition catalogue first, as `serve` imports it at start,
		// so results are marked as they are written
		if region.err = region.srv.EnsureRecognitionCatalogue(context.Background()); region.err != nil {
			return
		}
		if region.err = region.srv.LoadDemo(context.Background(), smallRegion); region.err != nil {
			return
		}
		region.ts = httptest.NewServer(region.srv.Handler())
	})
	if region.err != nil {
		t.Fatalf("demo node: %v", region.err)
	}
	return region.ts
}

// browser is a user agent without redirects followed, with the demo cookie
// of a role.
type browser struct {
	t       testing.TB
	base    string
	cookies []*http.Cookie
	client  *http.Client
}

func newBrowser(t testing.TB) *browser {
	ts := node(t)
	return &browser{t: t, base: ts.URL, client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// as chooses a demo role and institution through the role form.
func (b *browser) as(role, org string) *browser {
	b.t.Helper()
	resp := b.post("/role", url.Values{"role": {role}, "org": {org}, "next": {"/"}})
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("choose role %s at %s: status %d", role, org, resp.StatusCode)
	}
	return b
}

func (b *browser) do(req *http.Request) *http.Response {
	b.t.Helper()
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		kept := b.cookies[:0]
		for _, old := range b.cookies {
			if old.Name != c.Name {
				kept = append(kept, old)
			}
		}
		b.cookies = append(kept, c)
	}
	return resp
}

func (b *browser) post(path string, form url.Values) *http.Response {
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp := b.do(req)
	resp.Body.Close()
	return resp
}

// get fetches path and returns the status, the body and the response.
func (b *browser) get(path string) (int, string, *http.Response) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	resp := b.do(req)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp
}

// page fetches path, wants 200 and parses it.
func (b *browser) page(path string) doc {
	b.t.Helper()
	t := b.t.(*testing.T)
	status, body, _ := b.get(path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d\n%.2000s", path, status, body)
	}
	return parseHTML(t, body)
}

// ready fetches a page whose figures may first be counted (#counting, a
// page that reloads itself) until they are there.
func (b *browser) ready(path string) doc {
	b.t.Helper()
	t := b.t.(*testing.T)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d := b.page(path)
		if len(d.all("#counting")) == 0 {
			return d
		}
		if len(d.all("meta[http-equiv=refresh]")) != 1 {
			t.Fatalf("%s says it is counting but does not reload itself", path)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still counting after 2 minutes", path)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// api reads the FHIR API directly as the demo administrator, the oracle
// the pages are compared with.
func api(t testing.TB, path string) map[string]any {
	t.Helper()
	resp, err := http.Get(node(t).URL + "/fhir" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	d := json.NewDecoder(resp.Body)
	d.UseNumber()
	if err := d.Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /fhir%s: %d %v", path, resp.StatusCode, err)
	}
	return out
}

func apiTotal(t testing.TB, path string) int {
	t.Helper()
	n, err := api(t, path)["total"].(json.Number).Int64()
	if err != nil {
		t.Fatalf("total of %s: %v", path, err)
	}
	return int(n)
}

func json2(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// apiPost posts a FHIR body to the API as the demo administrator.
func apiPost(t testing.TB, path, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(node(t).URL+"/fhir"+path, "application/fhir+json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	d := json.NewDecoder(resp.Body)
	d.UseNumber()
	if err := d.Decode(&out); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("POST /fhir%s: %d %v %v", path, resp.StatusCode, err, out)
	}
	return out
}

// param returns a named Parameters value.
func param(p map[string]any, name string) string {
	for _, x := range p["parameter"].([]any) {
		po := x.(map[string]any)
		if po["name"] == name {
			for k, v := range po {
				if strings.HasPrefix(k, "value") {
					s, _ := v.(string)
					return s
				}
			}
		}
	}
	return ""
}
