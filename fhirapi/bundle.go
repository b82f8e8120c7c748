package fhirapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
)

// handleBundle: POST [base] with a batch or transaction Bundle.
func (s *Server) handleBundle(w http.ResponseWriter, r *http.Request) error {
	if err := checkFormat(r); err != nil {
		return err
	}
	// The slot covers the Bundle's preparation, from decoding to the
	// stored bytes; it is given back before the transaction begins.
	b, sl, err := s.readBundleBody(r)
	if err != nil {
		return err
	}
	defer sl.release()
	if b["resourceType"] != "Bundle" {
		return outcome.BadRequest("POST to the base URL takes a Bundle of type batch or transaction, not a %v. To create a resource, POST it to [base]/%v.", b["resourceType"], b["resourceType"]).At("resourceType")
	}
	typ, _ := b["type"].(string)
	if typ != "batch" && typ != "transaction" {
		return outcome.BadRequest("Bundle.type must be batch or transaction to be processed, not %q.", typ).At("Bundle.type")
	}
	rawEntries, _ := b["entry"].([]any)
	if len(rawEntries) > s.cfg.MaxBundleEntries {
		return outcome.New(http.StatusRequestEntityTooLarge, "too-long", "The Bundle has %d entries; the limit is %d. Split it.", len(rawEntries), s.cfg.MaxBundleEntries)
	}
	ops := make([]*op, len(rawEntries))
	base := s.publicBase(r)
	for i, raw := range rawEntries {
		o, err := s.parseEntry(i, raw, base)
		if err != nil {
			if typ == "transaction" {
				return err
			}
			// A batch answers this entry with its error and goes on.
			ops[i] = &op{path: fmt.Sprintf("Bundle.entry[%d]", i), method: "invalid", prepErr: err}
			continue
		}
		ops[i] = o
	}
	if typ == "transaction" {
		return s.transaction(w, r, ops, sl)
	}
	sl.release() // a batch's entries are admitted one by one
	return s.batch(w, r, ops)
}

// parseEntry turns Bundle.entry[i] into an op. base is the server's
// public base URL: an absolute request.url must start with it.
func (s *Server) parseEntry(i int, raw any, base string) (*op, error) {
	path := fmt.Sprintf("Bundle.entry[%d]", i)
	e, ok := raw.(map[string]any)
	if !ok {
		return nil, outcome.BadRequest("%s is not an object.", path).At(path)
	}
	req, _ := e["request"].(map[string]any)
	if req == nil {
		return nil, outcome.BadRequest("%s has no request; every entry of a batch or transaction says what to do (request.method and request.url).", path).At(path + ".request")
	}
	method, _ := req["method"].(string)
	rawURL, _ := req["url"].(string)
	if rawURL == "" {
		return nil, outcome.BadRequest("%s.request.url is missing.", path).At(path + ".request.url")
	}
	o := &op{method: method, path: path}
	o.fullURL, _ = e["fullUrl"].(string)
	o.ifMatch, _ = req["ifMatch"].(string)
	o.ifNoneExist, _ = req["ifNoneExist"].(string)
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, outcome.BadRequest("%s.request.url %q is not a URL: %v", path, rawURL, err).At(path + ".request.url")
	}
	p := u.Path
	if u.IsAbs() {
		// An absolute URL must point at this server's base: entries are
		// interactions with this server (R4 http.html#transaction).
		if !strings.HasPrefix(rawURL, base+"/") && rawURL != base {
			return nil, outcome.BadRequest("%s.request.url %q is not on this server (%s); use a URL relative to the base, such as Patient/123.", path, rawURL, base).At(path + ".request.url")
		}
		p = strings.TrimPrefix(strings.SplitN(rawURL[len(base):], "?", 2)[0], "/")
	}
	p = strings.Trim(p, "/")
	o.query = u.Query()
	parts := strings.Split(p, "/")
	if p == "" {
		parts = nil
	}
	badURL := func(why string) error {
		return outcome.BadRequest("%s.request.url %q: %s", path, rawURL, why).At(path + ".request.url")
	}
	for _, part := range parts {
		if strings.HasPrefix(part, "$") {
			return nil, outcome.NotSupported("%s.request.url %q: operations inside a batch or transaction are not supported; call the operation directly.", path, rawURL)
		}
	}
	if method == http.MethodGet || method == http.MethodHead {
		if err := parseGetEntry(o, parts); err != nil {
			return nil, badURL(err.Error())
		}
	} else {
		if len(parts) > 0 {
			o.typ = parts[0]
			if !isKnownType(o.typ) {
				return nil, badURL(unknownType(o.typ).Error())
			}
		}
		if len(parts) > 1 {
			o.id = parts[1]
			if !search.ValidID(o.id) {
				return nil, badURL(fmt.Sprintf("%q is not a valid id.", o.id))
			}
		}
		if len(parts) > 2 {
			return nil, badURL(fmt.Sprintf("a %s entry names Type, Type/id or Type?criteria.", method))
		}
	}
	res, _ := e["resource"].(map[string]any)
	switch method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		if len(parts) != 1 {
			return nil, outcome.BadRequest("%s: a POST (create) entry's request.url is the resource type alone, not %q.", path, rawURL).At(path + ".request.url")
		}
		if res == nil {
			return nil, outcome.BadRequest("%s: a POST entry needs a resource.", path).At(path + ".resource")
		}
		o.resource = res
	case http.MethodPut:
		if res == nil {
			return nil, outcome.BadRequest("%s: a PUT entry needs a resource.", path).At(path + ".resource")
		}
		o.resource = res
		if err := s.idOrCriteria(o, parts, rawURL); err != nil {
			return nil, err
		}
	case http.MethodDelete:
		if err := s.idOrCriteria(o, parts, rawURL); err != nil {
			return nil, err
		}
	case http.MethodPatch:
		if err := s.idOrCriteria(o, parts, rawURL); err != nil {
			return nil, err
		}
		bin := res
		if bin == nil || bin["resourceType"] != "Binary" {
			return nil, outcome.BadRequest("%s: a PATCH entry carries its JSON Patch as a Binary resource (contentType application/json-patch+json, data base64).", path).At(path + ".resource")
		}
		if ct, _ := bin["contentType"].(string); ct != "application/json-patch+json" {
			return nil, outcome.BadRequest("%s: only JSON Patch (contentType application/json-patch+json) is supported, not %q.", path, ct).At(path + ".resource.contentType")
		}
		data, _ := bin["data"].(string)
		patch, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return nil, outcome.BadRequest("%s: Binary.data is not base64: %v", path, err).At(path + ".resource.data")
		}
		o.patch = patch
	default:
		return nil, outcome.BadRequest("%s.request.method must be GET, HEAD, POST, PUT, PATCH or DELETE, not %q.", path, method).At(path + ".request.method")
	}
	return o, nil
}

// getKind is what a GET entry reads.
type getKind int

const (
	getSearch getKind = iota
	getRead
	getVRead
	getHistory // instance, type or system history, by typ and id
	getCompartment
)

// parseGetEntry reads the path of a GET entry: Type[?q], Type/_search,
// ?_type=..., Type/id, Type/id/_history[/vid], Type/_history, _history,
// Compartment/id/Type.
func parseGetEntry(o *op, parts []string) error {
	known := func(t string) error {
		if !isKnownType(t) {
			return unknownType(t)
		}
		return nil
	}
	validID := func(id string) error {
		if !search.ValidID(id) {
			return fmt.Errorf("%q is not a valid id", id)
		}
		return nil
	}
	switch {
	case len(parts) == 0:
		o.get = getSearch // system search (?_type=...)
		return nil
	case len(parts) == 1 && parts[0] == "_history":
		o.get = getHistory
		return nil
	}
	o.typ = parts[0]
	if err := known(o.typ); err != nil {
		return err
	}
	switch {
	case len(parts) == 1:
		o.get = getSearch
	case len(parts) == 2 && parts[1] == "_search":
		o.get = getSearch
	case len(parts) == 2 && parts[1] == "_history":
		o.get = getHistory
	case len(parts) == 2:
		o.get, o.id = getRead, parts[1]
		return validID(o.id)
	case len(parts) == 3 && parts[2] == "_history":
		o.get, o.id = getHistory, parts[1]
		return validID(o.id)
	case len(parts) == 3:
		o.get, o.id, o.ctype = getCompartment, parts[1], parts[2]
		if err := validID(o.id); err != nil {
			return err
		}
		return known(o.ctype)
	case len(parts) == 4 && parts[2] == "_history":
		o.get, o.id = getVRead, parts[1]
		vid, err := strconv.ParseInt(parts[3], 10, 64)
		if err != nil || vid < 1 {
			return fmt.Errorf("bad version %q", parts[3])
		}
		o.vid = vid
		return validID(o.id)
	default:
		return fmt.Errorf("not a FHIR read, search or history URL")
	}
	return nil
}

func (s *Server) idOrCriteria(o *op, parts []string, rawURL string) error {
	switch {
	case len(parts) == 2 && len(o.query) == 0:
		return nil
	case len(parts) == 1 && len(o.query) > 0:
		o.conditional = true
		return nil
	}
	return outcome.BadRequest("%s: a %s entry's request.url is Type/id or Type?criteria, not %q.", o.path, o.method, rawURL).At(o.path + ".request.url")
}

func actionOf(o *op) access.Action {
	switch o.method {
	case http.MethodPost:
		return access.Create
	case http.MethodPut, http.MethodPatch:
		return access.Update
	case http.MethodDelete:
		return access.Delete
	}
	if o.id == "" || o.id == "_search" {
		return access.Search
	}
	return access.Read
}

// order is the processing order the specification prescribes for a
// transaction: DELETE, POST, PUT and PATCH, then GET and HEAD.
func order(o *op) int {
	switch o.method {
	case http.MethodDelete:
		return 0
	case http.MethodPost:
		return 1
	case http.MethodPut, http.MethodPatch:
		return 2
	}
	return 3
}

// transaction runs all entries as one database transaction: all or nothing.
// sl is the preparation slot the request holds; it is released before
// the transaction begins.
func (s *Server) transaction(w http.ResponseWriter, r *http.Request, ops []*op, sl *slot) error {
	ctx := r.Context()
	for _, o := range ops {
		if err := s.guard(ctx, r, actionOf(o), o.typ, o.id); err != nil {
			return err
		}
	}
	// Identities: every fullUrl an entry creates or updates is known before
	// the transaction starts, except those of conditional entries, which
	// get a tentative id now and may be remapped inside it.
	refs := map[string]string{} // fullUrl -> Type/id
	for _, o := range ops {
		if o.fullURL != "" {
			if _, dup := refs[o.fullURL]; dup {
				return outcome.BadRequest("%s.fullUrl %q appears in more than one entry.", o.path, o.fullURL).At(o.path + ".fullUrl")
			}
		}
		switch o.method {
		case http.MethodPost:
			o.id, o.newID = newID(), true
		case http.MethodPut:
			if o.conditional {
				if bodyID, _ := o.resource["id"].(string); bodyID != "" {
					o.id = bodyID
				} else {
					o.id, o.newID = newID(), true
				}
			}
		default:
			continue
		}
		if o.fullURL != "" {
			refs[o.fullURL] = o.typ + "/" + o.id
		}
	}
	now := s.deps.Now().UTC().Truncate(1000)
	conditionalRefs := false
	for _, o := range ops {
		if o.resource == nil {
			continue
		}
		if o.method == http.MethodPost {
			o.resource["id"] = o.id
		}
		if o.method == http.MethodPut && o.conditional {
			o.resource["id"] = o.id
		}
		found, err := rewriteRefs(o, refs)
		if err != nil {
			return err
		}
		conditionalRefs = conditionalRefs || found
		if err := s.prepareEntry(ctx, o); err != nil {
			return err
		}
		if err := s.premarshal(o, now); err != nil {
			return err
		}
	}
	sorted := make([]*op, len(ops))
	copy(sorted, ops)
	sort.SliceStable(sorted, func(i, j int) bool { return order(sorted[i]) < order(sorted[j]) })
	sl.release()

	results := make(map[*op]*entryResult, len(ops))
	err := s.inTx(ctx, func(tx store.Tx) error {
		// Conditional creates that find a match take the existing id; the
		// references to them must follow before anything is written.
		remap := map[string]string{}
		for _, o := range sorted {
			if o.method == http.MethodPost && o.ifNoneExist != "" {
				existing, err := s.existingFor(ctx, tx, o)
				if err != nil {
					return err
				}
				if existing != nil {
					o.existing = existing
					remap[o.typ+"/"+o.id] = o.typ + "/" + existing.ID
					o.id = existing.ID
				}
			}
		}
		if len(remap) > 0 || conditionalRefs {
			for _, o := range ops {
				if o.resource == nil || o.existing != nil {
					continue
				}
				changed, err := s.resolveConditionalRefs(ctx, tx, o, remap)
				if err != nil {
					return err
				}
				if changed {
					o.body = nil // marshalled before the references changed
					if err := s.reindex(o); err != nil {
						return err
					}
				}
			}
		}
		touched := map[string]string{}
		for _, o := range sorted {
			if o.existing != nil {
				results[o] = &entryResult{res: &result{status: http.StatusOK, version: o.existing}}
				continue
			}
			if o.method == http.MethodGet || o.method == http.MethodHead {
				results[o] = s.readEntry(ctx, tx, r, o)
				if results[o].err != nil && transactionFatalGet(results[o].err) {
					return results[o].err
				}
				continue
			}
			res, err := s.execWrite(ctx, tx, o, now)
			if err == nil && o.id != "" {
				// R4 http.html#trules: if resource identities overlap, the
				// transaction fails (a create-then-delete of one resource
				// has no defined order).
				key := o.typ + "/" + o.id
				if prev, dup := touched[key]; dup {
					return outcome.BadRequest("%s and %s both change %s; a transaction may change each resource only once.", prev, o.path, key)
				}
				touched[key] = o.path
			}
			if err != nil {
				if errors.Is(err, store.ErrConflict) {
					return outcome.Conflict("%s: %s/%s was changed by another request at the same time; retry the transaction.", o.path, o.typ, o.id)
				}
				if oe := outcome.As(err); oe != nil && !strings.HasPrefix(oe.Error(), o.path) {
					for i := range oe.Issues {
						oe.Issues[i].Diagnostics = o.path + ": " + oe.Issues[i].Diagnostics
					}
				}
				return err
			}
			results[o] = &entryResult{res: res}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.writeBundleResponse(w, r, "transaction-response", ops, results)
}

// transactionFatalGet: a read inside a transaction that fails for a reason
// other than "not there" fails the transaction.
func transactionFatalGet(err error) bool {
	oe := outcome.As(err)
	return oe == nil || oe.Status >= 500
}

type entryResult struct {
	res  *result
	body []byte // for GET entries: the answer's JSON
	err  error
}

// prepareEntry validates and indexes an entry that carries a resource;
// the caller holds a preparation slot.
func (s *Server) prepareEntry(ctx context.Context, o *op) error {
	if o.method == http.MethodPatch {
		return nil
	}
	return s.prepareAdmitted(ctx, o)
}

// batch runs each entry on its own; one failing does not affect the others.
func (s *Server) batch(w http.ResponseWriter, r *http.Request, ops []*op) error {
	ctx := r.Context()
	results := make(map[*op]*entryResult, len(ops))
	for _, o := range ops {
		results[o] = s.batchEntry(ctx, r, o)
	}
	return s.writeBundleResponse(w, r, "batch-response", ops, results)
}

func (s *Server) batchEntry(ctx context.Context, r *http.Request, o *op) *entryResult {
	if o.prepErr != nil {
		return &entryResult{err: o.prepErr}
	}
	if err := s.guard(ctx, r, actionOf(o), o.typ, o.id); err != nil {
		return &entryResult{err: err}
	}
	if o.method == http.MethodGet || o.method == http.MethodHead {
		return s.readEntry(ctx, s.deps.Store, r, o)
	}
	if err := s.prepareBatchEntry(ctx, o); err != nil {
		return &entryResult{err: err}
	}
	now := s.deps.Now().UTC().Truncate(1000)
	var res *result
	err := s.inTx(ctx, func(tx store.Tx) error {
		if o.resource != nil {
			changed, err := s.resolveConditionalRefs(ctx, tx, o, nil)
			if err != nil {
				return err
			}
			if changed {
				if err := s.reindex(o); err != nil {
					return err
				}
			}
		}
		var err error
		res, err = s.execWrite(ctx, tx, o, now)
		return err
	})
	if err != nil {
		return &entryResult{err: err}
	}
	return &entryResult{res: res}
}

// prepareBatchEntry rewrites and prepares a batch entry in a slot of its
// own, given back however it ends: a panic (which adapt recovers, the
// server serving on) must not keep it, or every later write waits.
func (s *Server) prepareBatchEntry(ctx context.Context, o *op) error {
	sl, err := s.admitted(ctx)
	if err != nil {
		return err
	}
	defer sl.release()
	if o.resource != nil {
		if _, err := rewriteRefs(o, nil); err != nil {
			return err
		}
	}
	return s.prepareEntry(ctx, o)
}

// readEntry answers a GET entry: read, vread, search, compartment search
// or history.
func (s *Server) readEntry(ctx context.Context, rd store.Reader, r *http.Request, o *op) *entryResult {
	base := s.publicBase(r)
	var v *store.Version
	var err error
	switch o.get {
	case getSearch, getCompartment:
		typ := o.typ
		var extra store.Clause
		if o.get == getCompartment {
			var ok bool
			if extra, ok = compartmentClause(o.typ, o.id, o.ctype); !ok {
				return &entryResult{err: outcome.BadRequest("%s: %s resources are not in the %s compartment.", o.path, o.ctype, o.typ)}
			}
			typ = o.ctype
		}
		req, err := search.Parse(typ, o.query, s.searchOptions(r))
		if err != nil {
			return &entryResult{err: err}
		}
		if extra != nil {
			req.Query.Where = append(req.Query.Where, extra)
		}
		sctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
		defer cancel()
		res, err := rd.Search(sctx, req.Query)
		if err != nil {
			return &entryResult{err: err}
		}
		bw := newBundle("searchset", res.Total, [][2]string{{"self", base + "/" + typ + "?" + req.Self.Encode()}})
		for _, m := range res.Matches {
			bw.entry(base+"/"+m.Type+"/"+m.ID, m.Body, map[string]any{"search": map[string]any{"mode": "match"}})
		}
		for _, m := range res.Included {
			bw.entry(base+"/"+m.Type+"/"+m.ID, m.Body, map[string]any{"search": map[string]any{"mode": "include"}})
		}
		return &entryResult{res: &result{status: http.StatusOK}, body: bw.finish()}
	case getHistory:
		page, err := rd.History(ctx, store.HistoryQuery{Type: o.typ, ID: o.id, Count: s.cfg.DefaultCount})
		if err != nil {
			return &entryResult{err: readError(err, nil, o.typ, o.id, 0)}
		}
		return &entryResult{res: &result{status: http.StatusOK}, body: historyBundle(base, page, nil)}
	case getVRead:
		v, err = rd.VRead(ctx, o.typ, o.id, o.vid)
	default:
		v, err = rd.Read(ctx, o.typ, o.id)
	}
	if err != nil {
		return &entryResult{err: readError(err, v, o.typ, o.id, o.vid)}
	}
	return &entryResult{res: &result{status: http.StatusOK, version: v}, body: v.Body}
}

// rewriteRefs replaces references to fullUrls of the Bundle (urn:uuid:...
// or absolute URLs) with the Type/id they were given, and reports whether
// the resource has conditional references (Type?criteria) to resolve in
// the transaction. A urn: reference that names no entry is an error.
func rewriteRefs(o *op, refs map[string]string) (conditional bool, err error) {
	// The element path is only needed for an error message: it is kept as
	// a stack of steps and spelled out only then (building it as a string
	// at every element was most of this walk's cost on ingest).
	type step struct {
		key string // "" for an array index
		i   int
	}
	var at []step
	path := func() string {
		var b strings.Builder
		b.WriteString(o.typ)
		for _, s := range at {
			if s.key != "" {
				b.WriteString("." + s.key)
			} else {
				b.WriteString("[" + strconv.Itoa(s.i) + "]")
			}
		}
		return b.String()
	}
	var walk func(v any) error
	walk = func(v any) error {
		switch c := v.(type) {
		case map[string]any:
			for k, x := range c {
				if k == "reference" {
					if ref, ok := x.(string); ok {
						if to, ok := refs[ref]; ok {
							c[k] = to
						} else if refs == nil && (strings.HasPrefix(ref, "urn:uuid:") || strings.HasPrefix(ref, "urn:oid:")) {
							// a batch: its entries do not see each other
							return outcome.BadRequest("%s: the reference %q (at %s) is a urn: reference; the entries of a batch stand alone and cannot refer to each other's fullUrl: send the Bundle as a transaction, or refer to Type/id.", o.path, ref, path()).At(o.path + ".resource")
						} else if strings.HasPrefix(ref, "urn:uuid:") || strings.HasPrefix(ref, "urn:oid:") {
							return outcome.BadRequest("%s: the reference %q (at %s) names no entry of this Bundle; a urn: reference must match the fullUrl of an entry.", o.path, ref, path()).At(o.path + ".resource")
						} else if isConditionalRef(ref) {
							conditional = true
						}
						continue
					}
				}
				switch x.(type) {
				case map[string]any, []any:
					at = append(at, step{key: k})
					if err := walk(x); err != nil {
						return err
					}
					at = at[:len(at)-1]
				}
			}
		case []any:
			for i, x := range c {
				switch x.(type) {
				case map[string]any, []any:
					at = append(at, step{i: i})
					if err := walk(x); err != nil {
						return err
					}
					at = at[:len(at)-1]
				}
			}
		}
		return nil
	}
	return conditional, walk(o.resource)
}

func isConditionalRef(ref string) bool {
	i := strings.IndexByte(ref, '?')
	return i > 0 && isKnownType(ref[:i])
}

// resolveConditionalRefs replaces Type?criteria references with Type/id
// (each must match exactly one resource) and applies remap, which maps the
// tentative Type/id of a conditional create to the resource it matched.
func (s *Server) resolveConditionalRefs(ctx context.Context, tx store.Reader, o *op, remap map[string]string) (bool, error) {
	changed := false
	var walk func(v any) error
	walk = func(v any) error {
		switch c := v.(type) {
		case map[string]any:
			for k, x := range c {
				if k == "reference" {
					ref, ok := x.(string)
					if !ok {
						continue
					}
					if to, ok := remap[ref]; ok {
						c[k], changed = to, true
						continue
					}
					if !isConditionalRef(ref) {
						continue
					}
					typ, query, _ := strings.Cut(ref, "?")
					criteria, err := url.ParseQuery(query)
					if err != nil {
						return outcome.BadRequest("%s: the conditional reference %q is not a valid query: %v", o.path, ref, err)
					}
					found, err := s.match(ctx, tx, typ, criteria, o.path+": the conditional reference "+ref)
					if err != nil {
						return err
					}
					if len(found) != 1 {
						what := "no"
						if len(found) > 1 {
							what = "more than one"
						}
						return outcome.PreconditionFailed("%s: the conditional reference %q matches %s %s; it must match exactly one.", o.path, ref, what, typ)
					}
					c[k], changed = typ+"/"+found[0].ID, true
					continue
				}
				if err := walk(x); err != nil {
					return err
				}
			}
		case []any:
			for _, x := range c {
				if err := walk(x); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return changed, walk(o.resource)
}

// writeBundleResponse writes a batch-response or transaction-response with
// one entry per request entry, in the original order.
func (s *Server) writeBundleResponse(w http.ResponseWriter, r *http.Request, typ string, ops []*op, results map[*op]*entryResult) error {
	base := s.publicBase(r)
	bw := newBundle(typ, -1, nil)
	ret := preferReturn(r)
	for _, o := range ops {
		er := results[o]
		if er == nil {
			er = &entryResult{err: outcome.BadRequest("%s was not processed.", o.path)}
		}
		if er.err != nil {
			oe := s.toOutcome(er.err)
			if oe.Status >= 500 {
				s.deps.Logger.Error("batch entry failed", "entry", o.path, "err", er.err)
			}
			body, _ := marshal(oe.Resource())
			bw.entry("", nil, map[string]any{"response": map[string]any{
				"status":  strconv.Itoa(oe.Status) + " " + http.StatusText(oe.Status),
				"outcome": rawJSON(body),
			}})
			continue
		}
		res := er.res
		resp := map[string]any{"status": strconv.Itoa(res.status) + " " + http.StatusText(res.status)}
		var body []byte
		fullURL := ""
		if v := res.version; v != nil {
			resp["etag"] = etag(v.VersionID)
			resp["lastModified"] = formatInstant(v.LastUpdated)
			if o.method != http.MethodGet && o.method != http.MethodHead && !v.Deleted {
				resp["location"] = v.Type + "/" + v.ID + "/_history/" + strconv.FormatInt(v.VersionID, 10)
			}
			fullURL = base + "/" + v.Type + "/" + v.ID
			if !v.Deleted && (o.method == http.MethodGet || ret == "representation") {
				body = v.Body
			}
		} else if er.body != nil {
			body = er.body
		}
		if ret == "OperationOutcome" && o.method != http.MethodGet && o.method != http.MethodHead {
			// Every write entry gets its outcome, as a single write does
			// (writeResult): entries without a note said nothing at all.
			if note := writtenNote(res.note, res.version); note != "" {
				data, _ := marshal(outcome.Resource(outcome.Issue{Severity: "information", Code: "informational", Diagnostics: note}))
				resp["outcome"] = rawJSON(data)
			}
		}
		if o.method == http.MethodHead {
			body = nil
		}
		bw.entry(fullURL, body, map[string]any{"response": resp})
	}
	writeJSON(w, r, http.StatusOK, bw.finish())
	return nil
}

// rawJSON is pre-encoded JSON inside a value marshalled with encoding/json.
type rawJSON []byte

func (j rawJSON) MarshalJSON() ([]byte, error) { return j, nil }
