package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/directory"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhirapi"
	"github.com/xietong/xietong/healthcard"
)

// HealthCardKeysPath is where the health-card keys of a node live when
// Config.HealthCardKeyFile is empty: next to a SQLite database file, else
// (PostgreSQL, in-memory SQLite) in the user's configuration folder. Every
// node of one region must share the file (configure the same path).
func HealthCardKeysPath(db string) string {
	if sqliteFile(db) {
		return db + ".health-card-keys.json"
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "."
	}
	return filepath.Join(dir, "xietong", "health-card-keys.json")
}

// healthCardJournalDir is the folder of the e-health card use journal
// (decision 024): next to a SQLite database file; none for PostgreSQL or
// an in-memory database, whose use records are written every 200 ms as
// before (a node-local folder shared by several databases would replay
// one's records into another).
func healthCardJournalDir(db string) string {
	if !sqliteFile(db) {
		return ""
	}
	return db + ".health-card-uses"
}

// sqliteFile tells whether the DSN db is a SQLite database file (not a
// postgres:// URL, an in-memory database or a file: URI), next to which
// the node keeps its card keys and use journal.
func sqliteFile(db string) bool {
	return db != "" && !strings.Contains(db, "://") && !strings.Contains(db, ":memory:") && !strings.HasPrefix(db, "file:")
}

// startEngines builds the e-health card service (loading or creating its
// keys) and publishes its keys. Its writes go through s.api (set later in
// New), so they are validated, indexed and audited like any client's.
func (s *Server) startEngines() error {
	path := s.cfg.HealthCardKeyFile
	if path == "" {
		path = HealthCardKeysPath(s.cfg.DB)
	}
	keys, err := healthcard.LoadKeyring(path)
	if err != nil {
		return err
	}
	zone, err := LoadZone(s.cfg.TimeZone)
	if err != nil {
		return err
	}
	s.cards, err = healthcard.New(s.store, apiTransactor{s}, keys, healthcard.Config{
		DynamicTTL: s.cfg.HealthCardTTL, Zone: zone, Logger: s.log, JournalDir: healthCardJournalDir(s.cfg.DB),
		FirstVisits: true, // decision 031: a first visit answers from its synced intent (SQLite files only: no JournalDir elsewhere)
	})
	if err != nil {
		return err
	}
	s.mux.Handle("GET /.well-known/health-card-keys", s.cards.KeysHandler())
	s.mux.Handle("GET /.well-known/health-card-revocations", s.cards.RevocationsHandler())
	return nil
}

// withEngineOperations adds the operations of the e-health card service
// and the directory finder to ops (for fhirapi.Deps.Operations).
func (s *Server) withEngineOperations(ops map[string]fhirapi.OperationFunc) map[string]fhirapi.OperationFunc {
	finder := directory.NewFinder(s.store)
	finder.Base = s.cfg.PublicURL
	for k, fn := range map[string]fhirapi.OperationFunc{
		"Patient/{id}/$issue-health-card":  s.cards.IssueOperation,
		"Patient/{id}/$revoke-health-card": s.cards.RevokeOperation,
		"Patient/{id}/$health-card-qr":     s.cards.QROperation,
		"Patient/$resolve-health-card":     s.cards.ResolveOperation,
		"AuditEvent/$health-card-usage":    s.cards.UsageOperation,
		"HealthcareService/$find":          finder.Operation,
	} {
		ops[k] = fn
	}
	return ops
}

// firstVisitReads has every request to the API wait until the first
// visits answered before it are in the store (at most a second), so no
// read, search or conditional write decides on a store that lacks a
// record a resolve already answered (decision 031). The one exception is
// $resolve-health-card itself, which answers from the pending first
// visits. Nothing waits while no first visit is pending (one atomic
// load); the engines' own writes (the applier among them) call the API
// directly, below this wrapper, so they never wait on themselves.
func (s *Server) firstVisitReads(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/$resolve-health-card") {
			s.cards.AwaitFirstVisits(r.Context(), time.Second)
		}
		next.ServeHTTP(w, r)
	})
}

// HealthCards is the node's e-health card service (tools and tests).
func (s *Server) HealthCards() *healthcard.Service { return s.cards }

// apiTransactor applies engine Bundles through the node's own FHIR API as
// the system principal.
type apiTransactor struct{ s *Server }

func (t apiTransactor) Transaction(ctx context.Context, bundle map[string]any) (map[string]any, error) {
	return t.s.Transaction(ctx, bundle)
}

// Transaction posts a transaction or batch Bundle to the node's FHIR API
// as the system principal (so it is validated, indexed, authorised and
// audited) and returns the response Bundle; a rejected Bundle is the API's
// *outcome.Error.
func (s *Server) Transaction(ctx context.Context, bundle map[string]any) (map[string]any, error) {
	body, err := json.Marshal(bundle)
	if err != nil {
		return nil, err
	}
	sys := access.WithPrincipal(ctx, access.Principal{Subject: "engine", Role: "system"})
	req := httptest.NewRequestWithContext(sys, http.MethodPost, "/fhir", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Prefer", "return=minimal")
	rec := httptest.NewRecorder()
	s.api.ServeHTTP(rec, req)
	var res map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("transaction answered %d with a body that is not JSON", rec.Code)
	}
	if rec.Code == http.StatusOK {
		return res, nil
	}
	oe := &outcome.Error{Status: rec.Code}
	issues, _ := res["issue"].([]any)
	for _, x := range issues {
		is, _ := x.(map[string]any)
		sev, _ := is["severity"].(string)
		code, _ := is["code"].(string)
		diag, _ := is["diagnostics"].(string)
		oe.Issues = append(oe.Issues, outcome.Issue{Severity: sev, Code: code, Diagnostics: diag})
	}
	if len(oe.Issues) == 0 {
		oe.Issues = []outcome.Issue{{Severity: "error", Code: "exception", Diagnostics: fmt.Sprintf("transaction failed with status %d", rec.Code)}}
	}
	return nil, oe
}
