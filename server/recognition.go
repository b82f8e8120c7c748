package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/fhirapi"
	"github.com/xietong/xietong/healthcard"
	"github.com/xietong/xietong/recognition"
	"github.com/xietong/xietong/store"
)

// newRecognition builds the recognition engine on the store (migrating its
// own table): its Hook marks results and keeps its projection in every
// write transaction, its operations join the API.
func newRecognition(ctx context.Context, st store.Store, zone *time.Location, s *Server) (*recognition.Engine, error) {
	eng, err := recognition.New(ctx, st, recognition.Options{Zone: zone, Logger: s.log, AutoRemark: true})
	if err != nil {
		return nil, fmt.Errorf("recognition: %w", err)
	}
	if s.cards != nil {
		eng.ResolveCode = s.resolveCode
	}
	return eng, nil
}

func recognitionOperations(eng *recognition.Engine, ops map[string]fhirapi.OperationFunc) {
	for k, fn := range eng.Operations() {
		ops[k] = fn
	}
}

// apiWriter lets the engine write (catalogue imports, re-marking) through
// the node's own API, as the "system" principal: the resources are
// validated, pass the hooks, are indexed and audited like any write.
type apiWriter struct{ s *Server }

// Write posts resources as one transaction Bundle of PUTs.
func (w apiWriter) Write(ctx context.Context, resources []map[string]any) error {
	if len(resources) == 0 {
		return nil
	}
	entries := make([]any, 0, len(resources))
	for _, r := range resources {
		req := map[string]any{"method": "PUT", "url": fmt.Sprintf("%s/%s", r["resourceType"], r["id"])}
		// A resource read from the store (re-marking) is written only if
		// nobody changed it since: a concurrent update wins.
		if meta, _ := r["meta"].(map[string]any); meta != nil {
			if v, _ := meta["versionId"].(string); v != "" {
				req["ifMatch"] = `W/"` + v + `"`
			}
		}
		entries = append(entries, map[string]any{"resource": r, "request": req})
	}
	body, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	if err != nil {
		return err
	}
	sys := access.WithPrincipal(ctx, access.Principal{Subject: "recognition", Role: "system"})
	req := httptest.NewRequestWithContext(sys, http.MethodPost, "/fhir", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Prefer", "return=minimal")
	rec := httptest.NewRecorder()
	w.s.api.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("recognition write rejected with status %d: %.500s", rec.Code, rec.Body.String())
	}
	return nil
}

// Recognition is the node's recognition engine (for the console and tools).
func (s *Server) Recognition() *recognition.Engine { return s.recog }

// EnsureRecognitionCatalogue imports the shipped default catalogue
// (recognition.Default) when the store holds no programme yet. The command
// calls it at start, after deciding whether to load the demo (which wants
// an empty store).
func (s *Server) EnsureRecognitionCatalogue(ctx context.Context) error {
	return s.recog.EnsureDefault(ctx)
}

// ImportCatalogue writes a catalogue file's resources through the API.
func (s *Server) ImportCatalogue(ctx context.Context, c *recognition.Catalogue) (int, error) {
	return s.recog.Import(ctx, c)
}

// resolveCode resolves a one-code scanned at the orderer's doctor
// workstation (channel 0300, care step examination) to the master Patient.
// The card service records the use, as for any scan.
func (s *Server) resolveCode(ctx context.Context, code, orderer string) (string, error) {
	res, err := s.cards.Resolve(ctx, healthcard.ResolveRequest{Code: code, Institution: "Organization/" + orderer, Channel: "0300", CareStep: "examination"})
	if err != nil {
		return "", err
	}
	id, _ := res.Master["id"].(string)
	if id == "" {
		return "", fmt.Errorf("recognition: the card service resolved %q to no master", code)
	}
	return id, nil
}
