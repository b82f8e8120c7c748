package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/demo"
	"github.com/xietong/xietong/store"
)

// Empty reports whether the store holds no resource version at all.
func (s *Server) Empty(ctx context.Context) (bool, error) {
	page, err := s.store.History(ctx, store.HistoryQuery{Count: 1})
	if err != nil {
		return false, err
	}
	return len(page.Versions) == 0, nil
}

// LoadDemo generates the demo region and writes it through the node's own
// FHIR API, as the "system" principal, so every resource is validated,
// indexed and audited like any other write. Bundles go in order within
// each phase (directory before patients before results), with a few in
// flight at once.
func (s *Server) LoadDemo(ctx context.Context, cfg demo.Config) error {
	start := time.Now()
	sys := access.WithPrincipal(ctx, access.Principal{Subject: "demo-loader", Role: "system"})
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		firstErr  error
		sem       = make(chan struct{}, 3)
		resources int
		bundles   int
		lastPhase string
	)
	post := func(b map[string]any) {
		defer wg.Done()
		defer func() { <-sem }()
		body, err := json.Marshal(b)
		if err == nil {
			req := httptest.NewRequestWithContext(sys, http.MethodPost, "/fhir", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/fhir+json")
			req.Header.Set("Prefer", "return=minimal")
			rec := httptest.NewRecorder()
			s.api.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				err = fmt.Errorf("demo bundle rejected with status %d: %.500s", rec.Code, rec.Body.String())
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	err := demo.Generate(cfg, func(b map[string]any) error {
		mu.Lock()
		failed := firstErr
		mu.Unlock()
		if failed != nil {
			return failed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, _ := b["entry"].([]any)
		phase := phaseOf(entries)
		if phase != lastPhase {
			wg.Wait() // a phase refers to the one before: let it land first
			lastPhase = phase
		}
		resources += len(entries)
		bundles++
		if bundles%50 == 0 {
			s.log.Info("loading demo region", "bundles", bundles, "resources", resources, "elapsed", time.Since(start).Round(time.Second).String())
		}
		sem <- struct{}{}
		wg.Add(1)
		go post(b)
		return nil
	})
	wg.Wait()
	if err == nil {
		err = firstErr
	}
	if err != nil {
		return fmt.Errorf("load demo region: %w", err)
	}
	s.log.Info("demo region loaded", "bundles", bundles, "resources", resources, "elapsed", time.Since(start).Round(time.Second).String())
	return nil
}

// phaseOf names a Bundle's phase by the type of its first entry.
func phaseOf(entries []any) string {
	if len(entries) == 0 {
		return ""
	}
	e, _ := entries[0].(map[string]any)
	res, _ := e["resource"].(map[string]any)
	t, _ := res["resourceType"].(string)
	switch t {
	case "Organization", "Location", "HealthcareService", "OrganizationAffiliation":
		return "directory"
	case "Practitioner", "PractitionerRole", "Group":
		return "practitioners"
	case "Patient":
		return "patients"
	}
	return "results"
}
