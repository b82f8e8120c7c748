package healthcard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/store"
)

// Transactor applies a FHIR transaction Bundle through the node's write
// path (validation, indexing, authorisation, audit) and returns the
// response Bundle. An *outcome.Error reports a rejected Bundle; a
// version conflict on an entry with ifMatch wraps store.ErrConflict or
// has status 409/412.
type Transactor interface {
	Transaction(ctx context.Context, bundle map[string]any) (map[string]any, error)
}

// Config tunes a Service.
type Config struct {
	// DynamicTTL is how long a dynamic code is valid (default 60 s).
	DynamicTTL time.Duration
	// Zone is the time zone of the months in usage counts (default
	// Asia/Shanghai, or UTC if the zone database is missing).
	Zone *time.Location
	// FlushInterval bounds how long a use record waits in memory before it
	// is written, or synced to the journal when there is one (default
	// 200 ms): what a crash can lose. See Service.
	FlushInterval time.Duration
	// JournalDir is a folder for the use journal ("": none); see Service.
	JournalDir string
	// FirstVisits journals first visits (decision 031): with JournalDir
	// set, a resolve that creates an institution's record answers once
	// the record's intent is synced to a journal in JournalDir, and the
	// record is written to the store right behind the answer. Without it
	// (or without JournalDir) the record is written before the answer.
	FirstVisits bool
	// WriteInterval bounds how long a journaled use waits before it is
	// written as an AuditEvent (default 2 s; unused without a journal).
	WriteInterval time.Duration
	Logger        *slog.Logger
	Now           func() time.Time
}

// Service issues, revokes and resolves e-health cards over a store, and
// records and counts their uses.
//
// Reads go straight to the store; writes (cards, local links, use
// records) go through the Transactor, so they are validated, indexed and
// audited like any client's write. Use records are written in batches by
// one goroutine: a resolve does not wait for a disk write, at the price
// that a crash can lose the uses of the last FlushInterval. Without a
// journal they are written at most FlushInterval after the use (or when
// 500 wait); with one (Config.JournalDir), they are appended to it and
// synced every FlushInterval and written as AuditEvents every
// WriteInterval (or when 500 wait), in far fewer transactions; Recover
// writes those a crash left in it. Close writes what is pending.
type Service struct {
	st   store.Reader
	tx   Transactor
	keys *Keyring
	cfg  Config
	uses *recorder
	// visits is the first-visit journal (nil: records are written before
	// the answer).
	visits *visits

	instMu sync.Mutex
	insts  map[string]cachedInstitution

	// holders remembers, per card id, the one Patient a search found
	// holding it (see cardHolders).
	holderMu sync.Mutex
	holders  map[string]holderHint

	revMu      sync.Mutex
	revToken   string // the signed revocation list
	revExpires time.Time
}

// New builds a Service. Call Recover once tx serves, and Close when
// done. The error is the journal's (a folder that cannot be opened).
func New(st store.Reader, tx Transactor, keys *Keyring, cfg Config) (*Service, error) {
	if cfg.DynamicTTL <= 0 {
		cfg.DynamicTTL = 60 * time.Second
	}
	if cfg.Zone == nil {
		if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
			cfg.Zone = z
		} else {
			cfg.Zone = time.UTC
		}
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 200 * time.Millisecond
	}
	if cfg.WriteInterval <= 0 {
		cfg.WriteInterval = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{st: st, tx: tx, keys: keys, cfg: cfg, insts: map[string]cachedInstitution{}, holders: map[string]holderHint{}}
	uses, err := newRecorder(tx, st, cfg)
	if err != nil {
		return nil, err
	}
	s.uses = uses
	if cfg.FirstVisits && cfg.JournalDir != "" {
		v, err := openVisits(cfg.JournalDir, tx, st, cfg.Logger)
		switch {
		case errors.Is(err, errJournalBusy):
			cfg.Logger.Warn("first-visit journal held by another process; first visits write their record before answering", "dir", cfg.JournalDir)
		case err != nil:
			uses.close()
			return nil, fmt.Errorf("first-visit journal %s: %w", cfg.JournalDir, err)
		default:
			s.visits = v
		}
	}
	return s, nil
}

// Keys is the service's keyring.
func (s *Service) Keys() *Keyring { return s.keys }

// Flush writes the pending first visits' records and use records and
// waits for them.
func (s *Service) Flush() {
	if s.visits != nil {
		s.visits.flush()
	}
	s.uses.flush()
}

// Recover writes the first visits' records and the use records a crash
// left in the journal (those the store lacks) and waits for them; call it
// once the Transactor serves.
func (s *Service) Recover() {
	if s.visits != nil {
		s.visits.recover()
	}
	s.uses.recoverJournal()
}

// Close writes the pending first visits' records and use records and
// stops the writers.
func (s *Service) Close() {
	if s.visits != nil {
		s.visits.close()
	}
	s.uses.close()
}

// AwaitFirstVisits waits until the first visits answered before the call
// have their record in the store (at most max): a request that may read
// such a record calls it first, and sees the record the answer named
// (decision 031). It returns at once when none is pending.
func (s *Service) AwaitFirstVisits(ctx context.Context, max time.Duration) {
	if s.visits != nil {
		s.visits.await(ctx, max)
	}
}

// FirstVisitLags returns, and forgets, the time from each journaled first
// visit's answer to its record's commit in the store, since the last call
// (none without a first-visit journal).
func (s *Service) FirstVisitLags() []time.Duration {
	if s.visits == nil {
		return nil
	}
	return s.visits.takeLags()
}

// Card is an issued card with fresh codes.
type Card struct {
	CardID      string
	Patient     string // the master Patient's id
	Status      string // active or revoked
	Issued      time.Time
	Revoked     time.Time // zero while active
	Static      string    // the signed static code
	Dynamic     string    // a signed dynamic code
	DynamicText string    // its plain text
	ValidUntil  time.Time // of the dynamic code
	KeyID       string
}

// master returns the master Patient of the Patient id: the target of its
// refer link, else itself (no EMPI link yet: its own master).
func (s *Service) master(ctx context.Context, id string) (obj, error) {
	p, err := s.readPatient(ctx, id)
	if err != nil {
		return nil, err
	}
	if t := linkTargets(p, "refer"); len(t) > 0 {
		return s.readPatient(ctx, t[0])
	}
	return p, nil
}

func (s *Service) readPatient(ctx context.Context, id string) (obj, error) {
	v, err := s.st.Read(ctx, "Patient", id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, outcome.NotFound("Patient/%s does not exist.", id)
	case errors.Is(err, store.ErrGone):
		return nil, outcome.Gone("Patient/%s has been deleted.", id)
	case err != nil:
		return nil, err
	}
	return decode(v)
}

// activeCard is the index of the master's active card identifier, or -1.
func activeCard(p obj) int {
	for i, x := range list(p["identifier"]) {
		id := object(x)
		if str(id["system"]) == SystemCardID && ValidCardID(str(id["value"])) && str(object(id["period"])["end"]) == "" {
			return i
		}
	}
	return -1
}

// NewCardID is a random card id: 64 upper-case hexadecimal characters
// (256 random bits), the length provincial platforms use.
func NewCardID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// Issue gives the master Patient of patientID an e-health card, or
// returns its active one, with a static and a fresh dynamic code. The card
// is an identifier of the master Patient (system SystemCardID, period.start
// the issue time).
func (s *Service) Issue(ctx context.Context, patientID string) (*Card, error) {
	for attempt := 0; ; attempt++ {
		m, err := s.master(ctx, patientID)
		if err != nil {
			return nil, err
		}
		now := s.cfg.Now().UTC().Truncate(time.Second)
		if i := activeCard(m); i >= 0 {
			id := object(list(m["identifier"])[i])
			issued, _ := time.Parse(time.RFC3339, str(object(id["period"])["start"]))
			c := s.codes(str(id["value"]), str(m["id"]), issued)
			s.record(ctx, use{event: "issue", card: c.CardID, master: c.Patient})
			return c, nil
		}
		cardID := NewCardID()
		ids := append(list(m["identifier"]), obj{
			"use":    "official",
			"type":   obj{"text": "电子健康卡"},
			"system": SystemCardID,
			"value":  cardID,
			"period": obj{"start": now.Format(time.RFC3339)},
		})
		m["identifier"] = ids
		err = s.put(ctx, m)
		if isConflict(err) && attempt < 3 {
			continue // the master changed meanwhile: read it again
		}
		if err != nil {
			return nil, err
		}
		c := s.codes(cardID, str(m["id"]), now)
		s.record(ctx, use{event: "issue", card: cardID, master: c.Patient})
		return c, nil
	}
}

// Codes signs fresh codes for an active card of the master of patientID
// without recording a use (for showing a QR code again).
func (s *Service) Codes(ctx context.Context, patientID string) (*Card, error) {
	m, err := s.master(ctx, patientID)
	if err != nil {
		return nil, err
	}
	i := activeCard(m)
	if i < 0 {
		return nil, outcome.NotFound("Patient/%s has no active e-health card; issue one with $issue-health-card.", str(m["id"]))
	}
	id := object(list(m["identifier"])[i])
	issued, _ := time.Parse(time.RFC3339, str(object(id["period"])["start"]))
	return s.codes(str(id["value"]), str(m["id"]), issued), nil
}

func (s *Service) codes(cardID, master string, issued time.Time) *Card {
	until := s.cfg.Now().Add(s.cfg.DynamicTTL).Truncate(time.Second)
	dyn := PlainText(cardID, TypeDynamic, until)
	return &Card{
		CardID: cardID, Patient: master, Status: "active", Issued: issued,
		Static:      s.keys.sign(PlainText(cardID, TypeStatic, time.Time{})),
		Dynamic:     s.keys.sign(dyn),
		DynamicText: dyn, ValidUntil: until, KeyID: s.keys.ActiveKeyID(),
	}
}

// Revoke ends the master's active card: its identifier gets period.end
// and use "old", and from then on its codes are refused when resolved.
func (s *Service) Revoke(ctx context.Context, patientID, reason string) (*Card, error) {
	for attempt := 0; ; attempt++ {
		m, err := s.master(ctx, patientID)
		if err != nil {
			return nil, err
		}
		i := activeCard(m)
		if i < 0 {
			return nil, outcome.NotFound("Patient/%s has no active e-health card to revoke.", str(m["id"]))
		}
		now := s.cfg.Now().UTC().Truncate(time.Second)
		id := object(list(m["identifier"])[i])
		period := object(id["period"])
		if period == nil {
			period = obj{}
		}
		period["end"] = now.Format(time.RFC3339)
		id["period"] = period
		id["use"] = "old"
		// The revoke record is written with the revocation, not queued
		// like other uses: the revocation list is built from these
		// records and must miss none.
		ev := s.stamp(ctx, use{event: "revoke", card: str(id["value"]), master: str(m["id"]), reason: reason}, now)
		err = s.put(ctx, m, obj{"fullUrl": "urn:uuid:" + uuid(), "resource": ev, "request": obj{"method": "POST", "url": "AuditEvent"}})
		if isConflict(err) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.forgetRevocations()
		issued, _ := time.Parse(time.RFC3339, str(period["start"]))
		return &Card{CardID: str(id["value"]), Patient: str(m["id"]), Status: "revoked", Issued: issued, Revoked: now}, nil
	}
}

// put writes one resource with PUT and If-Match on its current version,
// and the further entries given, in one transaction.
func (s *Service) put(ctx context.Context, res obj, more ...obj) error {
	typ, id := str(res["resourceType"]), str(res["id"])
	entries := []any{obj{
		"resource": res,
		"request":  obj{"method": "PUT", "url": typ + "/" + id, "ifMatch": fmt.Sprintf(`W/"%d"`, versionOf(res))},
	}}
	for _, e := range more {
		entries = append(entries, e)
	}
	_, err := s.tx.Transaction(ctx, obj{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	return err
}

func isConflict(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, store.ErrConflict) {
		return true
	}
	if oe := outcome.As(err); oe != nil {
		return oe.Status == http.StatusConflict || oe.Status == http.StatusPreconditionFailed
	}
	return false
}

// ResolveRequest is what an institution submits.
type ResolveRequest struct {
	Code string // the scanned token
	// Institution is "Organization/<id>" or an institution code.
	Institution string
	Channel     string // optional: a key of Channels
	CareStep    string // optional: a key of CareSteps
}

// Resolution is the answer to a resolve.
type Resolution struct {
	Code        Code
	Master      obj    // the master Patient
	Local       string // the id of the institution's own Patient record
	MRN         string // its medical record number there
	MRNSystem   string
	Created     bool // the local record was created by this call
	Institution obj  // the Organization
	City        string
}

// Resolve verifies a scanned code and answers the master Patient and the
// institution's own record number, creating the institution's record
// (a Patient with its MRN and link refer → master, and the master's link
// seealso → it) when the patient is new there. The errors are
// *outcome.Error values a client can act on (see doc.go).
func (s *Service) Resolve(ctx context.Context, req ResolveRequest) (*Resolution, error) {
	if strings.TrimSpace(req.Code) == "" {
		return nil, outcome.New(http.StatusBadRequest, "required", "The parameter code (the scanned health-card code) is required.")
	}
	if strings.TrimSpace(req.Institution) == "" {
		return nil, outcome.New(http.StatusBadRequest, "required", "The parameter institution (an Organization reference or an institution code) is required.")
	}
	if req.Channel != "" && Channels[req.Channel] == "" {
		return nil, outcome.New(http.StatusBadRequest, "code-invalid", "Unknown channel %q: use 0100 (counter), 0200 (self-service kiosk), 0300 (doctor workstation), 0401 (official-account app) or 0402 (mini-program).", req.Channel)
	}
	if req.CareStep != "" && CareSteps[req.CareStep] == "" {
		keys := make([]string, 0, len(CareSteps))
		for k := range CareSteps {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return nil, outcome.New(http.StatusBadRequest, "code-invalid", "Unknown care step %q: use one of %s.", req.CareStep, strings.Join(keys, ", "))
	}
	code, err := Verify(req.Code, s.keys.PublicKeys(), s.cfg.Now())
	if err != nil {
		return nil, codeError(err)
	}
	org, instCode, err := s.institution(ctx, req.Institution)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		res, err := s.resolveOnce(ctx, code, org, instCode)
		if isConflict(err) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		res.City = CityCode(divisionOf(org))
		s.record(ctx, use{event: "resolve", card: code.CardID, codeType: code.Type, master: str(res.Master["id"]), local: res.Local,
			org: org, instCode: instCode, city: res.City, channel: req.Channel, careStep: req.CareStep})
		return res, nil
	}
}

func codeError(err error) error {
	switch {
	case errors.Is(err, ErrExpired):
		return outcome.Wrap(err, http.StatusBadRequest, "expired", "The health-card code has expired: %v.", err)
	case errors.Is(err, ErrBadSignature), errors.Is(err, ErrUnknownKey):
		return outcome.Wrap(err, http.StatusBadRequest, "security", "The health-card code is not genuine: %v.", err)
	}
	return outcome.Wrap(err, http.StatusBadRequest, "structure", "The health-card code cannot be read: %v.", err)
}

// institutionTTL is how long a looked-up institution is reused: a
// directory change (a new code, an institution made inactive) reaches
// resolving within this time.
const institutionTTL = 30 * time.Second

type cachedInstitution struct {
	org     obj
	code    string
	expires time.Time
}

// institution finds the Organization an institution parameter names,
// through a small cache (institutions are few and change rarely; a
// resolve should not search for its institution every time).
func (s *Service) institution(ctx context.Context, ref string) (obj, string, error) {
	ref = strings.TrimSpace(ref)
	now := s.cfg.Now()
	s.instMu.Lock()
	c, ok := s.insts[ref]
	s.instMu.Unlock()
	if ok && now.Before(c.expires) {
		return c.org, c.code, nil
	}
	org, code, err := s.lookupInstitution(ctx, ref)
	if err != nil {
		return nil, "", err
	}
	s.instMu.Lock()
	if len(s.insts) > 10000 {
		clear(s.insts)
	}
	s.insts[ref] = cachedInstitution{org: org, code: code, expires: now.Add(institutionTTL)}
	s.instMu.Unlock()
	return org, code, nil
}

func (s *Service) lookupInstitution(ctx context.Context, ref string) (obj, string, error) {
	var org obj
	if id, ok := strings.CutPrefix(ref, "Organization/"); ok {
		v, err := s.st.Read(ctx, "Organization", id)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrGone) {
			return nil, "", outcome.New(http.StatusUnprocessableEntity, "not-found", "The institution %s is not in the directory.", ref)
		}
		if err != nil {
			return nil, "", err
		}
		if org, err = decode(v); err != nil {
			return nil, "", err
		}
	} else {
		if strings.Contains(ref, "/") {
			return nil, "", outcome.BadRequest("The institution %q is neither Organization/<id> nor an institution code.", ref)
		}
		orgs, err := search(ctx, s.st, "Organization", 2, tokenPred("identifier", SystemInstitutionCode, ref))
		if err != nil {
			return nil, "", err
		}
		switch len(orgs) {
		case 0:
			return nil, "", outcome.New(http.StatusUnprocessableEntity, "not-found", "No institution with the institution code %q is in the directory.", ref)
		case 2:
			return nil, "", outcome.New(http.StatusUnprocessableEntity, "multiple-matches", "Several Organizations carry the institution code %q; name one as Organization/<id>.", ref)
		}
		org = orgs[0]
	}
	code := identifierValue(org, SystemInstitutionCode)
	if code == "" {
		return nil, "", outcome.New(http.StatusUnprocessableEntity, "business-rule", "Organization/%s has no institution code (identifier system %s), so it has no medical record numbers to link.", str(org["id"]), SystemInstitutionCode)
	}
	if org["active"] == false {
		return nil, "", outcome.New(http.StatusUnprocessableEntity, "business-rule", "Organization/%s is not active.", str(org["id"]))
	}
	return org, code, nil
}

// holderHintTTL bounds how long a card's holder is read by id before the
// card is searched for again.
const holderHintTTL = 10 * time.Minute

// holderHint is the Patient a card search found as the card's only holder.
type holderHint struct {
	id      string
	expires time.Time
}

// cardHolders returns the Patients that hold the card: read by id when
// an earlier search found exactly one holder and that Patient, read now,
// still carries the card's identifier; else searched for (and remembered
// when there is one). Nothing is cached but the holder's id: its body,
// with the card's period, is read from the store on every resolve, and
// resolveOnce checks the master it leads to as well, where
// $revoke-health-card writes a revocation (decision 020).
func (s *Service) cardHolders(ctx context.Context, cardID string) ([]obj, error) {
	now := s.cfg.Now()
	s.holderMu.Lock()
	h, ok := s.holders[cardID]
	s.holderMu.Unlock()
	if ok && now.Before(h.expires) {
		v, err := s.st.Read(ctx, "Patient", h.id)
		switch {
		case err == nil:
			p, err := decode(v)
			if err != nil {
				return nil, err
			}
			if cardIndex(p, cardID) >= 0 {
				return []obj{p}, nil
			}
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
		default:
			return nil, err
		}
	}
	holders, err := search(ctx, s.st, "Patient", 10, tokenPred("identifier", SystemCardID, cardID))
	if err != nil {
		return nil, err
	}
	s.holderMu.Lock()
	if len(holders) == 1 {
		if len(s.holders) >= maxHolderHints {
			clear(s.holders)
		}
		s.holders[cardID] = holderHint{id: str(holders[0]["id"]), expires: now.Add(holderHintTTL)}
	} else {
		delete(s.holders, cardID)
	}
	s.holderMu.Unlock()
	return holders, nil
}

// maxHolderHints bounds the hints' memory (about 150 bytes each).
const maxHolderHints = 1 << 20

// cardIndex is the index of the identifier of card cardID in p, or -1.
func cardIndex(p obj, cardID string) int {
	for i, x := range list(p["identifier"]) {
		if id := object(x); str(id["system"]) == SystemCardID && str(id["value"]) == cardID {
			return i
		}
	}
	return -1
}

// revokedError is the answer for a code of a card that p holds with its
// period ended, or nil.
func revokedError(p obj, cardID string) error {
	for _, x := range list(p["identifier"]) {
		id := object(x)
		if str(id["system"]) == SystemCardID && str(id["value"]) == cardID && str(object(id["period"])["end"]) != "" {
			return outcome.New(http.StatusGone, "business-rule", "The e-health card %s… was revoked on %s; its codes are refused. Ask the resident for the new card.", cardID[:8], str(object(id["period"])["end"]))
		}
	}
	return nil
}

func (s *Service) resolveOnce(ctx context.Context, code Code, org obj, instCode string) (*Resolution, error) {
	holders, err := s.cardHolders(ctx, code.CardID)
	if err != nil {
		return nil, err
	}
	if len(holders) == 0 {
		return nil, outcome.New(http.StatusNotFound, "not-found", "No patient holds the e-health card %s…: it was never issued here or its patient was deleted.", code.CardID[:8])
	}
	for _, h := range holders {
		if err := revokedError(h, code.CardID); err != nil {
			return nil, err
		}
	}
	// The card's holder: a master, else a record with no master link, else
	// the master a source record points to.
	var master obj
	for _, h := range holders {
		if isMaster(h) {
			master = h
			break
		}
	}
	if master == nil {
		h := holders[0]
		for _, x := range holders {
			if len(linkTargets(x, "refer")) == 0 {
				h = x
				break
			}
		}
		if t := linkTargets(h, "refer"); len(t) > 0 {
			if master, err = s.readPatient(ctx, t[0]); err != nil {
				return nil, err
			}
			// $revoke-health-card ends the card on the master.
			if err := revokedError(master, code.CardID); err != nil {
				return nil, err
			}
		} else {
			master = h
		}
	}
	res := &Resolution{Code: code, Master: master, Institution: org, MRNSystem: SystemMRNPrefix + instCode}
	// The master itself may carry the institution's number (a record
	// that is its own master).
	if mrn := identifierValue(master, res.MRNSystem); mrn != "" {
		res.Local, res.MRN = str(master["id"]), mrn
		return res, nil
	}
	mid := str(master["id"])
	// The master's seealso links name its sources (decision 004): read
	// them by id, the one this package would have created first, rather
	// than search.
	localID, _ := localIdentity(mid, instCode)
	targets := linkTargets(master, "seealso")
	if i := slices.Index(targets, localID); i > 0 {
		targets[0], targets[i] = targets[i], targets[0]
	}
	for _, id := range targets {
		// The card's holder, read a moment ago in this call, is usually
		// one of them (the record the card was registered on): not read
		// again (decision 029).
		var p obj
		for _, h := range holders {
			if str(h["id"]) == id {
				p = h
				break
			}
		}
		if p == nil {
			v, err := s.st.Read(ctx, "Patient", id)
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrGone) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if p, err = decode(v); err != nil {
				return nil, err
			}
		}
		if mrn := identifierValue(p, res.MRNSystem); mrn != "" && slices.Contains(linkTargets(p, "refer"), mid) {
			res.Local, res.MRN = id, mrn
			return res, nil
		}
	}
	// A source that links to the master without the master linking back
	// (only possible for a record that is not a tagged master: the EMPI
	// keeps both directions for those).
	if isMaster(master) {
		if err := s.createLocal(ctx, res, org, instCode); err != nil {
			return nil, err
		}
		return res, nil
	}
	locals, err := search(ctx, s.st, "Patient", 1, refPred("link", "Patient", mid), tokenPred("identifier", res.MRNSystem, ""))
	if err != nil {
		return nil, err
	}
	if len(locals) > 0 {
		res.Local, res.MRN = str(locals[0]["id"]), identifierValue(locals[0], res.MRNSystem)
		return res, nil
	}
	if err := s.createLocal(ctx, res, org, instCode); err != nil {
		return nil, err
	}
	return res, nil
}

// createLocal writes the institution's record of a patient new to it and
// the master's seealso link in one transaction. Its id and MRN derive
// from the master and the institution, so two concurrent first visits
// write the same record (and the If-Match on the master lets one win).
// With a first-visit journal (decision 031) the record is journaled,
// synced, and written right behind the answer instead (firstVisit).
func (s *Service) createLocal(ctx context.Context, res *Resolution, org obj, instCode string) error {
	m := res.Master
	mid := str(m["id"])
	localID, mrn := localIdentity(mid, instCode)
	if s.visits != nil {
		done, err := s.firstVisit(ctx, res, org, instCode, localID, mrn)
		if done || err != nil {
			return err
		}
		// The journal failed: the synchronous write, as without one.
	}
	entries := localEntries(m, localID, mrn, res.MRNSystem, str(org["id"]), str(org["name"]))
	b := obj{"resourceType": "Bundle", "type": "transaction", "entry": entries}
	if _, err := s.tx.Transaction(ctx, b); err != nil {
		return err
	}
	res.Local, res.MRN, res.Created = localID, mrn, true
	return nil
}

// firstVisit journals the institution's new record and answers once the
// intent is durable; a resolve of the same pair while an intent is
// pending answers from it (not created by this call). done false: the
// journal is not usable, write synchronously.
func (s *Service) firstVisit(ctx context.Context, res *Resolution, org obj, instCode, localID, mrn string) (done bool, err error) {
	if res.Master["active"] == false {
		// Retired (or set inactive) already when the resolve read it: the
		// applier would take it for a master deleted meanwhile and drop
		// the intent after its answer. Written before the answer, as
		// without a journal.
		return false, nil
	}
	if _, err := s.st.Read(ctx, "Patient", localID); errors.Is(err, store.ErrGone) {
		// The pair's record was deleted before this visit (same id: see
		// localIdentity): the applier skips a deleted record (a replayed
		// intent must not bring back what an operator removed), so this
		// one is written before the answer; the PUT re-creates it.
		return false, nil
	}
	p, _ := access.PrincipalFrom(ctx)
	in := &intent{ID: uuid(), Master: str(res.Master["id"]), MasterVersion: versionOf(res.Master), Org: str(org["id"]), OrgName: str(org["name"]),
		InstCode: instCode, MRNSystem: res.MRNSystem, Local: localID, MRN: mrn, Principal: p, At: s.cfg.Now().UTC()}
	got, fresh, err := s.visits.journal(in)
	if errors.Is(err, errBacklog) {
		return false, nil
	}
	if err != nil {
		s.cfg.Logger.Error("first-visit journal failed; the record is written before the answer", "err", err)
		return false, nil
	}
	res.Local, res.MRN, res.Created = got.Local, got.MRN, fresh
	return true, nil
}

// localEntries are the transaction entries of a first visit: the
// institution's record, and where no EMPI keeps the masters, the master
// (tagged, with its seealso link) under If-Match on its version. m is
// changed in that case.
func localEntries(m obj, localID, mrn, mrnSystem, orgID, orgName string) []any {
	mid := str(m["id"])
	orgRef := obj{"reference": "Organization/" + orgID}
	if orgName != "" {
		orgRef["display"] = orgName
	}
	local := obj{
		"resourceType": "Patient",
		"id":           localID,
		"identifier": []any{obj{
			"use":      "usual",
			"type":     obj{"coding": []any{obj{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}}, "text": "病案号"},
			"system":   mrnSystem,
			"value":    mrn,
			"assigner": orgRef,
		}},
		"active":               true,
		"managingOrganization": orgRef,
		"link":                 []any{obj{"other": obj{"reference": "Patient/" + mid}, "type": "refer"}},
	}
	for _, k := range []string{"name", "gender", "birthDate", "telecom", "address"} {
		if v, ok := m[k]; ok {
			local[k] = v
		}
	}
	entries := []any{obj{"resource": local, "request": obj{"method": "PUT", "url": "Patient/" + localID}}}
	if !isMaster(m) {
		// No EMPI keeps this node's masters: the patient becomes one here,
		// with its seealso link. Where the EMPI runs, a master is tagged
		// already and the EMPI adds the link from the record's refer link
		// in the same transaction (decision 010).
		if !slices.Contains(linkTargets(m, "seealso"), localID) {
			m["link"] = append(list(m["link"]), obj{"other": obj{"reference": "Patient/" + localID}, "type": "seealso"})
		}
		meta := object(m["meta"])
		if meta == nil {
			meta = obj{}
			m["meta"] = meta
		}
		meta["tag"] = append(list(meta["tag"]), obj{"system": SystemPatientRole, "code": "master", "display": "master patient"})
		entries = append(entries, obj{"resource": m, "request": obj{"method": "PUT", "url": "Patient/" + mid, "ifMatch": fmt.Sprintf(`W/"%d"`, versionOf(m))}})
	}
	return entries
}

// localIdentity is the id and MRN of the record this package creates for
// a master at an institution: from the SHA-256 of both, so the same pair
// always gets the same record.
func localIdentity(master, instCode string) (id, mrn string) {
	sum := sha256.Sum256([]byte(master + "|" + instCode))
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	return "ehc-" + strings.ToLower(h[:40]), "HC" + h[:16]
}

// principalRef is the acting principal, for use records.
func principalRef(ctx context.Context) (string, string) {
	p, ok := access.PrincipalFrom(ctx)
	if !ok {
		return "", ""
	}
	return p.Subject, p.Organization
}
