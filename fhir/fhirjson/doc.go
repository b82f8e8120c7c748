// Package fhirjson is the server's strict intake and canonical output of
// FHIR JSON resources.
//
// Decode parses one resource into the tree every FHIR layer of Xietong works
// on (map[string]any, []any, string, json.Number, bool, nil) in a single
// pass, and rejects what FHIR forbids but encoding/json lets through:
// duplicate keys, invalid UTF-8, a top-level value that is not an object,
// trailing data, nesting deeper than a limit, a missing resourceType. Its
// errors are *SyntaxError values that give the line, column, byte offset and
// JSON path of the problem so a person can fix the document. The tree owns
// its memory (the input may be reused at once); its strings, numbers and
// arrays are carved from a few blocks per document (slabs.go), the one
// place this package uses unsafe, and only its maps cost an allocation
// each.
//
// Marshal writes a tree back as compact JSON in the canonical order of the
// R4 definitions (resourceType, then the elements in definition order, each
// primitive's "_x" extension key right after "x", unknown keys last and
// sorted; an Extension's url first, as the published JSON has it), with
// numbers written exactly as they were read and without HTML
// escaping. It is what the server stores and returns; Decode(Marshal(x))
// gives back x.
//
// The package knows nothing about validation, storage or HTTP: it may
// depend on fhir/model (for element order) and the standard library only.
// Structural checks beyond JSON (unknown elements, cardinality, formats)
// belong to fhir/validate.
package fhirjson
