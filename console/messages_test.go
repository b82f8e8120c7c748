package console

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every key a template or the code names is in the catalogue, in both
// languages, and every code the pages translate with tk has its entry.
func TestCatalogueIsComplete(t *testing.T) {
	for key, m := range catalogue {
		if strings.TrimSpace(m.zh) == "" || strings.TrimSpace(m.en) == "" {
			t.Errorf("%s: a language is missing", key)
		}
		if strings.Count(m.zh, "%") != strings.Count(m.en, "%") {
			t.Errorf("%s: the languages take different arguments", key)
		}
	}
	used := map[string]bool{}
	keyRe := regexp.MustCompile(`(?:\{\{|\()t "([^"]+)"|msg\([a-zA-Z.]+, "([^"]+)"|badInput\("([^"]+)"\)|Key: +"([^"]+)"|v\.Title, v\.Section = "([^"]+)"|v\.Title = "([^"]+)"|\{"(home\.[a-z]+)"`)
	scan := func(path string, b []byte) {
		for _, m := range keyRe.FindAllStringSubmatch(string(b), -1) {
			for _, k := range m[1:] {
				if k != "" && !strings.HasSuffix(k, ".") { // a prefix: the codes are checked below
					used[k] = true
				}
			}
		}
	}
	fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := templateFS.ReadFile(path)
			scan(path, b)
		}
		return nil
	})
	gos, _ := filepath.Glob("*.go")
	for _, g := range gos {
		if strings.HasSuffix(g, "_test.go") {
			continue
		}
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		scan(g, b)
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys in use: the scan is broken", len(used))
	}
	for k := range used {
		if _, ok := catalogue[k]; !ok {
			t.Errorf("key %q is used but not in the catalogue", k)
		}
	}
	for prefix, codes := range map[string][]string{
		"role.": roles, "role.about.": roles, "kind.": institutionKinds, "grade.": hospitalGrades, "service.": serviceKinds,
		"registration.": {"primary", "regional"},
		"affrole.":      {"lead", "member", "supporting", "supported"}, "why.": engineReasons(), "category.": {"lab", "imaging"},
		"gender.": {"male", "female", "other", "unknown"}, "channel.": channels,
		"patients.kind.":  {"idnumber", "onecode", "name", "signedcode"},
		"review.decided.": {"link", "distinct"}, "review.grade.": {"certain", "probable", "possible", "certainly-not"},
	} {
		for _, c := range codes {
			if _, ok := catalogue[prefix+c]; !ok {
				t.Errorf("no message for %s%s", prefix, c)
			}
		}
	}
}

// A refusal of the guard reaches the user as an explained 403 page, and
// the console never answers with the API's internals.
func TestDeniedByTheAPI(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.RemoteAddr != "console" {
			t.Errorf("the console's request has source %q", r.RemoteAddr)
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		if r.URL.Path == "/fhir/metadata" {
			w.Write([]byte(`{"resourceType":"CapabilityStatement","rest":[{"mode":"server"}]}`))
			return
		}
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"access denied: no"}]}`))
	})
	c, err := New(Config{API: api})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/directory?lang=en", nil)
	req.AddCookie(&http.Cookie{Name: principalCookie, Value: "role=viewer&org="})
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), msg("en", "error.denied")) {
		t.Errorf("status %d, body %.500s", rec.Code, rec.Body.String())
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct{ q, kind, value string }{
		{"11011220040508208x", "idnumber", "11011220040508208X"},
		{"  110112200405082087 ", "idnumber", "110112200405082087"},
		{"ehc:" + strings.Repeat("ab", 32) + ":1", "onecode", strings.Repeat("AB", 32)},
		{"周静霞", "name", "周静霞"},
		{"1101122004", "name", "1101122004"},
	} {
		if k, v := classify(tc.q); k != tc.kind || v != tc.value {
			t.Errorf("classify(%q) = %s %q, want %s %q", tc.q, k, v, tc.kind, tc.value)
		}
	}
}

func TestMaskAndNumbers(t *testing.T) {
	if got := maskID("110112200405082087"); got != "110112********2087" {
		t.Errorf("maskID: %s", got)
	}
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := formatInt(n); got != want {
			t.Errorf("formatInt(%d) = %s", n, got)
		}
	}
	if got := safeNext("//evil.example"); got != "/" {
		t.Errorf("safeNext: %s", got)
	}
}
