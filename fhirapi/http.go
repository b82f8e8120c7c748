package fhirapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xietong/xietong/fhir/model"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhir/respond"
	"github.com/xietong/xietong/store"
)

// fhirJSONHeader is the Content-Type header's value, shared by every
// response (nothing appends to it): one allocation less per request.
var fhirJSONHeader = respond.ContentTypeHeader

// checkAccept answers 406 when the client accepts no JSON flavour and 415
// for _format=xml, which this server does not speak.
func checkFormat(r *http.Request) error {
	if f := queryGet(r, "_format"); f != "" {
		switch f {
		// "application/fhir json": a + left unencoded in a query string.
		case "json", "application/json", "application/fhir+json", "application/json+fhir", "application/fhir json":
		default:
			return outcome.New(http.StatusNotAcceptable, "not-supported",
				"_format=%s is not supported: this server speaks FHIR JSON only (use _format=json or leave it out).", f)
		}
		return nil
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, _ := mime.ParseMediaType(strings.TrimSpace(part))
		if v, ok := params["fhirversion"]; ok && v != "4.0" && v != "4.0.1" {
			continue // another FHIR version: not what this server speaks
		}
		switch mt {
		case "", "*/*", "application/*", "application/json", "application/fhir+json", "application/json+fhir", "text/html", "text/plain":
			return nil
		}
	}
	return outcome.New(http.StatusNotAcceptable, "not-supported",
		"Accept: %s cannot be satisfied: this server answers with application/fhir+json.", accept)
}

// readBody reads a request body of one of the allowed media types,
// enforcing the size limit and undoing Content-Encoding: gzip.
func (s *Server) readBody(r *http.Request, allowed ...string) ([]byte, error) {
	return s.readBodyInto(r, new(bytes.Buffer), allowed...)
}

// bodyPool holds the buffers of request bodies that were only decoded:
// fhirjson.Decode copies what the tree keeps (TestDecodeDoesNotAliasInput),
// so the buffer is free once the body is decoded, and the next body is
// read into memory already faulted in instead of a fresh megabyte that
// bytes.Buffer.Grow zeroes first (~3 % of an ingest's CPU, decision 028).
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody bounds the buffers kept: one huge body must not stay.
const maxPooledBody = 16 << 20

// readResourceBody reads and decodes a resource body (readDecoded).
func (s *Server) readResourceBody(r *http.Request) (map[string]any, error) {
	return s.readDecoded(r, s.decodeResource)
}

// readDecoded reads a resource (or Bundle) body into a buffer from bodyPool
// and decodes it with decode; the buffer goes back to the pool once decode
// returns, so decode must not keep the body.
func (s *Server) readDecoded(r *http.Request, decode func(body []byte) (map[string]any, error)) (map[string]any, error) {
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBody {
			buf.Reset()
			bodyPool.Put(buf)
		}
	}()
	body, err := s.readBodyInto(r, buf, resourceMediaTypes...)
	if err != nil {
		return nil, err
	}
	return decode(body)
}

// readBodyInto is readBody reading into buf.
func (s *Server) readBodyInto(r *http.Request, buf *bytes.Buffer, allowed ...string) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !contains(allowed, mt) {
		if ct == "" {
			ct = "(none)"
		}
		return nil, outcome.New(http.StatusUnsupportedMediaType, "not-supported",
			"Content-Type %s is not accepted here; send %s.", ct, strings.Join(allowed, " or "))
	}
	var body io.Reader = http.MaxBytesReader(nil, r.Body, s.cfg.MaxBodyBytes)
	if enc := r.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		if enc != "gzip" {
			return nil, outcome.New(http.StatusUnsupportedMediaType, "not-supported",
				"Content-Encoding %s is not supported; send the body plain or gzip-compressed.", enc)
		}
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, outcome.BadRequest("The body says Content-Encoding: gzip but is not gzip data: %v", err)
		}
		body = io.LimitReader(zr, s.cfg.MaxBodyBytes+1)
	}
	// Read into a buffer sized by Content-Length: io.ReadAll's doubling
	// costs a transaction-sized body several large allocations and copies.
	if n := r.ContentLength; n > 0 && n <= s.cfg.MaxBodyBytes && r.Header.Get("Content-Encoding") == "" {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err = buf.ReadFrom(body)
	data := buf.Bytes()
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || int64(len(data)) > s.cfg.MaxBodyBytes {
		return nil, outcome.New(http.StatusRequestEntityTooLarge, "too-long",
			"The request body is larger than the limit of %d bytes; split it (for example into several transactions).", s.cfg.MaxBodyBytes)
	}
	if err != nil {
		return nil, outcome.BadRequest("The request body could not be read: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if len(allowed) == 1 && allowed[0] == "application/json-patch+json" {
			return nil, outcome.BadRequest("The request body is empty; a PATCH needs a JSON Patch document (an array of operations).")
		}
		return nil, outcome.BadRequest("The request body is empty; a FHIR resource is required.")
	}
	return data, nil
}

var resourceMediaTypes = []string{"application/fhir+json", "application/json", "application/json+fhir"}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// writeJSON writes a FHIR JSON body (already encoded), as the engines'
// operations write theirs (fhir/respond); a failed write is the client's
// loss, nothing to answer.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	_ = respond.Body(w, r, status, body)
}

// writeBody writes the status and, unless the request is a HEAD, the body.
func writeBody(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// writeStored answers a read with a version's stored bytes as they are,
// setting Content-Type, ETag, Last-Modified and Content-Length.
func writeStored(w http.ResponseWriter, r *http.Request, v *store.Version) {
	h := w.Header()
	h["Content-Type"] = fhirJSONHeader
	versionHeaders(h, v.VersionID, v.LastUpdated, len(v.Body))
	writeBody(w, r, http.StatusOK, v.Body)
}

func writeResource(w http.ResponseWriter, r *http.Request, status int, res map[string]any) {
	body, err := marshal(res)
	if err != nil {
		writeOutcome(w, r, outcome.Internal(err))
		return
	}
	writeJSON(w, r, status, body)
}

func writeOutcome(w http.ResponseWriter, r *http.Request, e *outcome.Error) {
	body, err := marshal(e.Resource())
	if err != nil {
		body = []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"The error message could not be encoded."}]}`)
	}
	writeJSON(w, r, e.Status, body)
}

// setVersionHeaders sets ETag and Last-Modified of a version.
func setVersionHeaders(w http.ResponseWriter, vid int64, lastUpdated time.Time) {
	versionHeaders(w.Header(), vid, lastUpdated, -1)
}

// versionHeaders sets ETag and Last-Modified of a version and, when n is
// not negative, Content-Length: n. Every read by id sets them, so they
// cost two allocations, not six: the values are cut from one string and
// share one slice, each value's capacity capped so that appending to one
// cannot overwrite the next (docs/decisions/023-read-path-cpu.md). Keys
// are assigned canonical, as Set would canonicalise them on every read.
func versionHeaders(h http.Header, vid int64, lastUpdated time.Time, n int) {
	var buf [80]byte
	b := append(buf[:0], `W/"`...)
	b = strconv.AppendInt(b, vid, 10)
	b = append(b, '"')
	e := len(b)
	b = lastUpdated.UTC().AppendFormat(b, http.TimeFormat)
	m := len(b)
	if n >= 0 {
		b = strconv.AppendInt(b, int64(n), 10)
	}
	s := string(b)
	vals := make([]string, 3)
	vals[0], vals[1], vals[2] = s[:e], s[e:m], s[m:]
	h["Etag"] = vals[0:1:1]
	h["Last-Modified"] = vals[1:2:2]
	if n >= 0 {
		h["Content-Length"] = vals[2:3:3]
	}
}

func etag(vid int64) string { return `W/"` + strconv.FormatInt(vid, 10) + `"` }

// parseETag reads W/"3" (or "3") as 3.
func parseETag(s string) (int64, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "W/")
	t = strings.Trim(t, `"`)
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 1 {
		return 0, outcome.BadRequest("If-Match must be a version ETag such as W/\"3\", not %q", s)
	}
	return n, nil
}

// preferReturn is Prefer: return=minimal|representation|OperationOutcome.
func preferReturn(r *http.Request) string {
	return preferValue(r, "return")
}

func preferHandling(r *http.Request) string {
	return preferValue(r, "handling")
}

func preferValue(r *http.Request, key string) string {
	for _, h := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(h, ";") {
			for _, kv := range strings.Split(part, ",") {
				k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
				if ok && strings.EqualFold(k, key) {
					return strings.Trim(strings.TrimSpace(v), `"`)
				}
			}
		}
	}
	return ""
}

func isKnownType(t string) bool { return model.IsResourceType(t) }

func unknownType(t string) *outcome.Error {
	return outcome.NotFound("%q is not a FHIR R4 resource type. Resource types are case-sensitive (Patient, Observation, ...); see [base]/metadata.", t)
}

// gzipMiddleware compresses responses when the client accepts gzip and the
// body is worth compressing.
func gzipMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w}
		defer gw.close()
		next.ServeHTTP(gw, r)
	})
}

var gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed); return w }}

// gzipWriter decides at WriteHeader time: bodies of 1 KiB or more (by
// Content-Length) are compressed.
type gzipWriter struct {
	http.ResponseWriter
	zw      *gzip.Writer
	decided bool
}

func (g *gzipWriter) WriteHeader(status int) {
	if !g.decided {
		g.decided = true
		h := g.Header()
		n, _ := strconv.Atoi(h.Get("Content-Length"))
		h.Add("Vary", "Accept-Encoding")
		if n >= 1024 && status != http.StatusNotModified && status != http.StatusNoContent {
			h.Del("Content-Length")
			h.Set("Content-Encoding", "gzip")
			g.zw = gzipPool.Get().(*gzip.Writer)
			g.zw.Reset(g.ResponseWriter)
		}
	}
	g.ResponseWriter.WriteHeader(status)
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	if !g.decided {
		g.WriteHeader(http.StatusOK)
	}
	if g.zw != nil {
		return g.zw.Write(p)
	}
	return g.ResponseWriter.Write(p)
}

func (g *gzipWriter) close() {
	if g.zw != nil {
		g.zw.Close()
		gzipPool.Put(g.zw)
	}
}

func contextWithTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}

// queryGet is r.URL.Query().Get(key) without parsing (and allocating) when
// the request has no query string, which is the common read.
func queryGet(r *http.Request, key string) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return r.URL.Query().Get(key)
}

// acceptsGzip reads Accept-Encoding, honouring q=0 (RFC 9110 12.5.3). It
// runs on every request, so it cuts the header in place rather than
// splitting it into slices.
func acceptsGzip(h string) bool {
	for rest := h; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if q, err := strconv.ParseFloat(v, 64); err == nil && q == 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}
