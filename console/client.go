package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/fhir/outcome"
)

// obj is a FHIR resource or element as decoded JSON.
type obj = map[string]any

// client calls the node's FHIR API in process, as the console user: the
// request carries the user's principal in its context and "console" as its
// source, so the API's one authorisation point (access.Guard) decides and
// audits every read and write exactly as for an external client. The
// console has no other way to reach data.
type client struct {
	api  http.Handler
	base string // "/fhir"
}

// apiError is an answer of the API other than 2xx: the status and the
// OperationOutcome's first diagnostics, safe to show.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// do sends one request and decodes the JSON answer into a tree (nil for an
// empty body).
func (c *client) do(ctx context.Context, p access.Principal, method, path string, q url.Values, body any) (obj, error) {
	rec, err := c.raw(ctx, p, method, path, q, body)
	if err != nil {
		return nil, err
	}
	return rec.decode(method, path)
}

// raw sends one request and returns the answer as it is (for images).
func (c *client) raw(ctx context.Context, p access.Principal, method, path string, q url.Values, body any) (*recorder, error) {
	return c.rawWith(ctx, p, method, path, q, body, nil)
}

// rawWith is raw with extra request headers (If-Match).
func (c *client) rawWith(ctx context.Context, p access.Principal, method, path string, q url.Values, body any, h http.Header) (*recorder, error) {
	target := c.base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(access.WithPrincipal(ctx, p), method, target, rd)
	if err != nil {
		return nil, err
	}
	req.RemoteAddr = "console"
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	rec := &recorder{header: http.Header{}}
	c.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec, nil
}

// decode reads a JSON answer; a status of 300 or more is an *apiError.
func (rec *recorder) decode(method, path string) (obj, error) {
	status := rec.status
	var res obj
	if rec.body.Len() > 0 && strings.Contains(rec.header.Get("Content-Type"), "json") {
		d := json.NewDecoder(&rec.body)
		d.UseNumber()
		if err := d.Decode(&res); err != nil {
			return nil, fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	if status >= 300 {
		e := &apiError{Status: status, Message: http.StatusText(status)}
		if res != nil && res["resourceType"] == "OperationOutcome" {
			if is := list(res["issue"]); len(is) > 0 {
				i := object(is[0])
				e.Code = str(i["code"])
				if d := str(i["diagnostics"]); d != "" {
					e.Message = d
				}
			}
		}
		return res, e
	}
	return res, nil
}

// get reads path (a search, a read or a GET operation).
func (c *client) get(ctx context.Context, p access.Principal, path string, q url.Values) (obj, error) {
	return c.do(ctx, p, http.MethodGet, path, q, nil)
}

// search runs a search and returns the matched resources (mode "match")
// and the included ones by "Type/id".
func (c *client) search(ctx context.Context, p access.Principal, typ string, q url.Values) (matches []obj, included map[string]obj, total int, err error) {
	b, err := c.get(ctx, p, "/"+typ, q)
	if err != nil {
		return nil, nil, 0, err
	}
	matches, included = entries(b)
	total = -1
	if n, ok := b["total"].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			total = int(v)
		}
	}
	return matches, included, total, nil
}

// count answers how many resources of typ match q (_summary=count).
func (c *client) count(ctx context.Context, p access.Principal, typ string, q url.Values) (int, error) {
	q2 := url.Values{}
	for k, v := range q {
		q2[k] = v
	}
	q2.Set("_summary", "count")
	_, _, n, err := c.search(ctx, p, typ, q2)
	if err == nil && n < 0 {
		err = fmt.Errorf("count %s: the searchset has no total", typ)
	}
	return n, err
}

// entries splits a Bundle into matches and includes (by "Type/id").
func entries(b obj) ([]obj, map[string]obj) {
	var matches []obj
	inc := map[string]obj{}
	for _, e := range list(b["entry"]) {
		eo := object(e)
		r := object(eo["resource"])
		if r == nil {
			continue
		}
		if str(object(eo["search"])["mode"]) == "include" {
			inc[str(r["resourceType"])+"/"+str(r["id"])] = r
			continue
		}
		matches = append(matches, r)
	}
	return matches, inc
}

// recorder is the smallest http.ResponseWriter: the in-process answer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// asOutcome turns an API error into the console's error for the page.
func asOutcome(err error) *outcome.Error {
	if e, ok := err.(*apiError); ok {
		return outcome.New(e.Status, e.Code, "%s", e.Message)
	}
	return nil
}
