// Package respond writes the FHIR JSON answers of operations that
// engines serve outside the REST handlers of fhirapi ($resolve-health-card,
// $match, $ihe-pix, $recognition-check, $find, ...), the way fhirapi
// writes its own: the FHIR JSON media type, Content-Length, no body for
// HEAD, and the body indented when the request asks `_pretty=true`.
//
// It depends on the standard library and fhir/fhirjson only; nothing
// above it (store, search, fhirapi, engines) is imported here.
package respond

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/xietong/xietong/fhir/fhirjson"
)

// ContentType is the media type of every FHIR JSON answer.
const ContentType = "application/fhir+json; charset=utf-8"

// ContentTypeHeader is ContentType as a header's value, shared by every
// answer: one allocation less per response. It is shared, so it must
// never be modified or appended to.
var ContentTypeHeader = []string{ContentType}

// Resource writes res (a resource as a JSON tree) with status, its
// elements in definition order (fhirjson.Marshal).
func Resource(w http.ResponseWriter, r *http.Request, status int, res map[string]any) error {
	body, err := fhirjson.Marshal(res)
	if err != nil {
		return err
	}
	return Body(w, r, status, body)
}

// Value writes v encoded by encoding/json (a typed answer whose fields are
// already in the order FHIR wants).
func Value(w http.ResponseWriter, r *http.Request, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return Body(w, r, status, body)
}

// Body writes an encoded FHIR JSON body with status, indented when the
// request has _pretty=true.
func Body(w http.ResponseWriter, r *http.Request, status int, body []byte) error {
	// Most requests have no query: skip parsing one.
	if r != nil && r.URL.RawQuery != "" && r.URL.Query().Get("_pretty") == "true" {
		var b bytes.Buffer
		if json.Indent(&b, body, "", "  ") == nil {
			body = b.Bytes()
		}
	}
	h := w.Header()
	h["Content-Type"] = ContentTypeHeader
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	if r != nil && r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(body)
	return err
}
