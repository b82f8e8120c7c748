package fhirapi

import (
	"net/url"
	"strings"

	"github.com/xietong/xietong/fhir/model"
	"github.com/xietong/xietong/fhir/outcome"
)

// shape is _summary and _elements: which parts of a resource to return.
type shape struct {
	summary  string          // "", true, text, data, false (count is handled by search)
	elements map[string]bool // top-level element names
}

func parseShape(q url.Values) (shape, error) {
	var sh shape
	if v := q.Get("_summary"); v != "" {
		switch v {
		case "true", "text", "data", "false":
			sh.summary = v
		case "count":
			sh.summary = "" // only meaningful for searches
		default:
			return sh, outcome.BadRequest("_summary must be true, text, data, count or false, not %q", v).At("_summary")
		}
	}
	if vs, ok := q["_elements"]; ok {
		sh.elements = map[string]bool{}
		for _, v := range vs {
			for _, e := range strings.Split(v, ",") {
				e = strings.TrimSpace(e)
				if i := strings.IndexByte(e, '.'); i >= 0 {
					e = e[i+1:] // Patient.name -> name
				}
				if e != "" {
					sh.elements[e] = true
				}
			}
		}
	}
	return sh, nil
}

func (sh shape) none() bool {
	return (sh.summary == "" || sh.summary == "false") && sh.elements == nil
}

// apply returns a copy of res reduced per _summary / _elements, tagged
// SUBSETTED as the specification asks.
func (sh shape) apply(res map[string]any) map[string]any {
	if sh.none() {
		return res
	}
	typ, _ := res["resourceType"].(string)
	t := model.TypeByName(typ)
	out := map[string]any{"resourceType": typ}
	keep := func(key string) bool {
		name := strings.TrimPrefix(key, "_")
		switch name {
		case "id", "meta":
			return true
		}
		e, _ := t.ElementForJSONKey(name)
		switch sh.summary {
		case "true":
			return e != nil && (e.Summary || e.Modifier)
		case "text":
			return name == "text" || (e != nil && e.Min > 0)
		case "data":
			return name != "text"
		}
		if sh.elements != nil {
			if e != nil {
				return sh.elements[e.Name] || e.Modifier
			}
			return sh.elements[name]
		}
		return true
	}
	for k, v := range res {
		if k != "resourceType" && keep(k) {
			out[k] = v
		}
	}
	markSubsetted(out)
	return out
}

func markSubsetted(res map[string]any) {
	meta, _ := res["meta"].(map[string]any)
	m := make(map[string]any, len(meta)+1)
	for k, v := range meta {
		m[k] = v
	}
	tags, _ := m["tag"].([]any)
	m["tag"] = append(append([]any{}, tags...), map[string]any{
		"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
		"code":   "SUBSETTED",
	})
	res["meta"] = m
}
