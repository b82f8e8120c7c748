package fhirapi

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
)

func pathType(r *http.Request) (string, error) {
	t := r.PathValue("type")
	if strings.HasPrefix(t, "$") {
		return "", outcome.NotSupported("The operation %s is not supported by this server; see [base]/metadata for the operations it offers.", t)
	}
	if !isKnownType(t) {
		return "", unknownType(t)
	}
	return t, nil
}

func pathTypeID(r *http.Request) (string, string, error) {
	t, err := pathType(r)
	if err != nil {
		return "", "", err
	}
	id := r.PathValue("id")
	if !search.ValidID(id) {
		return "", "", outcome.BadRequest("%q is not a valid resource id: ids are 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'.", id)
	}
	return t, id, nil
}

// handleCreate: POST [base]/[type].
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) error {
	typ, err := pathType(r)
	if err != nil {
		return err
	}
	if err := checkFormat(r); err != nil {
		return err
	}
	if err := s.guard(r.Context(), r, access.Create, typ, ""); err != nil {
		return err
	}
	o := &op{method: http.MethodPost, typ: typ, ifNoneExist: r.Header.Get("If-None-Exist")}
	if err := s.readResource(r, o); err != nil {
		return err
	}
	return s.runSingle(w, r, o)
}

// handleInstanceWrite: PUT, PATCH and DELETE [base]/[type]/[id].
func (s *Server) handleInstanceWrite(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := pathTypeID(r)
	if err != nil {
		return err
	}
	if err := checkFormat(r); err != nil {
		return err
	}
	o := &op{method: r.Method, typ: typ, id: id, ifMatch: r.Header.Get("If-Match")}
	return s.instanceWrite(w, r, o)
}

// handleConditional: PUT, PATCH and DELETE [base]/[type]?criteria.
func (s *Server) handleConditional(w http.ResponseWriter, r *http.Request) error {
	typ, err := pathType(r)
	if err != nil {
		return err
	}
	if err := checkFormat(r); err != nil {
		return err
	}
	q := r.URL.Query()
	q.Del("_format")
	q.Del("_pretty")
	if len(q) == 0 {
		w.Header().Set("Allow", "GET, HEAD, POST")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported",
			"%s %s needs either an id (%s/[id]) or search criteria (%s?identifier=...).", r.Method, r.URL.Path, r.URL.Path, r.URL.Path)
	}
	o := &op{method: r.Method, typ: typ, query: q, conditional: true, ifMatch: r.Header.Get("If-Match")}
	return s.instanceWrite(w, r, o)
}

func (s *Server) instanceWrite(w http.ResponseWriter, r *http.Request, o *op) error {
	action := map[string]access.Action{http.MethodPut: access.Update, http.MethodPatch: access.Update, http.MethodDelete: access.Delete}[o.method]
	if err := s.guard(r.Context(), r, action, o.typ, o.id); err != nil {
		return err
	}
	switch o.method {
	case http.MethodPut:
		if err := s.readResource(r, o); err != nil {
			return err
		}
	case http.MethodPatch:
		body, err := s.readBody(r, "application/json-patch+json")
		if err != nil {
			return err
		}
		o.patch = body
	}
	return s.runSingle(w, r, o)
}

func (s *Server) readResource(r *http.Request, o *op) error {
	res, err := s.readResourceBody(r)
	if err != nil {
		return err
	}
	o.resource = res
	return nil
}

// runSingle runs one write as its own transaction and writes the answer.
func (s *Server) runSingle(w http.ResponseWriter, r *http.Request, o *op) error {
	now := s.deps.Now().UTC().Truncate(1000)
	if err := s.prepare(r.Context(), o); err != nil {
		return err
	}
	if err := s.premarshal(o, now); err != nil {
		return err
	}
	var res *result
	var err error
	// A conflict can come from a hook's follow-up (two institutions
	// registering one person at once on PostgreSQL both update the master);
	// the write itself is repeatable, so it is retried a few times before
	// the client sees a 409.
	for attempt := 0; ; attempt++ {
		err = s.inTx(r.Context(), func(tx store.Tx) error {
			var err error
			res, err = s.execWrite(r.Context(), tx, o, now)
			return err
		})
		if !errors.Is(err, store.ErrConflict) || len(s.deps.Hooks) == 0 || attempt == 4 || r.Context().Err() != nil {
			break
		}
	}
	if err != nil {
		if errors.Is(err, store.ErrConflict) && o.newID {
			return outcome.Conflict("Another request created %s/%s at the same time; retry.", o.typ, o.id)
		}
		return err
	}
	s.writeResult(w, r, res)
	return nil
}

// writeResult answers a write per Prefer: return.
func (s *Server) writeResult(w http.ResponseWriter, r *http.Request, res *result) {
	v := res.version
	if v != nil {
		setVersionHeaders(w, v.VersionID, v.LastUpdated)
		if !v.Deleted && (res.status == http.StatusCreated || r.Method != http.MethodPost || res.status == http.StatusOK) {
			w.Header().Set("Location", s.publicBase(r)+"/"+v.Type+"/"+v.ID+"/_history/"+strconv.FormatInt(v.VersionID, 10))
		}
	}
	if res.status == http.StatusNoContent || v == nil || v.Deleted {
		if preferReturn(r) == "OperationOutcome" && res.note != "" {
			writeResource(w, r, http.StatusOK, outcome.Resource(outcome.Issue{Severity: "information", Code: "informational", Diagnostics: res.note}))
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	switch preferReturn(r) {
	case "minimal":
		w.WriteHeader(res.status)
	case "OperationOutcome":
		writeResource(w, r, res.status, outcome.Resource(outcome.Issue{Severity: "information", Code: "informational", Diagnostics: writtenNote(res.note, v)}))
	default:
		writeJSON(w, r, res.status, v.Body)
	}
}

// writtenNote is a write's OperationOutcome text (Prefer:
// return=OperationOutcome): its note, else that v was written; "" when
// there is neither.
func writtenNote(note string, v *store.Version) string {
	if note != "" || v == nil {
		return note
	}
	return v.Type + "/" + v.ID + " was written as version " + strconv.FormatInt(v.VersionID, 10) + "."
}

// publicBase is the absolute base URL for links and fullUrls.
func (s *Server) publicBase(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.cfg.Base
}

// handlePostOperation: POST [base]/[type]/$operation.
func (s *Server) handlePostOperation(w http.ResponseWriter, r *http.Request) error {
	typ, err := pathType(r)
	if err != nil {
		return err
	}
	if op := r.PathValue("id"); strings.HasPrefix(op, "$") {
		return s.handleTypeOperation(w, r, typ, op)
	}
	w.Header().Set("Allow", "GET, HEAD, PUT, PATCH, DELETE")
	return outcome.New(http.StatusMethodNotAllowed, "not-supported",
		"POST %s is not an interaction: create with POST [base]/%s, update with PUT.", r.URL.Path, typ)
}

// handlePostInstanceOperation: POST [base]/[type]/[id]/$operation.
func (s *Server) handlePostInstanceOperation(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := pathTypeID(r)
	if err != nil {
		return err
	}
	op := r.PathValue("rtype")
	if !strings.HasPrefix(op, "$") {
		w.Header().Set("Allow", "GET, HEAD")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported", "POST %s is not an interaction.", r.URL.Path)
	}
	return s.handleInstanceOperation(w, r, typ, id, op)
}

// serveRead answers GET (and HEAD) [base]/[type]/[id], the most frequent
// request, without the mux: matching its patterns cost a read ~2 µs of CPU
// and five allocations (docs/decisions/018-reads-audit-file.md). It takes
// only paths the mux would send to handleRead unchanged: plain (unescaped)
// paths of exactly two segments, the type starting with a capital letter,
// the id not an operation, _history or a dot segment. Anything else goes
// to the mux. read is handleRead behind the adapter, as the mux has it.
func (s *Server) serveRead(w http.ResponseWriter, r *http.Request, read http.Handler) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || r.URL.RawPath != "" {
		return false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, s.cfg.Base+"/")
	if !ok {
		return false
	}
	typ, id, ok := strings.Cut(rest, "/")
	if !ok || typ == "" || typ[0] < 'A' || typ[0] > 'Z' || id == "" || id[0] == '$' || id[0] == '.' || id == "_history" || strings.IndexByte(id, '/') >= 0 {
		return false
	}
	r.SetPathValue("type", typ)
	r.SetPathValue("id", id)
	read.ServeHTTP(w, r)
	return true
}

// handleRead: GET [base]/[type]/[id].
func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) error {
	if op := r.PathValue("id"); strings.HasPrefix(op, "$") {
		typ, err := pathType(r)
		if err != nil {
			return err
		}
		return s.handleTypeOperation(w, r, typ, op)
	}
	typ, id, err := pathTypeID(r)
	if err != nil {
		return err
	}
	if err := checkFormat(r); err != nil {
		return err
	}
	if err := s.guard(r.Context(), r, access.Read, typ, id); err != nil {
		return err
	}
	v, err := s.deps.Store.Read(r.Context(), typ, id)
	if err != nil {
		return readError(err, v, typ, id, 0)
	}
	return s.writeVersion(w, r, v)
}

// handleVRead: GET [base]/[type]/[id]/_history/[vid].
func (s *Server) handleVRead(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := pathTypeID(r)
	if err != nil {
		return err
	}
	if err := checkFormat(r); err != nil {
		return err
	}
	vid, err := strconv.ParseInt(r.PathValue("vid"), 10, 64)
	if err != nil || vid < 1 {
		return outcome.BadRequest("%q is not a version id; versions are numbered 1, 2, 3 ...", r.PathValue("vid"))
	}
	if err := s.guard(r.Context(), r, access.Read, typ, id); err != nil {
		return err
	}
	v, err := s.deps.Store.VRead(r.Context(), typ, id, vid)
	if err != nil {
		return readError(err, v, typ, id, vid)
	}
	return s.writeVersion(w, r, v)
}

func readError(err error, v *store.Version, typ, id string, vid int64) error {
	what := typ + "/" + id
	if vid > 0 {
		what += "/_history/" + strconv.FormatInt(vid, 10)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outcome.NotFound("%s is not known to this server.", what)
	case errors.Is(err, store.ErrGone):
		oe := outcome.Gone("%s was deleted", what)
		if v != nil {
			oe.Issues[0].Diagnostics += " (version " + strconv.FormatInt(v.VersionID, 10) + ", " + formatInstant(v.LastUpdated) + ")"
		}
		oe.Issues[0].Diagnostics += "; its history is still available at " + typ + "/" + id + "/_history."
		return oe
	}
	return err
}

// writeVersion answers a read, honouring If-None-Match, If-Modified-Since,
// _summary, _elements and _pretty. A plain read writes the stored bytes as
// they are, in one Write.
func (s *Server) writeVersion(w http.ResponseWriter, r *http.Request, v *store.Version) error {
	if notModified(r, v) {
		setVersionHeaders(w, v.VersionID, v.LastUpdated)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	var shape shape
	if r.URL.RawQuery != "" {
		var err error
		if shape, err = parseShape(r.URL.Query()); err != nil {
			return err
		}
	}
	if shape.none() && queryGet(r, "_pretty") != "true" {
		writeStored(w, r, v)
		return nil
	}
	setVersionHeaders(w, v.VersionID, v.LastUpdated)
	if shape.none() {
		writeJSON(w, r, http.StatusOK, v.Body)
		return nil
	}
	res, err := decodeStored(v.Body)
	if err != nil {
		return err
	}
	writeResource(w, r, http.StatusOK, shape.apply(res))
	return nil
}

// notModified reports whether the client's If-None-Match or
// If-Modified-Since says it has version v already.
func notModified(r *http.Request, v *store.Version) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if n, err := parseETag(inm); err == nil && n == v.VersionID {
			return true
		}
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !v.LastUpdated.Truncate(1e9).After(t) {
			return true
		}
	}
	return false
}

// queryFromForm merges a POST _search form body into the URL parameters.
func (s *Server) searchParams(r *http.Request) (url.Values, error) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/x-www-form-urlencoded" && !startsWith(ct, "application/x-www-form-urlencoded;") {
			return nil, outcome.New(http.StatusUnsupportedMediaType, "not-supported",
				"POST _search takes its parameters as application/x-www-form-urlencoded, not %s.", ct)
		}
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			return nil, outcome.BadRequest("The _search form body could not be read: %v", err)
		}
		for k, vs := range r.PostForm {
			q[k] = append(q[k], vs...)
		}
	}
	q.Del("_format")
	q.Del("_pretty")
	return q, nil
}

func startsWith(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
