package fhirapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/trace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
)

// op is one interaction, whether it came as a plain HTTP request or as a
// Bundle entry; both run through the same code.
type op struct {
	method      string // GET, POST, PUT, PATCH, DELETE, HEAD
	typ, id     string
	vid         int64
	query       url.Values // conditional criteria (PUT/DELETE/PATCH/POST If-None-Exist)
	conditional bool       // PUT/DELETE/PATCH Type?criteria
	ifMatch     string
	ifNoneExist string
	resource    map[string]any // POST/PUT body; PATCH result
	patch       []byte         // PATCH body
	fullURL     string         // Bundle entry fullUrl
	path        string         // for error messages: "Bundle.entry[3]"

	index    store.Index    // computed by prepare
	newID    bool           // the id was assigned by the server (create)
	prepared bool           // index computed
	existing *store.Version // a conditional create found this match
	prepErr  error          // a batch entry that could not be parsed
	body     []byte         // the resource marshalled as version 1 at premarshalTime, before the transaction
	get      getKind        // what a GET entry reads
	ctype    string         // the resource type of a compartment search entry (Patient/1/Observation)
}

// result is what an interaction produced.
type result struct {
	status  int
	version *store.Version // written or found
	note    string         // an informational message (Prefer: return=OperationOutcome)

	alreadyGone bool // a delete found the resource deleted already
}

// newID returns a UUID of version 7 (RFC 9562): 48 bits of Unix
// milliseconds, 12 bits of sub-millisecond time (method 3 of section
// 6.2), then 62 random bits; a valid FHIR id. Ids the server assigns
// increase with time (strictly, within this process), so the stores'
// B-tree indexes keyed by id (resource (type, id), the version table, the
// reference targets) receive new keys at their right edge instead of at
// random leaves: a transaction dirties a few pages per index instead of
// one page per resource (docs/decisions/006-write-and-audit-durability.md).
// The 62 random bits keep ids unguessable; the time they reveal is the
// version 1 meta.lastUpdated anyway.
func newID() string {
	var b [16]byte
	rand.Read(b[8:])
	t := idClock()
	ms, frac := t>>12, t&0xfff
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	b[6] = 0x70 | byte(frac>>8)
	b[7] = byte(frac)
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// lastIDTime is the time of the last id, in units of 1/4096 ms.
var lastIDTime atomic.Int64

// idClock returns the current time in units of 1/4096 millisecond since
// the Unix epoch, strictly greater than at any earlier call.
func idClock() int64 {
	ns := time.Now().UnixNano()
	now := ns/1e6<<12 | (ns%1e6)*4096/1e6
	for {
		last := lastIDTime.Load()
		t := max(now, last+1)
		if lastIDTime.CompareAndSwap(last, t) {
			return t
		}
	}
}

// validate runs the validator and turns error issues into a 400.
func (s *Server) validate(o *op) error {
	if s.deps.Validator == nil {
		return nil
	}
	issues := s.deps.Validator.Validate(o.resource)
	var errs []outcome.Issue
	for _, is := range issues {
		if is.Severity == "error" || is.Severity == "fatal" {
			if o.path != "" {
				for i, ex := range is.Expression {
					// Observation.status of entry 1 is
					// Bundle.entry[1].resource.status
					if rest, ok := strings.CutPrefix(ex, o.typ); ok && (rest == "" || rest[0] == '.') {
						ex = rest
					} else {
						ex = "." + ex
					}
					is.Expression[i] = o.path + ".resource" + ex
				}
				is.Diagnostics = o.path + ": " + is.Diagnostics
			}
			errs = append(errs, is)
		}
	}
	if len(errs) > 0 {
		return &outcome.Error{Status: http.StatusBadRequest, Issues: errs}
	}
	return nil
}

// prepare does the CPU work of a create or update before any transaction
// starts: checks, validation and index extraction. Reference rewriting in
// transactions happens before it. It waits for a preparation slot
// (prepslots.go) and gives it back before returning.
func (s *Server) prepare(ctx context.Context, o *op) error {
	sl, err := s.admitted(ctx)
	if err != nil {
		return err
	}
	defer sl.release()
	return s.prepareAdmitted(ctx, o)
}

// prepareAdmitted is prepare for a caller that holds a slot already.
func (s *Server) prepareAdmitted(ctx context.Context, o *op) error {
	if o.resource == nil {
		return nil
	}
	rt, _ := o.resource["resourceType"].(string)
	if rt != o.typ {
		return outcome.BadRequest("%sThe resource is a %s but the request is for %s.", prefix(o.path), rt, o.typ).At("resourceType")
	}
	switch {
	case o.method == http.MethodPost:
		// The server assigns the id of a created resource (R4 3.1.0.8.1:
		// a supplied id is ignored). A transaction may have chosen it
		// already, to resolve references to the entry.
		if o.id == "" {
			o.id = newID()
		}
		o.newID = true
		o.resource["id"] = o.id
	case o.method == http.MethodPut && !o.conditional:
		bodyID, _ := o.resource["id"].(string)
		if bodyID == "" {
			return outcome.BadRequest("%sThe resource has no id; an update (PUT %s/%s) must carry the same id in the body.", prefix(o.path), o.typ, o.id).At(o.typ + ".id")
		}
		if bodyID != o.id {
			return outcome.BadRequest("%sThe id in the body (%q) differs from the id in the URL (%q).", prefix(o.path), bodyID, o.id).At(o.typ + ".id")
		}
	}
	if err := s.validate(o); err != nil {
		return err
	}
	if err := s.hookPrepare(ctx, o); err != nil {
		return err
	}
	return s.reindex(o)
}

func (s *Server) reindex(o *op) error {
	if s.deps.Indexer == nil || o.resource == nil {
		return nil
	}
	idx, err := s.deps.Indexer.Index(o.typ, o.resource)
	if err != nil {
		return outcome.Wrap(err, http.StatusBadRequest, "processing", "%sThe search index of the resource could not be computed: %v", prefix(o.path), err)
	}
	o.index = idx
	o.prepared = true
	return nil
}

func prefix(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

// setMeta stamps the version and time into the resource's meta, keeping
// the client's tags, profiles, security labels and source.
func setMeta(res map[string]any, vid int64, ts time.Time) {
	meta, _ := res["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		res["meta"] = meta
	}
	meta["versionId"] = strconv.FormatInt(vid, 10)
	meta["lastUpdated"] = formatInstant(ts)
}

func formatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// execWrite runs a prepared write inside tx.
func (s *Server) execWrite(ctx context.Context, tx store.Tx, o *op, now time.Time) (*result, error) {
	res, err := s.execWriteOnly(ctx, tx, o, now)
	if err != nil || len(s.deps.Hooks) == 0 || res.version == nil {
		return res, err
	}
	// A create that found its match (If-None-Exist) and a delete of
	// something already gone wrote nothing.
	if o.method == http.MethodPost && res.status == http.StatusOK {
		return res, nil
	}
	if res.alreadyGone {
		return res, nil
	}
	var body map[string]any
	if !res.version.Deleted {
		body = o.resource
	}
	return res, s.hookWritten(ctx, tx, res.version, body, now)
}

func (s *Server) execWriteOnly(ctx context.Context, tx store.Tx, o *op, now time.Time) (*result, error) {
	switch o.method {
	case http.MethodPost:
		return s.execCreate(ctx, tx, o, now)
	case http.MethodPut:
		return s.execUpdate(ctx, tx, o, now)
	case http.MethodPatch:
		return s.execPatch(ctx, tx, o, now)
	case http.MethodDelete:
		return s.execDelete(ctx, tx, o, now)
	}
	return nil, outcome.BadRequest("%sMethod %s is not a write.", prefix(o.path), o.method)
}

// matchOne runs conditional criteria inside tx and returns the matches
// (at most two: enough to know whether the match is unique).
func (s *Server) match(ctx context.Context, tx store.Reader, typ string, criteria url.Values, what string) ([]*store.Version, error) {
	if len(criteria) == 0 {
		return nil, outcome.BadRequest("%s needs search criteria (for example identifier=system|value).", what)
	}
	req, err := search.Parse(typ, criteria, search.Options{Strict: true, DefaultCount: 2, MaxCount: 2, Zone: s.cfg.Zone})
	if err != nil {
		return nil, err
	}
	if len(req.Query.Where) == 0 {
		return nil, outcome.BadRequest("%s needs search criteria that select resources, not only result parameters.", what)
	}
	req.Query.Count, req.Query.Offset, req.Query.Cursor = 2, 0, ""
	req.Query.Total, req.Query.CountOnly = store.TotalNone, false
	res, err := tx.Search(ctx, req.Query)
	if err != nil {
		return nil, err
	}
	return res.Matches, nil
}

// existingFor evaluates a create's If-None-Exist inside tx: the one
// resource it matches, nil when none does, a 412 when several do.
func (s *Server) existingFor(ctx context.Context, tx store.Reader, o *op) (*store.Version, error) {
	// Some clients send the Type?criteria, ?criteria or full URL form.
	crit := o.ifNoneExist
	if i := strings.IndexByte(crit, '?'); i >= 0 {
		if head := crit[:i]; head == "" || head == o.typ || strings.HasSuffix(head, "/"+o.typ) {
			crit = crit[i+1:]
		}
	}
	criteria, err := url.ParseQuery(crit)
	if err != nil {
		return nil, outcome.BadRequest("%sIf-None-Exist is not a valid query string: %v", prefix(o.path), err)
	}
	found, err := s.match(ctx, tx, o.typ, criteria, prefix(o.path)+"If-None-Exist")
	switch {
	case err != nil:
		return nil, err
	case len(found) > 1:
		return nil, outcome.PreconditionFailed("%sIf-None-Exist %q matches more than one %s; make the criteria select one resource.", prefix(o.path), o.ifNoneExist, o.typ)
	case len(found) == 1:
		return found[0], nil
	}
	return nil, nil
}

func (s *Server) execCreate(ctx context.Context, tx store.Tx, o *op, now time.Time) (*result, error) {
	if o.ifNoneExist != "" {
		existing, err := s.existingFor(ctx, tx, o)
		if err != nil {
			return nil, err
		}
		if existing != nil {
			o.id = existing.ID
			return &result{status: http.StatusOK, version: existing, note: "A matching resource exists already (If-None-Exist); nothing was created."}, nil
		}
	}
	return s.put(ctx, tx, o, 1, now, http.StatusCreated)
}

// premarshal encodes a create as version 1 before the transaction starts,
// so that the writer (serialised on SQLite) only stores bytes. Anything that
// changes the resource afterwards must clear o.body.
func (s *Server) premarshal(o *op, now time.Time) error {
	if o.method != http.MethodPost || o.resource == nil {
		return nil
	}
	setMeta(o.resource, 1, now)
	body, err := marshal(o.resource)
	if err != nil {
		return err
	}
	o.body = body
	return nil
}

// put writes the resource as version vid.
func (s *Server) put(ctx context.Context, tx store.Tx, o *op, vid int64, now time.Time, status int) (*result, error) {
	body := o.body
	if vid != 1 || body == nil {
		setMeta(o.resource, vid, now)
		var err error
		if body, err = marshal(o.resource); err != nil {
			return nil, err
		}
	}
	method := o.method
	w := &store.Write{Type: o.typ, ID: o.id, VersionID: vid, LastUpdated: now, Method: method, Body: body, Index: o.index}
	put := tx.Put
	if fp, ok := tx.(freshPutter); ok && method == http.MethodPost && o.newID && vid == 1 {
		// A create under an id this server has just minted: no row can
		// have it, so the store need not look for one.
		put = fp.PutFresh
	}
	if err := put(ctx, w); err != nil {
		return nil, err
	}
	return &result{status: status, version: &store.Version{
		Type: o.typ, ID: o.id, VersionID: vid, LastUpdated: now, Method: method, Body: body,
	}}, nil
}

// current reads the current version inside tx: (nil, 0) when the resource
// never existed; for a deleted one the version is returned with deleted set.
func current(ctx context.Context, tx store.Reader, typ, id string) (cur *store.Version, deleted bool, err error) {
	v, err := tx.Read(ctx, typ, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, false, nil
	case errors.Is(err, store.ErrGone):
		return v, true, nil
	case err != nil:
		return nil, false, err
	}
	return v, false, nil
}

// currentMatching reads the current version inside tx and applies the
// op's If-Match to it.
func (s *Server) currentMatching(ctx context.Context, tx store.Reader, o *op) (cur *store.Version, deleted bool, err error) {
	if cur, deleted, err = current(ctx, tx, o.typ, o.id); err != nil {
		return nil, false, err
	}
	return cur, deleted, s.checkIfMatch(o, cur, deleted)
}

func (s *Server) checkIfMatch(o *op, cur *store.Version, deleted bool) error {
	if o.ifMatch == "" {
		return nil
	}
	want, err := parseETag(o.ifMatch)
	if err != nil {
		return err
	}
	if cur == nil || deleted || cur.VersionID != want {
		have := "does not exist"
		if cur != nil {
			have = fmt.Sprintf("is at version %d", cur.VersionID)
			if deleted {
				have += " (deleted)"
			}
		}
		return outcome.PreconditionFailed("%sIf-Match asks for version %d of %s/%s, but it %s; read it again and retry.", prefix(o.path), want, o.typ, o.id, have)
	}
	return nil
}

func (s *Server) execUpdate(ctx context.Context, tx store.Tx, o *op, now time.Time) (*result, error) {
	if o.conditional {
		found, err := s.match(ctx, tx, o.typ, o.query, prefix(o.path)+"A conditional update")
		if err != nil {
			return nil, err
		}
		bodyID, _ := o.resource["id"].(string)
		switch len(found) {
		case 0:
			if bodyID == "" {
				o.id, o.newID = newID(), true
				o.resource["id"] = o.id
			} else {
				o.id = bodyID
			}
		case 1:
			if bodyID != "" && bodyID != found[0].ID {
				return nil, outcome.BadRequest("%sThe criteria match %s/%s but the body has id %q.", prefix(o.path), o.typ, found[0].ID, bodyID)
			}
			o.id = found[0].ID
			o.resource["id"] = o.id
		default:
			return nil, outcome.PreconditionFailed("%sThe conditional update criteria match more than one %s; make them select one resource.", prefix(o.path), o.typ)
		}
	}
	cur, deleted, err := s.currentMatching(ctx, tx, o)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return s.put(ctx, tx, o, 1, now, http.StatusCreated)
	}
	status := http.StatusOK
	if deleted {
		status = http.StatusCreated
	}
	return s.put(ctx, tx, o, cur.VersionID+1, now, status)
}

func (s *Server) execPatch(ctx context.Context, tx store.Tx, o *op, now time.Time) (*result, error) {
	if o.conditional {
		found, err := s.match(ctx, tx, o.typ, o.query, prefix(o.path)+"A conditional patch")
		if err != nil {
			return nil, err
		}
		if len(found) != 1 {
			if len(found) == 0 {
				return nil, outcome.NotFound("%sThe conditional patch criteria match no %s.", prefix(o.path), o.typ)
			}
			return nil, outcome.PreconditionFailed("%sThe conditional patch criteria match more than one %s.", prefix(o.path), o.typ)
		}
		o.id = found[0].ID
	}
	cur, deleted, err := current(ctx, tx, o.typ, o.id)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return nil, outcome.NotFound("%s%s/%s does not exist; a patch needs an existing resource.", prefix(o.path), o.typ, o.id)
	}
	if deleted {
		return nil, outcome.Gone("%s%s/%s was deleted; a patch needs a current resource.", prefix(o.path), o.typ, o.id)
	}
	if err := s.checkIfMatch(o, cur, false); err != nil {
		return nil, err
	}
	res, err := decodeStored(cur.Body)
	if err != nil {
		return nil, err
	}
	patched, err := applyJSONPatch(res, o.patch)
	if err != nil {
		return nil, outcome.BadRequest("%sThe JSON Patch could not be applied: %v", prefix(o.path), err)
	}
	m, ok := patched.(map[string]any)
	if !ok || m["resourceType"] != o.typ || m["id"] != o.id {
		return nil, outcome.Unprocessable("%sThe patch must not change resourceType or id, nor replace the whole resource with something else.", prefix(o.path))
	}
	o.resource = m
	// Validation and indexing of the patched resource happen here, inside
	// the transaction, because the result depends on the current version.
	if err := s.validate(o); err != nil {
		return nil, err
	}
	if err := s.hookPrepare(ctx, o); err != nil {
		return nil, err
	}
	o.body = nil
	if err := s.reindex(o); err != nil {
		return nil, err
	}
	return s.put(ctx, tx, o, cur.VersionID+1, now, http.StatusOK)
}

func (s *Server) execDelete(ctx context.Context, tx store.Tx, o *op, now time.Time) (*result, error) {
	if o.conditional {
		found, err := s.match(ctx, tx, o.typ, o.query, prefix(o.path)+"A conditional delete")
		if err != nil {
			return nil, err
		}
		switch len(found) {
		case 0:
			return &result{status: http.StatusNoContent, note: "No resource matched the criteria; nothing was deleted."}, nil
		case 1:
			o.id = found[0].ID
		default:
			return nil, outcome.PreconditionFailed("%sThe conditional delete criteria match more than one %s; this server deletes one resource at a time.", prefix(o.path), o.typ)
		}
	}
	cur, deleted, err := s.currentMatching(ctx, tx, o)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		return &result{status: http.StatusNoContent, note: fmt.Sprintf("%s/%s does not exist; nothing was deleted.", o.typ, o.id)}, nil
	}
	if deleted {
		return &result{status: http.StatusNoContent, version: cur, alreadyGone: true, note: fmt.Sprintf("%s/%s was already deleted.", o.typ, o.id)}, nil
	}
	w := &store.Write{Type: o.typ, ID: o.id, VersionID: cur.VersionID + 1, LastUpdated: now, Method: http.MethodDelete, Delete: true}
	if err := tx.Put(ctx, w); err != nil {
		return nil, err
	}
	return &result{status: http.StatusNoContent, version: &store.Version{
		Type: o.typ, ID: o.id, VersionID: w.VersionID, LastUpdated: now, Method: http.MethodDelete, Deleted: true,
	}, note: fmt.Sprintf("%s/%s was deleted (version %d).", o.typ, o.id, w.VersionID)}, nil
}

// Names of the runtime/trace regions of a write transaction.
const (
	regionBegin  = "xt.tx.begin"  // Store.Begin: waiting for the writer (SQLite: the token)
	regionBody   = "xt.tx.body"   // the transaction's work, holding the writer
	regionCommit = "xt.tx.commit" // Commit: the buffered inserts, then the wait for the durable COMMIT
)

// inTx runs fn in a write transaction and commits it. The audit records
// of the request (access.Guard.Check ran before) are made durable first:
// a write is never more durable than its audit record.
func (s *Server) inTx(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := s.deps.Guard.Sync(ctx); err != nil {
		return fmt.Errorf("the audit trail could not be stored, so nothing was written: %w", err)
	}
	// From here to the durable commit, requests preparing leave a
	// processor to the writer (prepslots.go).
	s.prep.writerIn()
	defer s.prep.writerOut()
	// The regions name the writer's phases in a runtime/trace of the
	// process (xietong bench ingest --trace): waiting for the writer,
	// holding it, and committing (the buffered inserts, then the wait for
	// the shared COMMIT). They cost a flag check when no trace runs.
	region := trace.StartRegion(ctx, regionBegin)
	tx, err := s.deps.Store.Begin(ctx)
	region.End()
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		// Also on a panic: a transaction left open would hold the
		// SQLite writer for ever.
		if !committed {
			tx.Rollback()
		}
	}()
	var ht *hookTx
	if len(s.deps.Hooks) > 0 {
		ht = &hookTx{Tx: tx}
		tx = ht
	}
	region = trace.StartRegion(ctx, regionBody)
	err = fn(tx)
	region.End()
	if err != nil {
		return err
	}
	committed = true
	region = trace.StartRegion(ctx, regionCommit)
	err = tx.Commit()
	region.End()
	if err != nil {
		return err
	}
	if ht != nil && len(ht.written) > 0 {
		for _, h := range s.deps.Hooks {
			h.Committed(ctx, ht.written)
		}
	}
	return nil
}
