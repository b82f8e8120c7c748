package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/demo"
	"github.com/xietong/xietong/empi"
	"github.com/xietong/xietong/healthcard"
	"github.com/xietong/xietong/recognition"
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
	seed := cfg.Seed
	if seed == 0 {
		seed = demo.Default().Seed
	}
	cards := map[string]string{} // source Patient id → card id
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
		if phase == "patients" {
			collectCards(entries, seed, cards)
		}
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
	issued, err := s.issueDemoCards(sys, cards)
	if err != nil {
		return fmt.Errorf("load demo region: e-health cards: %w", err)
	}
	s.log.Info("demo e-health cards on the masters", "cards", issued, "elapsed", time.Since(start).Round(time.Second).String())
	decided, err := s.RecordDemoDecisions(ctx, cfg)
	if err != nil {
		return fmt.Errorf("load demo region: recognition decisions: %w", err)
	}
	s.log.Info("demo recognition decisions recorded", "decisions", decided, "elapsed", time.Since(start).Round(time.Second).String())
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

// demoCardIssued is when the demo's cards were issued: before the first
// card use of the demo (2026-08-01).
const demoCardIssued = "2026-07-01T09:00:00+08:00"

// collectCards notes the card id of each resident among a patients
// Bundle's entries (near-duplicate records without an ID number have
// none: the person is known only once a reviewer links them).
func collectCards(entries []any, seed uint64, cards map[string]string) {
	for _, e := range entries {
		res, _ := e.(map[string]any)["resource"].(map[string]any)
		id, _ := res["id"].(string)
		ids, _ := res["identifier"].([]any)
		for _, x := range ids {
			i, _ := x.(map[string]any)
			if i["system"] == empi.SystemResidentID {
				if v, _ := i["value"].(string); v != "" {
					cards[id] = demo.CardID(seed, v)
				}
			}
		}
	}
}

// issueDemoCards gives every master Patient whose sources include a
// resident the resident's card, as an identifier of the master with the
// issue time, the way the card service's $issue-health-card keeps it
// (healthcard.Service.Issue); through the API as the system principal,
// 250 masters per transaction, each PUT with If-Match on the version
// read. It answers how many cards it wrote.
func (s *Server) issueDemoCards(ctx context.Context, cards map[string]string) (int, error) {
	var masters []map[string]any
	next := "/fhir/Patient?" + url.Values{"_tag": {healthcard.SystemPatientRole + "|master"}, "_count": {"500"}}.Encode()
	for next != "" {
		page, err := s.demoCall(ctx, http.MethodGet, next, nil)
		if err != nil {
			return 0, err
		}
		next = ""
		for _, l := range asList(page["link"]) {
			lo, _ := l.(map[string]any)
			if lo["relation"] == "next" {
				u, err := url.Parse(fmt.Sprint(lo["url"]))
				if err != nil {
					return 0, err
				}
				next = u.RequestURI()
			}
		}
		for _, e := range asList(page["entry"]) {
			if r, _ := e.(map[string]any)["resource"].(map[string]any); r != nil {
				masters = append(masters, r)
			}
		}
	}
	b := &demoBatch{s: s, size: 250}
	issued := 0
	for _, m := range masters {
		card := ""
		hasCard := false
		for _, x := range asList(m["identifier"]) {
			if i, _ := x.(map[string]any); i["system"] == healthcard.SystemCardID {
				hasCard = true
			}
		}
		var sources []string
		for _, l := range asList(m["link"]) {
			lo, _ := l.(map[string]any)
			if lo["type"] != "seealso" {
				continue
			}
			ref, _ := lo["other"].(map[string]any)["reference"].(string)
			sources = append(sources, strings.TrimPrefix(ref, "Patient/"))
		}
		slices.Sort(sources)
		for _, src := range sources {
			if c := cards[src]; c != "" {
				card = c
				break
			}
		}
		if card == "" || hasCard {
			continue
		}
		m["identifier"] = append(asList(m["identifier"]), map[string]any{
			"use":    "official",
			"type":   map[string]any{"text": "电子健康卡"},
			"system": healthcard.SystemCardID,
			"value":  card,
			"period": map[string]any{"start": demoCardIssued},
		})
		id, _ := m["id"].(string)
		req := map[string]any{"method": "PUT", "url": "Patient/" + id}
		if meta, _ := m["meta"].(map[string]any); meta != nil && meta["versionId"] != nil {
			req["ifMatch"] = fmt.Sprintf("W/%q", fmt.Sprint(meta["versionId"]))
		}
		issued++
		if err := b.add(ctx, map[string]any{"resource": m, "request": req}); err != nil {
			return issued, err
		}
	}
	return issued, b.flush(ctx)
}

// demoBatch writes entries as transactions of size entries.
type demoBatch struct {
	s       *Server
	size    int
	entries []any
}

func (b *demoBatch) add(ctx context.Context, entry any) error {
	b.entries = append(b.entries, entry)
	if len(b.entries) < b.size {
		return nil
	}
	return b.flush(ctx)
}

func (b *demoBatch) flush(ctx context.Context) error {
	if len(b.entries) == 0 {
		return nil
	}
	_, err := b.s.demoCall(ctx, http.MethodPost, "/fhir", map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": b.entries})
	b.entries = nil
	return err
}

// demoCall sends one request to the API in process as the loader.
func (s *Server) demoCall(ctx context.Context, method, target string, body any) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequestWithContext(ctx, method, target, rd)
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	rec := httptest.NewRecorder()
	s.api.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK && rec.Code != http.StatusCreated {
		return nil, fmt.Errorf("%s %s: status %d: %.500s", method, target, rec.Code, rec.Body.String())
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	return out, nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

// demoDecisionMonths is how far back the demo's recognition decisions go.
const demoDecisionMonths = 6

// RecordDemoDecisions records the clinicians' recognition decisions of
// the demo region of cfg (demo.Repeats) for the repeated tests of the last
// demoDecisionMonths months: at each, the recognition engine's check
// (Patient/$recognition-check, at the repeat's institution and moment)
// says whether a prior result is recognisable; when it is, the decision
// is recorded as the engine's Task (accepted, naming the prior result, or
// a re-test with its reason), PUT with its stable id, 200 per
// transaction, as the system principal. Where nothing is recognisable
// there was nothing to decide. It answers how many it recorded; run again
// it writes the same Tasks.
func (s *Server) RecordDemoDecisions(ctx context.Context, cfg demo.Config) (int, error) {
	ctx = access.WithPrincipal(ctx, access.Principal{Subject: "demo-loader", Role: "system"})
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).AddDate(0, -demoDecisionMonths, 0)
	var repeats []demo.Repeat
	demo.Repeats(cfg, func(r demo.Repeat) {
		if !r.At.Before(since) {
			repeats = append(repeats, r)
		}
	})
	b := &demoBatch{s: s, size: 200}
	recorded := 0
	for _, rp := range repeats {
		if err := ctx.Err(); err != nil {
			return recorded, err
		}
		q := url.Values{"orderer": {"Organization/" + rp.Orderer}, "item": {rp.Item}, "date": {rp.At.Format(time.RFC3339)}}
		res, err := s.demoCall(ctx, http.MethodGet, "/fhir/Patient/"+rp.Patient+"/$recognition-check?"+q.Encode(), nil)
		if err != nil {
			return recorded, err
		}
		recognisable, prior, programme := false, "", ""
		for _, p := range asList(res["parameter"]) {
			for _, part := range asList(p.(map[string]any)["part"]) {
				po, _ := part.(map[string]any)
				switch po["name"] {
				case "recognisable":
					recognisable = po["valueBoolean"] == true
				case "prior":
					if prior != "" {
						continue
					}
					for _, x := range asList(po["part"]) {
						xo, _ := x.(map[string]any)
						switch xo["name"] {
						case "reference":
							prior, _ = xo["valueReference"].(map[string]any)["reference"].(string)
						case "programme":
							programme, _ = xo["valueCoding"].(map[string]any)["code"].(string)
						}
					}
				}
			}
		}
		if !recognisable || prior == "" {
			continue
		}
		task := recognition.Decision{
			ID: rp.ID, Patient: rp.Patient, Orderer: rp.Orderer, Item: rp.Item, Programme: programme,
			Date: rp.At, Accepted: rp.Accept, Prior: prior, Eligible: []string{prior},
			Reason: rp.Reason, Note: rp.Note,
		}.Resource()
		recorded++
		if err := b.add(ctx, map[string]any{"resource": task, "request": map[string]any{"method": "PUT", "url": "Task/" + rp.ID}}); err != nil {
			return recorded, err
		}
	}
	return recorded, b.flush(ctx)
}
