// Package server assembles a running Xietong node from its parts: it opens
// the store, builds the FHIR API with validation, indexing and the access
// guard, and serves HTTP with health checks and graceful shutdown. The
// command (cmd/xietong) and end-to-end tests both use it, so what is tested
// is what runs.
//
// It is the only package that knows every other; none depends on it.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/audit"
	"github.com/xietong/xietong/empi"
	"github.com/xietong/xietong/fhirapi"
	"github.com/xietong/xietong/healthcard"
	"github.com/xietong/xietong/recognition"
	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/open"
)

// Config is everything a node needs to start.
type Config struct {
	Addr string // listen address, "127.0.0.1:8080"
	DB   string // SQLite file path or postgres:// URL
	// Demo runs the console in demo mode (a chosen role, no login).
	Demo bool
	// MaxBodyBytes bounds request bodies (0: the API default, 32 MiB).
	MaxBodyBytes int64
	// QueryTimeout is the time budget of one search (0: 10 s).
	QueryTimeout time.Duration
	// TimeZone is the server's local time zone, for dates written without
	// one: an IANA name or an offset ("" means Asia/Shanghai). Changing it
	// on an existing database shifts how its zone-less dates were indexed.
	TimeZone string
	// PublicURL is the absolute FHIR base for links (Location, fullUrl,
	// next); "" derives it from each request's Host header.
	PublicURL string
	Logger    *slog.Logger
	// HealthCardKeyFile is the e-health card signing keys' file, created
	// on first start ("": HealthCardKeysPath(DB)).
	HealthCardKeyFile string
	// HealthCardTTL is how long a dynamic health-card code is valid (0: 60 s).
	HealthCardTTL time.Duration
}

// Server is a configured node.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store store.Store
	api   *fhirapi.Server
	mux   *http.ServeMux
	fhir  http.Handler  // the API behind withPrincipal: /fhir and everything below it
	audit *audit.Writer // nil when the store keeps no audit log
	cards *healthcard.Service
	recog *recognition.Engine
}

// New opens the store (applying pending migrations) and builds the node.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	zone, err := LoadZone(cfg.TimeZone)
	if err != nil {
		return nil, err
	}
	st, err := open.Open(ctx, cfg.DB, open.WithMigrate())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", redact(cfg.DB), err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, store: st, mux: http.NewServeMux()}
	// Every access decision goes to the store's durable audit log when it
	// has one, else to the log.
	var recorder access.Recorder = access.NewLogRecorder(cfg.Logger)
	if al, ok := st.(store.AuditLog); ok {
		s.audit = audit.NewWriter(al, cfg.Logger, audit.Options{})
		recorder = s.audit
	}
	guard := &access.Guard{Policy: access.DemoPolicy{}, Recorder: recorder, Default: demoAdmin}
	// The EMPI links every Patient to its regional master on the write
	// path and serves the identity operations (server/empi.go).
	// fail undoes what has started so far (Close skips the parts that
	// have not: the card service holds its use journal's lock, the audit
	// writer its goroutine) and closes the store.
	fail := func(err error) (*Server, error) {
		s.Close()
		return nil, err
	}
	ident, err := newEMPI(ctx, cfg, st, guard, zone)
	if err != nil {
		return fail(err)
	}
	ops := empiOperations(ident)
	if err := s.startEngines(); err != nil {
		return fail(err)
	}
	if s.recog, err = newRecognition(ctx, st, zone, s); err != nil {
		return fail(err)
	}
	ops = s.withEngineOperations(ops)
	recognitionOperations(s.recog, ops)
	s.api = fhirapi.New(fhirapi.Config{
		Base:         "/fhir",
		PublicURL:    cfg.PublicURL,
		MaxBodyBytes: cfg.MaxBodyBytes,
		QueryTimeout: cfg.QueryTimeout,
		Zone:         zone,
	}, fhirapi.Deps{
		Store:      st,
		Indexer:    newIndexer(zone),
		Validator:  newValidator(),
		Guard:      guard,
		Logger:     cfg.Logger,
		Operations: ops,
		// Identity first: recognition follows the master link it sets.
		Hooks:       []fhirapi.Hook{empiHook{ident}, s.recog},
		Identifiers: empi.SearchIdentifiers,
	})
	s.recog.Writer = apiWriter{s}
	s.cards.Recover() // card uses a crash left in the journal, now that the API serves (decision 024)
	s.fhir = s.withPrincipal(s.firstVisitReads(s.api))
	s.mux.Handle("/fhir", s.fhir)
	s.mux.Handle("/fhir/", s.fhir)
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	if err := s.mountConsole(); err != nil {
		return fail(err)
	}
	return s, nil
}

// Handler is the node's HTTP handler.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// serveHTTP sends a plain, clean path below /fhir/ (every FHIR interaction
// by id or type, most of all reads by id) to the API without the mux: the
// mux would choose the same handler, as no other pattern lies below /fhir/,
// and matching its patterns cost a read about a microsecond and six
// allocations (docs/decisions/023-read-path-cpu.md). Anything else goes
// through the mux: the console, health, the base itself, and paths the mux
// would clean and redirect or match escaped (the API's own mux would treat
// those alike, but the mux's rules stay the only ones that apply to them).
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; strings.HasPrefix(p, "/fhir/") && r.URL.RawPath == "" && path.Clean(p) == p {
		s.fhir.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Store is the node's store (for tools and tests).
func (s *Server) Store() store.Store { return s.store }

// Close flushes the audit trail and releases the store.
// On a node that failed to start, it closes the parts that had started.
func (s *Server) Close() error {
	if s.recog != nil {
		s.recog.Close() // its background re-marking writes through the API
	}
	if s.cards != nil {
		s.cards.Close() // its last use records go through the API, before the audit trail closes
	}
	if s.audit != nil {
		s.audit.Close()
	}
	return s.store.Close()
}

// Run serves until ctx ends, then shuts down gracefully: in-flight requests
// get up to 15 s to finish, and the store is closed after them.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on an existing listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.Info("serving", "addr", ln.Addr().String(), "fhir", "http://"+ln.Addr().String()+"/fhir", "db", redact(s.cfg.DB))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err2 := <-errc; err2 != nil && !errors.Is(err2, http.ErrServerClosed) && err == nil {
		err = err2
	}
	return err
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	_, err := s.store.Read(ctx, "Patient", "healthz-probe")
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrGone) {
		s.log.Error("health check failed", "err", err)
		http.Error(w, `{"status":"fail"}`, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"pass"}`))
}

// demoAdmin is who acts when a request names no role (demo mode, before
// authentication exists).
var demoAdmin = access.Principal{Subject: "demo", Role: "admin", Demo: true}

// withPrincipal attaches the acting principal. Until authentication
// exists, demo mode lets a client choose a role with the X-Xietong-Role and
// X-Xietong-Organization headers; without them the guard's default, the
// demo administrator, acts.
func (s *Server) withPrincipal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		role, org := r.Header.Get("X-Xietong-Role"), r.Header.Get("X-Xietong-Organization")
		if role == "" && org == "" {
			next.ServeHTTP(w, r)
			return
		}
		p := demoAdmin
		if role != "" {
			p.Role = role
		}
		p.Organization = org
		next.ServeHTTP(w, r.WithContext(access.WithPrincipal(r.Context(), p)))
	})
}

// redact hides a password in a database URL for logs.
func redact(dsn string) string {
	if u, err := parseURL(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			return u.Redacted()
		}
	}
	return dsn
}
