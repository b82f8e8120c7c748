// Package fhirapi is Xietong's FHIR R4 REST API: the HTTP face of the
// store. It turns requests (single interactions, batch and transaction
// Bundles) into validated, indexed, versioned writes and into reads and
// searches, and writes every answer as FHIR JSON, errors as
// OperationOutcome.
//
// Data flows one way through it: intake (decode, limits) → validation →
// access check (package access, for every interaction) → store → response.
// It depends on fhir/*, search, store and access; nothing in those depends
// on it. Engines and the console call the store through the same guard, not
// through this package's internals.
package fhirapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
)

// Config holds the API's settings.
type Config struct {
	// Base is the path the API is mounted at ("/fhir").
	Base string
	// PublicURL is the absolute base used in fullUrl and links
	// ("https://region.example/fhir"); empty means derive it from each
	// request's Host.
	PublicURL string
	// MaxBodyBytes bounds a request body (default 32 MiB).
	MaxBodyBytes int64
	// MaxDepth bounds JSON nesting (default 64).
	MaxDepth int
	// DefaultCount and MaxCount bound search page sizes (50, 1000).
	DefaultCount, MaxCount int
	// QueryTimeout is the time budget of one search (default 10 s).
	QueryTimeout time.Duration
	// MaxBundleEntries bounds a batch or transaction (default 10,000).
	MaxBundleEntries int
	// Zone is the server's local time zone, for dates written without one
	// (search values, _since, _at); the Indexer must use the same.
	Zone *time.Location
}

func (c *Config) defaults() {
	if c.Base == "" {
		c.Base = "/fhir"
	}
	c.Base = strings.TrimSuffix(c.Base, "/")
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 32 << 20
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = 64
	}
	if c.DefaultCount == 0 {
		c.DefaultCount = 50
	}
	if c.MaxCount == 0 {
		c.MaxCount = 1000
	}
	if c.QueryTimeout == 0 {
		c.QueryTimeout = 10 * time.Second
	}
	if c.MaxBundleEntries == 0 {
		c.MaxBundleEntries = 10000
	}
}

// Indexer computes the search-index entries of a resource.
type Indexer interface {
	Index(resourceType string, resource map[string]any) (store.Index, error)
}

// Validator checks a resource against the definitions and returns its
// issues; any issue of severity error or fatal rejects the write.
type Validator interface {
	Validate(resource map[string]any) []outcome.Issue
}

// Deps are the collaborators of the API.
type Deps struct {
	Store     store.Store
	Indexer   Indexer
	Validator Validator
	Guard     *access.Guard
	Logger    *slog.Logger
	Now       func() time.Time // for tests; time.Now by default
	// Operations are FHIR operations implemented by engines outside this
	// package, keyed "Type/$name" (type level, id "") or "Type/{id}/$name"
	// (instance level). The API checks access (Action Operation) before
	// calling them; they answer with FHIR JSON or return an error (an
	// *outcome.Error for the client's mistakes).
	Operations map[string]OperationFunc
	// Hooks are the engines' steps on the write path (identity,
	// recognition marking), run in order; see Hook.
	Hooks []Hook
	// Identifiers widens identifier searches (search.Options.Identifiers):
	// the EMPI's rule for resident ID numbers.
	Identifiers func(system, value string) []store.Coding
}

// OperationFunc serves one operation call; id is "" at type level.
type OperationFunc func(w http.ResponseWriter, r *http.Request, id string) error

// Server serves the FHIR API.
type Server struct {
	cfg  Config
	deps Deps
	mux  *http.ServeMux
	caps []byte       // the CapabilityStatement, built once
	read http.Handler // GET [base]/[type]/[id], also reached without the mux (serveRead)
	prep prepSlots    // admission of writes' preparation beside the writer (prepslots.go)
}

// New builds the API.
func New(cfg Config, deps Deps) *Server {
	cfg.defaults()
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Server{cfg: cfg, deps: deps, mux: http.NewServeMux()}
	s.routes()
	s.caps = s.capabilityStatement()
	return s
}

func (s *Server) routes() {
	b := s.cfg.Base
	h := func(pattern string, fn handlerFunc) { s.mux.Handle(pattern, s.adapt(fn)) }
	h("GET "+b+"/metadata", s.handleMetadata)
	h("POST "+b, s.handleBundle)
	h("POST "+b+"/{$}", s.handleBundle)
	h("GET "+b, s.handleSystemSearch)
	h("GET "+b+"/{$}", s.handleSystemSearch)
	h("POST "+b+"/_search", s.handleSystemSearch)
	h("GET "+b+"/_history", s.handleHistory)
	h("GET "+b+"/{type}", s.handleTypeSearch)
	h("POST "+b+"/{type}/_search", s.handleTypeSearch)
	h("POST "+b+"/{type}", s.handleCreate)
	h("PUT "+b+"/{type}", s.handleConditional)
	h("DELETE "+b+"/{type}", s.handleConditional)
	h("PATCH "+b+"/{type}", s.handleConditional)
	h("GET "+b+"/{type}/_history", s.handleHistory)
	s.read = s.adapt(s.handleRead)
	s.mux.Handle("GET "+b+"/{type}/{id}", s.read)
	h("PUT "+b+"/{type}/{id}", s.handleInstanceWrite)
	h("DELETE "+b+"/{type}/{id}", s.handleInstanceWrite)
	h("PATCH "+b+"/{type}/{id}", s.handleInstanceWrite)
	h("GET "+b+"/{type}/{id}/_history", s.handleHistory)
	h("GET "+b+"/{type}/{id}/{rtype}", s.handleCompartmentSearch)
	h("POST "+b+"/{type}/{id}", s.handlePostOperation)
	h("POST "+b+"/{type}/{id}/{rtype}", s.handlePostInstanceOperation)
	h("GET "+b+"/{type}/{id}/_history/{vid}", s.handleVRead)
	// Anything else under the base: a FHIR error rather than the mux's text.
	h(b+"/", s.handleUnknown)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = s.trimSlash(r)
	if s.serveRead(w, r, s.read) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// trimSlash ignores a trailing slash (Patient/123/ is Patient/123), as
// clients and people add them.
func (s *Server) trimSlash(r *http.Request) *http.Request {
	p := r.URL.Path
	if len(p) <= len(s.cfg.Base)+1 || !strings.HasSuffix(p, "/") {
		return r
	}
	r2 := *r
	u := *r.URL
	u.Path = strings.TrimRight(p, "/")
	u.RawPath = ""
	r2.URL = &u
	return &r2
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// adapt is the one place errors become responses: *outcome.Error as they
// are, store and access sentinels mapped, anything else a logged 500.
func (s *Server) adapt(fn handlerFunc) http.Handler {
	return gzipMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.deps.Logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeOutcome(w, r, outcome.Internal(nil))
			}
		}()
		if err := fn(w, r); err != nil {
			oe := s.toOutcome(err)
			if oe.Status >= 500 {
				s.deps.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeOutcome(w, r, oe)
		}
	}))
}

// toOutcome maps any error to the *outcome.Error a client sees.
func (s *Server) toOutcome(err error) *outcome.Error {
	if oe := outcome.As(err); oe != nil {
		return oe
	}
	switch {
	case errors.Is(err, access.ErrDenied):
		return outcome.Wrap(err, http.StatusForbidden, "forbidden", "%v", err)
	case errors.Is(err, store.ErrNotFound):
		return outcome.Wrap(err, http.StatusNotFound, "not-found", "%v", err)
	case errors.Is(err, store.ErrGone):
		return outcome.Wrap(err, http.StatusGone, "deleted", "%v", err)
	case errors.Is(err, store.ErrConflict):
		return outcome.Wrap(err, http.StatusConflict, "conflict", "The resource was changed by another request at the same time (%v); read it again and retry.", err)
	case errors.Is(err, store.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return outcome.Wrap(err, http.StatusRequestTimeout, "too-costly",
			"The search took longer than its time budget of %s; narrow it with more specific parameters.", s.cfg.QueryTimeout)
	case errors.Is(err, store.ErrUnsupported):
		return outcome.Wrap(err, http.StatusBadRequest, "not-supported", "%v", err)
	case errors.Is(err, store.ErrInvalid):
		return outcome.Wrap(err, http.StatusBadRequest, "invalid", "%v", err)
	case errors.Is(err, context.Canceled):
		return outcome.Wrap(err, 499, "transient", "The client closed the request.")
	}
	return outcome.Internal(err)
}

func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) error {
	rest := strings.TrimPrefix(r.URL.Path, s.cfg.Base+"/")
	first, _, _ := strings.Cut(rest, "/")
	if strings.HasPrefix(first, "$") || strings.Contains(rest, "/$") {
		return outcome.NotSupported("The operation in %q is not supported by this server; see [base]/metadata for the operations it offers.", r.URL.Path)
	}
	if first == "metadata" {
		w.Header().Set("Allow", "GET, HEAD")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported", "%s %s: the CapabilityStatement is read with GET [base]/metadata.", r.Method, r.URL.Path)
	}
	if !isKnownType(first) {
		return unknownType(first)
	}
	w.Header().Set("Allow", allowFor(rest))
	return outcome.New(http.StatusMethodNotAllowed, "not-supported",
		"%s %s is not a FHIR interaction this server offers.", r.Method, r.URL.Path)
}

// allowFor is the Allow header of a 405 for a path below the base.
func allowFor(rest string) string {
	switch strings.Count(rest, "/") {
	case 0: // Type
		return "GET, HEAD, POST, PUT, PATCH, DELETE"
	case 1: // Type/id
		return "GET, HEAD, PUT, PATCH, DELETE"
	}
	return "GET, HEAD"
}

// guard checks an access with the principal of the request.
func (s *Server) guard(ctx context.Context, r *http.Request, a access.Action, typ, id string) error {
	return s.deps.Guard.Check(ctx, access.Request{Action: a, ResourceType: typ, ID: id, Source: r.RemoteAddr})
}

func (s *Server) searchOptions(r *http.Request) search.Options {
	return search.Options{
		Strict:       preferHandling(r) == "strict",
		DefaultCount: s.cfg.DefaultCount,
		MaxCount:     s.cfg.MaxCount,
		Zone:         s.cfg.Zone,
		Terminology:  search.StoreTerminology{R: s.deps.Store},
		Context:      r.Context(),
		Identifiers:  s.deps.Identifiers,
	}
}
