package empi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/identity/match"
	"github.com/xietong/xietong/store"
)

// Codes and extensions of the master patient index (see doc.go).
const (
	SystemPatientRole  = "https://xietong.dev/fhir/CodeSystem/patient-role"
	RoleMaster         = "master"
	SystemTaskKind     = "https://xietong.dev/fhir/CodeSystem/task-kind"
	TaskIdentityReview = "identity-review"
	// ExtLinkBasis, on a master's seealso link, says why the source is
	// linked: id-number, probabilistic, new, asserted or manual.
	ExtLinkBasis = "https://xietong.dev/fhir/StructureDefinition/empi-link-basis"
	// ExtNotLinked, on a master, names a source Patient that a person
	// decided is not this person (an unlink or a rejected review): matching
	// never links it here again.
	ExtNotLinked = "https://xietong.dev/fhir/StructureDefinition/empi-not-linked"
	// ExtMatchScore, on a review Task's candidate input, is the log2
	// Fellegi–Sunter score.
	ExtMatchScore = "https://xietong.dev/fhir/StructureDefinition/empi-match-score"
	// SystemTaskInput codes the inputs and outputs of review Tasks.
	SystemTaskInput = "https://xietong.dev/fhir/CodeSystem/empi-task-input"
)

// Link bases (ExtLinkBasis).
const (
	BasisIDNumber      = "id-number"
	BasisProbabilistic = "probabilistic"
	BasisNew           = "new"
	BasisAsserted      = "asserted"
	BasisDocument      = "document" // the same travel document (passport, permit)
	BasisManual        = "manual"
)

// pendingTTL is how long a decision taken in Prepare holds its place in
// the index without its transaction committing; after that it is dropped
// (the write failed or never reached the store).
const pendingTTL = 2 * time.Minute

// Indexer computes the search-index entries of a resource (the node's
// search indexer); the EMPI needs it for the writes of its operations.
type Indexer interface {
	Index(resourceType string, resource map[string]any) (store.Index, error)
}

// Validator checks a resource; error or fatal issues reject a write.
type Validator interface {
	Validate(resource map[string]any) []outcome.Issue
}

// Config wires an Engine.
type Config struct {
	Store     store.Store
	Model     *match.Model // nil: match.DefaultModel()
	Indexer   Indexer      // for the writes of link, unlink, merge and review decisions
	Validator Validator    // optional, for the same writes
	Guard     *access.Guard
	// Base is the server's base URL for fullUrl ("https://region.example/fhir");
	// "" derives it from the request.
	Base   string
	Logger *slog.Logger
	Now    func() time.Time
	// SyncEvery, when positive, makes the operations catch up with Patient
	// versions written by others than this node's API (a second node on
	// the same PostgreSQL database, tools writing to the store) at most
	// this often. Zero: the node's own writes (Committed) are the only
	// changes, as with SQLite.
	SyncEvery time.Duration
}

// Write is a follow-up write of the identity stage, done in the
// transaction of the write that caused it (fhirapi.Followup).
type Write struct {
	Resource  map[string]any
	IfVersion int64 // the version read; 0 with Create false: unconditional
	Create    bool  // the resource was read as absent
	// carry are the identifiers of its own (e-health cards) that a master
	// retired by this write hands to the master that replaced it.
	carry []any
}

// Engine is the regional master patient index: the identity stage of the
// write path (Prepare, Written, Committed), the in-memory match index and
// the EMPI's operations. It is safe for concurrent use.
type Engine struct {
	st    store.Store
	model *match.Model
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	ix *match.Index

	mu        sync.Mutex
	sources   map[string]*sourceState
	masters   map[string]*masterState
	byMID     map[match.MasterID]string
	decisions map[uintptr]*decision
	// pendingDocs holds, per travel document (system|value), the sources
	// whose decision is pending (not committed): a record of the same
	// document in the same transaction, or written at the same moment,
	// finds them before the store does (documents.go).
	pendingDocs map[string]map[string]bool
	lastSweep   time.Time
	loaded      bool
	seen        time.Time // newest lastUpdated applied (for catch-up)
	lastSync    time.Time
}

type sourceState struct {
	version int64  // committed version applied
	master  string // committed master
	rec     match.Record
	has     bool // rec is set (a live, committed version)
	pend    *pending
}

type pending struct {
	master string
	rec    match.Record
	since  time.Time
}

type masterState struct {
	version   int64
	mid       match.MasterID
	retired   bool
	notLinked map[string]bool
	manual    map[string]bool
	sources   map[string]bool // committed sources
}

// decision is what Prepare decided for one write, for Written.
type decision struct {
	source string
	master string
	basis  string
	review []match.Candidate // candidates between the thresholds
	since  time.Time
}

// New returns an Engine; call Load before serving.
func New(cfg Config) *Engine {
	if cfg.Model == nil {
		cfg.Model = match.DefaultModel()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Engine{
		st: cfg.Store, model: cfg.Model, cfg: cfg, log: cfg.Logger, now: cfg.Now,
		ix:          match.NewIndex(cfg.Model),
		sources:     map[string]*sourceState{},
		masters:     map[string]*masterState{},
		byMID:       map[match.MasterID]string{},
		decisions:   map[uintptr]*decision{},
		pendingDocs: map[string]map[string]bool{},
	}
}

// Len is the number of source records in the index.
func (e *Engine) Len() int { return e.ix.Len() }

// Masters is the number of live master Patients known.
func (e *Engine) Masters() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, m := range e.masters {
		if m.version > 0 && !m.retired {
			n++
		}
	}
	return n
}

// loadPage is the page size of the start-up read: big, because each page
// of store.History also counts the matching versions (an index walk over
// every Patient version), so the number of pages is what costs.
const loadPage = 50000

// Load reads every current Patient of the store and builds the index:
// masters with their state, sources with their master. It reads the
// Patient history newest first (a keyset scan on the version number, so
// each page costs the same however far in it is; a search's pages over
// all Patients did not) and keeps each Patient's newest version. The next
// page is read while this one is decoded, and decoding, converting to
// match records and preparing them for the index run on every core; only
// applying them to the engine's state is serial.
func (e *Engine) Load(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type fetched struct {
		page *store.HistoryPage
		err  error
	}
	pages := make(chan fetched, 1)
	go func() {
		defer close(pages)
		q := store.HistoryQuery{Type: "Patient", Count: loadPage}
		for {
			page, err := e.st.History(ctx, q)
			if errors.Is(err, store.ErrNotFound) {
				return
			}
			select {
			case pages <- fetched{page, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || page.NextCursor == "" || len(page.Versions) == 0 {
				return
			}
			q.Cursor = page.NextCursor
		}
	}()
	workers := max(1, runtime.GOMAXPROCS(0))
	var srcs []loaded
	newest := time.Time{}
	done := map[string]struct{}{}
	for f := range pages {
		if f.err != nil {
			return fmt.Errorf("empi: read Patients: %w", f.err)
		}
		// The newest version of each Patient (pages are newest first).
		var batch []loaded
		for _, v := range f.page.Versions {
			if _, seen := done[v.ID]; seen {
				continue // an older version
			}
			done[v.ID] = struct{}{}
			if v.LastUpdated.After(newest) {
				newest = v.LastUpdated
			}
			batch = append(batch, loaded{v: v})
		}
		if err := e.decodeLoaded(batch, workers); err != nil {
			return err
		}
		e.mu.Lock()
		for _, l := range batch {
			switch {
			case l.v.Deleted || l.body == nil:
			case l.master:
				e.applyMaster(l.v, l.body)
			default:
				srcs = append(srcs, l)
			}
		}
		e.mu.Unlock()
		// Sources are applied in batches once their masters may be
		// known; a source seen before its master is applied at the end.
		if len(srcs) >= 50000 {
			srcs = e.applySources(srcs, false)
		}
	}
	e.applySources(srcs, true)
	e.mu.Lock()
	e.loaded = true
	e.seen, e.lastSync = newest, e.now()
	e.mu.Unlock()
	return nil
}

// decodeLoaded decodes the bodies of a page's Patients and, for sources,
// their match record readied for the index, on workers goroutines.
func (e *Engine) decodeLoaded(batch []loaded, workers int) error {
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(batch); i += workers {
				l := &batch[i]
				if l.v.Deleted || l.v.Body == nil {
					continue
				}
				body, err := fhirjson.Decode(l.v.Body, fhirjson.Limits{})
				if err != nil {
					errs[w] = fmt.Errorf("empi: stored Patient/%s: %w", l.v.ID, err)
					return
				}
				l.body, l.master = body, IsMaster(body)
				if !l.master {
					rec := Record(body)
					rec.Source = l.v.ID
					p := e.ix.Prepare(rec)
					l.prep = &p
				}
			}
		}(w)
	}
	wg.Wait()
	return errors.Join(errs...)
}

type loaded struct {
	v      *store.Version
	body   map[string]any
	master bool
	prep   *match.Prepared // a source's record readied for the index
}

// applySources applies sources whose master is known (all of them when
// final) and returns the rest.
func (e *Engine) applySources(srcs []loaded, final bool) []loaded {
	e.mu.Lock()
	defer e.mu.Unlock()
	rest := srcs[:0]
	for _, s := range srcs {
		if !final && e.masterOf(s.body) == "" && len(referTargets(s.body)) > 0 {
			rest = append(rest, s)
			continue
		}
		e.applySourcePrepared(s.v, s.body, s.prep)
	}
	return rest
}

// IsMaster reports whether a Patient is a master record (tagged
// patient-role|master).
func IsMaster(p map[string]any) bool {
	for _, t := range list(obj(p["meta"])["tag"]) {
		c := obj(t)
		if str(c["system"]) == SystemPatientRole && str(c["code"]) == RoleMaster {
			return true
		}
	}
	return false
}

// referTargets returns the ids of the Patients a Patient's refer links
// point to (relative references Patient/x only).
func referTargets(p map[string]any) []string {
	var out []string
	for _, l := range list(p["link"]) {
		lk := obj(l)
		if str(lk["type"]) != "refer" {
			continue
		}
		if id, ok := strings.CutPrefix(str(obj(lk["other"])["reference"]), "Patient/"); ok && id != "" && !strings.Contains(id, "/") {
			out = append(out, id)
		}
	}
	return out
}

// masterOf returns the known master a source's refer links point to
// ("" for none). Caller holds e.mu.
func (e *Engine) masterOf(p map[string]any) string {
	for _, id := range referTargets(p) {
		if _, ok := e.masters[id]; ok {
			return id
		}
	}
	return ""
}

// master returns the state of master id, allocating it. Caller holds e.mu.
func (e *Engine) master(id string) *masterState {
	m := e.masters[id]
	if m == nil {
		m = &masterState{mid: e.ix.NewMaster(), sources: map[string]bool{}}
		e.masters[id] = m
		e.byMID[m.mid] = id
	}
	return m
}

// live reports whether id is a master that can take sources. Caller holds e.mu.
func (e *Engine) live(id string) bool {
	m := e.masters[id]
	return m != nil && !m.retired
}

// applyMaster records a committed master version. Caller holds e.mu.
func (e *Engine) applyMaster(v *store.Version, body map[string]any) {
	m := e.master(v.ID)
	if v.VersionID <= m.version {
		return
	}
	m.version = v.VersionID
	if v.Deleted || body == nil {
		m.retired = true
		return
	}
	m.retired = false
	if b, ok := body["active"].(bool); ok && !b {
		m.retired = true
	}
	// Allocated when there is something to hold: most masters have
	// neither, and a million empty maps cost a fifth of a gigabyte.
	m.notLinked, m.manual = nil, nil
	for _, x := range list(body["extension"]) {
		ext := obj(x)
		if str(ext["url"]) == ExtNotLinked {
			if id, ok := strings.CutPrefix(str(obj(ext["valueReference"])["reference"]), "Patient/"); ok {
				if m.notLinked == nil {
					m.notLinked = map[string]bool{}
				}
				m.notLinked[id] = true
			}
		}
	}
	for _, l := range list(body["link"]) {
		lk := obj(l)
		id, ok := strings.CutPrefix(str(obj(lk["other"])["reference"]), "Patient/")
		if !ok {
			continue
		}
		switch str(lk["type"]) {
		case "replaced-by":
			m.retired = true
		case "seealso":
			for _, x := range list(lk["extension"]) {
				if ext := obj(x); str(ext["url"]) == ExtLinkBasis && str(ext["valueCode"]) == BasisManual {
					if m.manual == nil {
						m.manual = map[string]bool{}
					}
					m.manual[id] = true
				}
			}
		}
	}
}

// applySource records a committed source version and places it in the
// index. Caller holds e.mu.
func (e *Engine) applySource(v *store.Version, body map[string]any) {
	e.applySourcePrepared(v, body, nil)
}

// applySourcePrepared is applySource with the source's record already
// readied for the index (nil: not yet).
func (e *Engine) applySourcePrepared(v *store.Version, body map[string]any, pre *match.Prepared) {
	s := e.sources[v.ID]
	if s == nil {
		s = &sourceState{}
		e.sources[v.ID] = s
	}
	if v.VersionID <= s.version {
		return
	}
	s.version = v.VersionID
	if old := s.master; old != "" {
		if m := e.masters[old]; m != nil {
			delete(m.sources, v.ID)
		}
	}
	if v.Deleted || body == nil {
		s.master, s.has, s.rec = "", false, match.Record{}
	} else {
		s.master = e.masterOf(body)
		if pre != nil {
			s.rec = pre.Record()
		} else {
			s.rec = Record(body)
			s.rec.Source = v.ID
		}
		s.has = true
	}
	if s.master != "" {
		e.master(s.master).sources[v.ID] = true
	}
	if s.pend != nil && s.pend.master == s.master {
		s.pend = nil
	}
	e.place(v.ID, s, pre)
}

// place puts a source's effective record (pending, else committed, readied
// for the index as pre when not nil) into the index. Caller holds e.mu.
func (e *Engine) place(id string, s *sourceState, pre *match.Prepared) {
	switch {
	case s.pend != nil:
		e.ix.Add(s.pend.rec, e.master(s.pend.master).mid)
	case s.has && s.master != "" && pre != nil:
		e.ix.AddPrepared(*pre, e.master(s.master).mid)
	case s.has && s.master != "":
		e.ix.Add(s.rec, e.master(s.master).mid)
	default:
		e.ix.Remove(id)
	}
}

// sweep drops pending decisions whose write never committed. Caller holds e.mu.
func (e *Engine) sweep(now time.Time) {
	if now.Sub(e.lastSweep) < pendingTTL/4 {
		return
	}
	e.lastSweep = now
	for id, s := range e.sources {
		if s.pend != nil && now.Sub(s.pend.since) > pendingTTL {
			s.pend = nil
			if !s.has && s.version == 0 {
				delete(e.sources, id)
				e.ix.Remove(id)
				continue
			}
			e.place(id, s, nil)
		}
	}
	for k, d := range e.decisions {
		if now.Sub(d.since) > pendingTTL {
			delete(e.decisions, k)
		}
	}
	e.dropSettledDocuments()
}

// Committed applies the versions a transaction wrote (masters first, so
// that their sources find them).
func (e *Engine) Committed(ctx context.Context, versions []*store.Version) {
	e.mu.Lock()
	defer e.mu.Unlock()
	type dec struct {
		v    *store.Version
		body map[string]any
	}
	var srcs []dec
	for _, v := range versions {
		if v.Type != "Patient" {
			continue
		}
		var body map[string]any
		if !v.Deleted && v.Body != nil {
			b, err := fhirjson.Decode(v.Body, fhirjson.Limits{})
			if err != nil {
				e.log.Error("empi: committed Patient does not decode", "id", v.ID, "err", err)
				continue
			}
			body = b
		}
		if v.LastUpdated.After(e.seen) {
			e.seen = v.LastUpdated
		}
		if body != nil && IsMaster(body) || body == nil && e.masters[v.ID] != nil {
			e.applyMaster(v, body)
			continue
		}
		srcs = append(srcs, dec{v, body})
	}
	for _, s := range srcs {
		e.applySource(s.v, s.body)
	}
	for k, d := range e.decisions {
		for _, s := range srcs {
			if d.source == s.v.ID {
				delete(e.decisions, k)
			}
		}
	}
}

// Sync catches up with Patient versions written by others than this node's
// API (another node on the same PostgreSQL database, tools writing to the
// store): it reads the Patient history since the newest version seen, less
// Settle. Versions already applied are skipped.
func (e *Engine) Sync(ctx context.Context) error {
	e.mu.Lock()
	since := e.seen.Add(-Settle)
	e.lastSync = e.now()
	e.mu.Unlock()
	q := store.HistoryQuery{Type: "Patient", Since: since, Count: 1000}
	var vs []*store.Version
	done := map[string]bool{}
	for {
		page, err := e.st.History(ctx, q)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if err != nil {
			return fmt.Errorf("empi: read Patient history: %w", err)
		}
		for _, v := range page.Versions {
			if !done[v.ID] { // newest first: the current version
				done[v.ID] = true
				vs = append(vs, v)
			}
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	e.mu.Lock()
	fresh := vs[:0]
	for _, v := range vs {
		if s := e.sources[v.ID]; s != nil && v.VersionID <= s.version {
			continue
		}
		if m := e.masters[v.ID]; m != nil && v.VersionID <= m.version {
			continue
		}
		fresh = append(fresh, v)
	}
	e.mu.Unlock()
	if len(fresh) > 0 {
		e.Committed(ctx, fresh)
	}
	return nil
}

func (e *Engine) maybeSync(ctx context.Context) error {
	e.mu.Lock()
	loaded, due := e.loaded, e.cfg.SyncEvery > 0 && e.now().Sub(e.lastSync) >= e.cfg.SyncEvery
	e.mu.Unlock()
	if !loaded {
		return e.Load(ctx)
	}
	if due {
		return e.Sync(ctx)
	}
	return nil
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func mapKey(m map[string]any) uintptr { return reflect.ValueOf(m).Pointer() }

// Prepare is the identity stage before a Patient is indexed and stored:
// it checks resident ID numbers, decides the source's master and writes
// the refer link into it (see doc.go).
func (e *Engine) Prepare(ctx context.Context, typ, id string, res map[string]any) error {
	if typ != "Patient" {
		return nil
	}
	if IsMaster(res) {
		// The platform's engines keep data of their own on masters (the
		// e-health card service: card identifiers); the golden record
		// carries it over (golden.go). Nobody else writes masters.
		if p, ok := access.PrincipalFrom(ctx); ok && p.Role == "system" {
			return nil
		}
		return outcome.Unprocessable("Master Patients (meta.tag %s|%s) are maintained by the EMPI from their sources; use Patient/$merge, Patient/[id]/$link or $unlink to change them.", SystemPatientRole, RoleMaster).At("Patient.meta.tag")
	}
	if err := CheckIdentifiers(res, e.now()); err != nil {
		return err
	}
	docs := documents(res)
	holders, err := e.holders(ctx, docs, id)
	if err != nil {
		return err
	}
	rec := Record(res)
	rec.Source = id
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	e.sweep(now)
	d := e.decide(id, rec, res, e.withPendingHolders(holders, docs, id))
	d.since = now
	key := id
	if key == "" {
		// A conditional update whose target is not known yet: its place
		// in the index is held under a name of its own until it expires.
		key = "pending:" + newID()
	}
	e.holdDocuments(docs, key)
	s := e.sources[key]
	if s == nil {
		s = &sourceState{}
		e.sources[key] = s
	}
	s.pend = &pending{master: d.master, rec: rec, since: now}
	s.pend.rec.Source = key
	e.place(key, s, nil)
	e.decisions[mapKey(res)] = d
	setRefer(res, d.master, e.masters)
	return nil
}

// decide chooses the master of source id (see doc.go, "Linking").
// Caller holds e.mu.
func (e *Engine) decide(id string, rec match.Record, res map[string]any, holders []string) *decision {
	d := &decision{source: id}
	cur := ""
	if s := e.sources[id]; s != nil && id != "" {
		if s.pend != nil {
			cur = s.pend.master
		} else {
			cur = s.master
		}
		if !e.live(cur) {
			cur = ""
		}
	}
	// A refer link to another live master, written by the institution or
	// by the one-code service, is trusted unless the master holds a
	// different valid ID number or a person decided against it.
	for _, x := range referTargets(res) {
		if x == cur || !e.live(x) || e.masters[x].notLinked[id] {
			continue
		}
		if e.vetoed(rec, x, id) {
			continue
		}
		d.master, d.basis = x, BasisAsserted
		return d
	}
	// A travel document another record carries is that record's person
	// (a manual link stays where a person put it).
	if m := e.documentMaster(id, holders, rec); m != "" && (cur == "" || !e.masters[cur].manual[id]) {
		d.master = m
		if m != cur {
			d.basis = BasisDocument
		}
		return d
	}
	if cur != "" {
		e.ix.Remove(id)
	}
	cands := e.candidates(rec, id)
	var best, atCur *match.Candidate
	for i := range cands {
		c := &cands[i]
		if best == nil && e.byMID[c.Master] != cur {
			best = c
		}
		if cur != "" && e.byMID[c.Master] == cur && atCur == nil {
			atCur = c
		}
	}
	linkTo := func(c *match.Candidate) *decision {
		d.master = e.byMID[c.Master]
		d.basis = BasisProbabilistic
		if c.Rule == match.RuleSameID {
			d.basis = BasisIDNumber
		}
		return d
	}
	if cur != "" {
		m := e.masters[cur]
		others := 0
		for sid := range m.sources {
			if sid != id {
				others++
			}
		}
		vetoHere := atCur != nil && atCur.Rule == match.RuleDifferentID
		switch {
		case m.manual[id] && !vetoHere:
			d.master = cur
			return d
		case others == 0:
			if best != nil && best.Decision == match.Link {
				return linkTo(best)
			}
			d.master = cur
			return d
		case atCur != nil && atCur.Decision == match.Link:
			d.master = cur
			return d
		case best != nil && best.Decision == match.Link:
			return linkTo(best)
		case atCur != nil && atCur.Decision == match.Review:
			d.master = cur
			return d
		}
		// It no longer resembles its master's other records: a master of
		// its own (and a review when something else is close).
	} else if best != nil && best.Decision == match.Link {
		return linkTo(best)
	}
	d.master, d.basis = newID(), BasisNew
	e.master(d.master)
	for _, c := range cands {
		if c.Decision == match.Review && e.byMID[c.Master] != cur {
			d.review = append(d.review, c)
		}
	}
	if len(d.review) > 5 {
		d.review = d.review[:5]
	}
	return d
}

// candidates matches rec against the index, leaving out masters that are
// retired or that a person decided are not this source. Caller holds e.mu.
func (e *Engine) candidates(rec match.Record, source string) []match.Candidate {
	all := e.ix.Match(rec, 0)
	out := all[:0]
	for _, c := range all {
		id := e.byMID[c.Master]
		m := e.masters[id]
		if m == nil || m.retired || (source != "" && m.notLinked[source]) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// vetoed reports whether master holds a valid ID number different from
// rec's. Caller holds e.mu.
func (e *Engine) vetoed(rec match.Record, master, source string) bool {
	m := e.masters[master]
	for sid := range m.sources {
		if sid == source {
			continue
		}
		if s := e.sources[sid]; s != nil && s.has {
			if e.model.Compare(rec, s.rec).Rule == match.RuleDifferentID {
				return true
			}
		}
	}
	return false
}

// setRefer replaces the refer links to masters with one to master.
func setRefer(res map[string]any, master string, masters map[string]*masterState) {
	var links []any
	for _, l := range list(res["link"]) {
		lk := obj(l)
		if str(lk["type"]) == "refer" {
			id, _ := strings.CutPrefix(str(obj(lk["other"])["reference"]), "Patient/")
			if _, isMaster := masters[id]; isMaster || id == master {
				continue
			}
		}
		links = append(links, l)
	}
	links = append(links, map[string]any{"other": map[string]any{"reference": "Patient/" + master}, "type": "refer"})
	res["link"] = links
}

// CheckIdentifiers validates the resident ID numbers of a Patient (the
// identifiers of system SystemResidentID or SystemResidentIDOID): a number
// that fails GB 11643 (length, characters, province, an impossible or
// future birth date, the check character) rejects the write with a 422
// naming the identifier. A valid number that contradicts the record's
// birthDate or gender is accepted (the number may be the record's only
// mistake, or the rest) but never links deterministically. A legacy
// 15-digit number is upgraded to 18 digits in place, the original kept as
// an identifier of use old. Travel documents (passports, the permits of
// Hong Kong, Macao and Taiwan residents, foreigners' permanent residence
// cards: documents.go) are checked the same way, with identity/identifier,
// and written in their standard form ("h1234 5678" becomes H12345678);
// so are institutions' record numbers (system SystemMRNPrefix + code:
// not blank, no control characters, at most 64 bytes, trimmed).
func CheckIdentifiers(res map[string]any, now time.Time) error {
	ids := list(res["identifier"])
	var extra []any
	for i, x := range ids {
		ident := obj(x)
		sys := str(ident["system"])
		at := fmt.Sprintf("Patient.identifier[%d].value", i)
		if str(ident["use"]) == "old" {
			continue
		}
		if !residentSystem(sys) {
			if err := checkDocument(ident, at, now); err != nil {
				return err
			}
			continue
		}
		v := str(ident["value"])
		n, err := parseResidentID(v, now)
		if err != nil {
			return &outcome.Error{Status: http.StatusUnprocessableEntity, Issues: []outcome.Issue{{
				Severity: "error", Code: "value",
				Diagnostics: "The resident ID number is not valid: " + err.Error() + ". Check it against the card; the record was not stored and nothing was linked.",
				Expression:  []string{at},
			}}}
		}
		if n.Value != v {
			if n.Legacy {
				old := map[string]any{"use": "old", "system": sys, "value": v}
				extra = append(extra, old)
			}
			ident["value"] = n.Value
		}
	}
	if len(extra) > 0 {
		// Do not add the old form twice when an institution sends it back.
		for _, x := range extra {
			dup := false
			for _, y := range ids {
				if oy := obj(y); str(oy["use"]) == "old" && str(oy["value"]) == str(obj(x)["value"]) {
					dup = true
				}
			}
			if !dup {
				ids = append(ids, x)
			}
		}
		res["identifier"] = ids
	}
	return nil
}

// parseResidentID reads a resident ID number as the identity stage stores
// it (CheckIdentifiers): trimmed, upper case, a legacy 15-digit number
// upgraded. $ihe-pix and identifier searches read a query's number the
// same way.
func parseResidentID(v string, now time.Time) (idnumber.Number, error) {
	return idnumber.ParseAt(strings.ToUpper(strings.TrimSpace(v)), now)
}
