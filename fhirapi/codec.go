package fhirapi

import (
	"bytes"
	"errors"

	"encoding/json"
	"fmt"
	"github.com/xietong/xietong/fhir/fhirjson"
	"net/http"

	"github.com/xietong/xietong/fhir/outcome"
)

// decodeResource parses a request body into the resource tree.
func (s *Server) decodeResource(data []byte) (map[string]any, error) {
	// A UTF-8 byte order mark, as some hospital systems send: RFC 8259 8.1
	// lets a parser ignore it.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	m, err := fhirjson.Decode(data, fhirjson.Limits{MaxDepth: s.cfg.MaxDepth})
	if err != nil {
		var se *fhirjson.SyntaxError
		if errors.As(err, &se) {
			oe := outcome.BadRequest("The body is not an acceptable FHIR JSON resource: line %d, column %d: %s", se.Line, se.Column, se.Msg)
			if se.Path != "" {
				oe.At(se.Path)
			}
			return nil, oe
		}
		return nil, outcome.BadRequest("The body is not an acceptable FHIR JSON resource: %v", err)
	}
	rt, _ := m["resourceType"].(string)
	if !isKnownType(rt) {
		return nil, outcome.New(http.StatusBadRequest, "not-supported", "%q is not a FHIR R4 resource type.", rt).At("resourceType")
	}
	return m, nil
}

// marshal encodes a resource tree as compact FHIR JSON, elements in the
// order of the definitions; other values (Bundle parts) with encoding/json.
func marshal(v any) ([]byte, error) {
	if m, ok := v.(map[string]any); ok {
		if _, isRes := m["resourceType"].(string); isRes {
			return fhirjson.Marshal(m)
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode resource: %w", err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// decodeStored parses a body the store returned.
func decodeStored(data []byte) (map[string]any, error) {
	m, err := fhirjson.Decode(data, fhirjson.Limits{MaxDepth: 1000})
	if err != nil {
		return nil, fmt.Errorf("stored resource is not valid JSON: %w", err)
	}
	return m, nil
}
