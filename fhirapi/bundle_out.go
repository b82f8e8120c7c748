package fhirapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
)

// bundleWriter assembles a Bundle's JSON around stored resource bytes
// without decoding them.
type bundleWriter struct {
	b       bytes.Buffer
	entries int
}

func newBundle(typ string, total int, links [][2]string) *bundleWriter {
	bw := &bundleWriter{}
	bw.b.WriteString(`{"resourceType":"Bundle","id":"`)
	bw.b.WriteString(newID())
	bw.b.WriteString(`","meta":{"lastUpdated":"`)
	bw.b.WriteString(formatInstant(time.Now()))
	bw.b.WriteString(`"},"type":"`)
	bw.b.WriteString(typ)
	bw.b.WriteByte('"')
	if total >= 0 {
		bw.b.WriteString(`,"total":`)
		bw.b.WriteString(strconv.Itoa(total))
	}
	if len(links) > 0 {
		bw.b.WriteString(`,"link":[`)
		for i, l := range links {
			if i > 0 {
				bw.b.WriteByte(',')
			}
			bw.b.WriteString(`{"relation":`)
			writeString(&bw.b, l[0])
			bw.b.WriteString(`,"url":`)
			writeString(&bw.b, l[1])
			bw.b.WriteByte('}')
		}
		bw.b.WriteByte(']')
	}
	bw.b.WriteString(`,"entry":[`)
	return bw
}

// entry adds one entry; resource is raw JSON (may be nil), the other parts
// are marshalled.
func (bw *bundleWriter) entry(fullURL string, resource []byte, parts map[string]any) {
	if bw.entries > 0 {
		bw.b.WriteByte(',')
	}
	bw.entries++
	bw.b.WriteByte('{')
	sep := false
	if fullURL != "" {
		bw.b.WriteString(`"fullUrl":`)
		writeString(&bw.b, fullURL)
		sep = true
	}
	if resource != nil {
		if sep {
			bw.b.WriteByte(',')
		}
		bw.b.WriteString(`"resource":`)
		bw.b.Write(resource)
		sep = true
	}
	for _, k := range []string{"search", "request", "response"} {
		v, ok := parts[k]
		if !ok {
			continue
		}
		if sep {
			bw.b.WriteByte(',')
		}
		writeString(&bw.b, k)
		bw.b.WriteByte(':')
		data, _ := marshal(v)
		bw.b.Write(data)
		sep = true
	}
	bw.b.WriteByte('}')
}

func (bw *bundleWriter) finish() []byte {
	if bw.entries == 0 {
		// FHIR forbids empty arrays: drop `,"entry":[`.
		out := bw.b.Bytes()
		out = out[:len(out)-len(`,"entry":[`)]
		return append(out, '}')
	}
	bw.b.WriteString("]}")
	return bw.b.Bytes()
}

func writeString(b *bytes.Buffer, s string) {
	data, _ := json.Marshal(s)
	b.Write(data)
}

// handleTypeSearch: GET [base]/[type]?params and POST [base]/[type]/_search.
func (s *Server) handleTypeSearch(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("type") == "$audit" && r.Method == http.MethodGet {
		return s.handleAudit(w, r)
	}
	typ, err := pathType(r)
	if err != nil {
		return err
	}
	return s.search(w, r, typ)
}

// handleSystemSearch: GET [base]?_type=...&params.
func (s *Server) handleSystemSearch(w http.ResponseWriter, r *http.Request) error {
	return s.search(w, r, "")
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, typ string) error {
	selfPath := s.publicBase(r)
	if typ != "" {
		selfPath += "/" + typ
	}
	return s.searchWith(w, r, typ, nil, selfPath)
}

// searchWith runs a search whose query modify may narrow (compartments),
// linking pages at selfPath.
func (s *Server) searchWith(w http.ResponseWriter, r *http.Request, typ string, modify func(*store.Query), selfPath string) error {
	if err := checkFormat(r); err != nil {
		return err
	}
	params, err := s.searchParams(r)
	if err != nil {
		return err
	}
	req, err := search.Parse(typ, params, s.searchOptions(r))
	if err != nil {
		return err
	}
	if err := s.guard(r.Context(), r, access.Search, typ, ""); err != nil {
		return err
	}
	shape, err := parseShape(params)
	if err != nil {
		return err
	}
	if modify != nil {
		modify(req.Query)
	}
	ctx, cancel := contextWithTimeout(r, s.cfg.QueryTimeout)
	defer cancel()
	res, err := s.deps.Store.Search(ctx, req.Query)
	if c := params.Get("_cursor"); errors.Is(err, store.ErrInvalid) && c != "" {
		// the store's "bad cursor": say which parameter and what to do
		return outcome.BadRequest("_cursor %q is not a cursor this server issued for this search (same parameters and _sort); follow the Bundle's next link.", c).At("_cursor")
	}
	if err != nil {
		return err
	}
	base := s.publicBase(r)
	links := pageLinks(selfPath, req.Self, params.Get("_cursor"), req.Query.Offset, res.NextCursor, res.PrevCursor)
	bw := newBundle("searchset", res.Total, links)
	for _, v := range res.Matches {
		body, err := shapeBody(v.Body, shape)
		if err != nil {
			return err
		}
		bw.entry(base+"/"+v.Type+"/"+v.ID, body, map[string]any{"search": map[string]any{"mode": "match"}})
	}
	for _, v := range res.Included {
		body, err := shapeBody(v.Body, shape)
		if err != nil {
			return err
		}
		bw.entry(base+"/"+v.Type+"/"+v.ID, body, map[string]any{"search": map[string]any{"mode": "include"}})
	}
	if len(req.Ignored) > 0 {
		var issues []outcome.Issue
		for _, why := range req.Ignored {
			issues = append(issues, outcome.Issue{Severity: "warning", Code: "not-supported", Diagnostics: "Ignored: " + why})
		}
		body, _ := marshal(outcome.Resource(issues...))
		bw.entry("", body, map[string]any{"search": map[string]any{"mode": "outcome"}})
	}
	writeJSON(w, r, http.StatusOK, bw.finish())
	return nil
}

// pageLinks are a search page's links. self names this page: the
// parameters the search used with the cursor (or the _offset) that led to
// it. next and previous go on with the store's keyset cursors (after the
// page's last match, before its first), so rows written or deleted
// meanwhile neither repeat nor go missing in either direction.
func pageLinks(path string, params url.Values, cursor string, offset int, nextCursor, prevCursor string) [][2]string {
	self := cloneValues(params)
	if cursor != "" {
		self.Set("_cursor", cursor)
	} else if offset > 0 {
		self.Set("_offset", strconv.Itoa(offset))
	}
	links := [][2]string{{"self", path + "?" + self.Encode()}}
	for _, l := range [][2]string{{"next", nextCursor}, {"previous", prevCursor}} {
		if l[1] != "" {
			u := cloneValues(params)
			u.Set("_cursor", l[1])
			links = append(links, [2]string{l[0], path + "?" + u.Encode()})
		}
	}
	return links
}

func shapeBody(body []byte, sh shape) ([]byte, error) {
	if sh.none() {
		return body, nil
	}
	res, err := decodeStored(body)
	if err != nil {
		return nil, err
	}
	return marshal(sh.apply(res))
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// handleHistory: GET [base]/_history, [base]/[type]/_history and
// [base]/[type]/[id]/_history.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) error {
	if err := checkFormat(r); err != nil {
		return err
	}
	var hq store.HistoryQuery
	if t := r.PathValue("type"); t != "" {
		if !isKnownType(t) {
			return unknownType(t)
		}
		hq.Type = t
	}
	if id := r.PathValue("id"); id != "" {
		if !search.ValidID(id) {
			return outcome.BadRequest("%q is not a valid resource id.", id)
		}
		hq.ID = id
	}
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "_count", "_since", "_at", "_cursor", "_format", "_pretty":
		default:
			if preferHandling(r) == "strict" {
				return outcome.BadRequest("History takes only _count, _since and _at; %q is not one of them.", k).At(k)
			}
			// lenient: ignored, and so not in the links, which name
			// what the page was made of
			delete(q, k)
		}
	}
	if v := q.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return outcome.BadRequest("_count must be a positive whole number, not %q", v).At("_count")
		}
		hq.Count = min(n, s.cfg.MaxCount)
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"_since", &hq.Since}, {"_at", &hq.At}} {
		if v := q.Get(p.name); v != "" {
			lo, hi, err := search.DateRange(v, s.cfg.Zone)
			if err != nil {
				return outcome.BadRequest("%s: %v", p.name, err).At(p.name)
			}
			if p.name == "_at" {
				// The versions current at the end of the period given: the
				// store answers for an instant, not a period.
				lo = hi
			}
			*p.dst = time.UnixMicro(lo).UTC()
		}
	}
	hq.Cursor = q.Get("_cursor")
	if err := s.guard(r.Context(), r, access.History, hq.Type, hq.ID); err != nil {
		return err
	}
	page, err := s.deps.Store.History(r.Context(), hq)
	if errors.Is(err, store.ErrNotFound) && hq.ID != "" {
		return outcome.NotFound("%s/%s is not known to this server.", hq.Type, hq.ID)
	}
	if err != nil {
		return err
	}
	base := s.publicBase(r)
	// q keeps its _cursor: self names this page.
	links := pageLinks(base+r.URL.Path[len(s.cfg.Base):], q, "", 0, page.NextCursor, "")
	writeJSON(w, r, http.StatusOK, historyBundle(base, page, links))
	return nil
}

// historyBundle renders a history page.
func historyBundle(base string, page *store.HistoryPage, links [][2]string) []byte {
	bw := newBundle("history", page.Total, links)
	for _, v := range page.Versions {
		status := "200 OK"
		urlPath := v.Type + "/" + v.ID
		switch {
		case v.Method == http.MethodPost:
			status, urlPath = "201 Created", v.Type
		case v.Method == http.MethodDelete:
			status = "204 No Content"
		case v.VersionID == 1:
			status = "201 Created" // update as create
		}
		parts := map[string]any{
			"request": map[string]any{"method": v.Method, "url": urlPath},
			"response": map[string]any{
				"status": status, "etag": etag(v.VersionID), "lastModified": formatInstant(v.LastUpdated),
			},
		}
		var body []byte
		if !v.Deleted {
			body = v.Body
		}
		bw.entry(base+"/"+v.Type+"/"+v.ID, body, parts)
	}
	return bw.finish()
}
