package console

import (
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/xietong/xietong/access"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the console needs from the node.
type Config struct {
	// API is the node's FHIR API handler; every read and write of the
	// console goes through it.
	API http.Handler
	// Base is the path the API serves ("/fhir").
	Base   string
	Logger *slog.Logger
	// Today is the console's today, for default periods: the activity
	// chart ends in the month of the last whole day before it. nil: the
	// clock. A demo node passes the demo region's fixed today (its results
	// end there, whatever the date), so its charts open on its data.
	Today func() time.Time
}

// Console serves the browser UI.
type Console struct {
	cfg    Config
	log    *slog.Logger
	fhir   *client
	mux    *http.ServeMux
	pages  map[string]map[string]*template.Template // language → page → template
	static map[string]staticFile                    // versioned path → file

	capsOnce sync.Once
	caps     capabilities

	agg aggregates // figures that count the whole region, kept (aggregate.go)
}

type staticFile struct {
	body        []byte
	contentType string
}

// capabilities are the optional operations the node offers (read once
// from its CapabilityStatement): pages of engines that are not on this
// node say so instead of failing.
type capabilities struct {
	ops map[string]bool // "Patient/$match", "$recognition-check" ...
}

func (c capabilities) Has(op string) bool { return c.ops[op] }

// New parses the templates (once; a template that uses an unknown message
// key or function fails here) and builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.API == nil {
		return nil, errors.New("console: no FHIR API to call")
	}
	if cfg.Base == "" {
		cfg.Base = "/fhir"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Today == nil {
		cfg.Today = time.Now
	}
	c := &Console{cfg: cfg, log: cfg.Logger, fhir: &client{api: cfg.API, base: strings.TrimSuffix(cfg.Base, "/")}, mux: http.NewServeMux()}
	if err := c.loadStatic(); err != nil {
		return nil, err
	}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

func (c *Console) routes() {
	h := func(pattern string, fn handlerFunc) { c.mux.Handle(pattern, c.adapt(fn)) }
	c.mux.HandleFunc("GET /static/", c.serveStatic)
	c.mux.HandleFunc("GET /role", c.handleRoleForm)
	c.mux.HandleFunc("POST /role", c.handleRoleChoose)
	h("GET /{$}", c.handleHome)
	h("GET /patients", c.handlePatients)
	h("GET /patients/{id}", c.handlePatient)
	h("GET /patients/{id}/card.svg", c.handleCardQR)
	h("POST /patients/{id}/card", c.handleIssueCard)
	h("GET /patients/{id}/check", c.handleCheck)
	h("POST /patients/{id}/decision", c.handleDecision)
	h("GET /directory", c.handleInstitutions)
	h("GET /directory/institutions/{id}", c.handleInstitution)
	h("GET /directory/cooperations", c.handleCooperations)
	h("GET /directory/practitioners", c.handlePractitioners)
	h("GET /directory/pools", c.handlePools)
	h("GET /directory/services", c.handleServices)
	h("GET /recognition", c.handleCatalogue)
	h("GET /recognition/items/{id}", c.handleItem)
	h("POST /recognition/items/{id}", c.handleItemSave)
	h("GET /recognition/qualifications", c.handleQualifications)
	h("POST /recognition/memberships", c.handleMemberAdd)
	h("POST /recognition/memberships/{id}/withdraw", c.handleMemberWithdraw)
	h("POST /recognition/eqa", c.handleEQA)
	h("GET /review", c.handleReview)
	h("POST /review/{id}/decide", c.handleReviewDecide)
	h("GET /commission", c.handleCommission)
	h("GET /commission/activity", c.handleActivity)
	h("GET /commission/onecode", c.handleOneCode)
	h("GET /commission/{table}", c.handleCommissionCSV)
	h("/", func(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
		return "", &pageError{Status: http.StatusNotFound, Key: "error.nopage"}
	})
}

// view is what every page template receives.
type view struct {
	Lang      string
	Principal access.Principal
	OrgName   string
	Title     string
	Section   string // the nav item to highlight
	Path      string // the current URL path and query, for the language switch
	CSS       string // the versioned stylesheet URL
	Caps      capabilities
	Data      any
	Status    int // of the page, when not 200 (a form shown again with its errors)
	Refresh   int // seconds after which the page reloads itself (figures being counted)
}

// LangURL is the current page in the other language.
func (v *view) LangURL(lang string) string {
	u, _ := url.Parse(v.Path)
	if u == nil {
		u = &url.URL{Path: "/"}
	}
	q := u.Query()
	q.Set("lang", lang)
	u.RawQuery = q.Encode()
	return u.String()
}

// Can reports whether the console offers an action to the role. The guard
// still decides each access; this only avoids showing what would be
// refused.
func (v *view) Can(what string) bool {
	role := v.Principal.Role
	switch what {
	case "patients":
		return role == "clinician" || role == "admin" || role == "cdc"
	case "commission":
		return role == "commission" || role == "admin" || role == "viewer"
	case "edit-catalogue":
		return role == "admin"
	case "review":
		return role == "admin" || role == "clinician"
	case "decide":
		return role == "clinician"
	}
	return false
}

// handlerFunc serves a page: it fills v.Data (and the title) and returns
// the page template's name, or an error for the adapter to show.
type handlerFunc func(w http.ResponseWriter, r *http.Request, v *view) (page string, err error)

// adapt resolves the language and the demo principal, runs fn, and writes
// its page or its error. Without a chosen role the user is sent to choose
// one first.
func (c *Console) adapt(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := c.language(w, r)
		p, orgName, ok := principalFrom(r)
		if !ok {
			http.Redirect(w, r, "/role?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		v := &view{Lang: lang, Principal: p, OrgName: orgName, Path: r.URL.RequestURI(), CSS: c.cssURL(), Caps: c.capabilities(r.Context())}
		page, err := fn(w, r, v)
		if err != nil {
			c.writeError(w, r, v, err)
			return
		}
		if page == "" { // fn wrote the answer itself (CSV, redirect)
			return
		}
		c.render(w, cmp.Or(v.Status, http.StatusOK), v, page)
	})
}

// render executes a page template into a buffer first, so a template error
// never sends half a page.
func (c *Console) render(w http.ResponseWriter, status int, v *view, page string) {
	t := c.pages[v.Lang][page]
	if t == nil {
		c.log.Error("console: no such page template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		c.log.Error("console: render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

// pageError is an error a page explains to the user with a status.
type pageError struct {
	Status int
	Key    string // message key of the explanation
	Detail string // the API's diagnostics, if any
}

func (e *pageError) Error() string { return fmt.Sprintf("%d %s %s", e.Status, e.Key, e.Detail) }

func badInput(key string) error { return &pageError{Status: http.StatusBadRequest, Key: key} }

// writeError shows an error page. Refusals of the guard (403), things
// that do not exist (404) and bad input (4xx) are explained; anything else
// is logged with its cause and shown as a safe message.
func (c *Console) writeError(w http.ResponseWriter, r *http.Request, v *view, err error) {
	pe := &pageError{Status: http.StatusInternalServerError, Key: "error.internal"}
	var ae *apiError
	switch {
	case errors.As(err, &pe):
	case errors.As(err, &ae):
		pe = &pageError{Status: ae.Status, Detail: ae.Message}
		switch {
		case ae.Status == http.StatusForbidden:
			pe.Key = "error.denied"
		case ae.Status == http.StatusNotFound || ae.Status == http.StatusGone:
			pe.Key = "error.notfound"
		case ae.Status < 500:
			pe.Key = "error.request"
		default:
			pe = &pageError{Status: http.StatusBadGateway, Key: "error.internal"}
			c.log.Error("console: API failure", "path", r.URL.Path, "err", err)
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		pe = &pageError{Status: http.StatusServiceUnavailable, Key: "error.timeout"}
	default:
		c.log.Error("console: page failed", "path", r.URL.Path, "err", err)
	}
	v.Title = "error.title"
	v.Data = pe
	c.render(w, pe.Status, v, "error")
}

// capabilities reads the node's CapabilityStatement once.
func (c *Console) capabilities(ctx context.Context) capabilities {
	c.capsOnce.Do(func() {
		c.caps = capabilities{ops: map[string]bool{}}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		cs, err := c.fhir.get(ctx, access.Principal{Subject: "console", Role: "viewer", Demo: true}, "/metadata", nil)
		if err != nil {
			c.log.Warn("console: cannot read the CapabilityStatement; optional pages are off", "err", err)
			return
		}
		for _, rest := range list(cs["rest"]) {
			ro := object(rest)
			for _, op := range list(ro["operation"]) {
				c.caps.ops["$"+str(object(op)["name"])] = true
			}
			for _, res := range list(ro["resource"]) {
				rs := object(res)
				for _, op := range list(rs["operation"]) {
					c.caps.ops[str(rs["type"])+"/$"+str(object(op)["name"])] = true
				}
			}
		}
	})
	return c.caps
}

// --- static assets -------------------------------------------------------

func (c *Console) loadStatic() error {
	c.static = map[string]staticFile{}
	return fs.WalkDir(staticFS, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(path, "static/")
		ext := name[strings.LastIndexByte(name, '.'):]
		versioned := "/static/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ct := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}[ext]
		c.static[versioned] = staticFile{body: b, contentType: ct}
		c.static["/static/"+name] = staticFile{body: b, contentType: ct} // unversioned, not cached long
		return nil
	})
}

func (c *Console) cssURL() string {
	for p := range c.static {
		if strings.HasPrefix(p, "/static/style.") && p != "/static/style.css" {
			return p
		}
	}
	return "/static/style.css"
}

// serveStatic serves an embedded asset; versioned names are immutable.
func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := c.static[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	if versionedName.MatchString(r.URL.Path) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	w.Write(f.body)
}

var versionedName = regexp.MustCompile(`\.[0-9a-f]{12}\.[a-z]+$`)
