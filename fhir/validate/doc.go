// Package validate checks a FHIR R4 resource, in the JSON tree of
// fhir/fhirjson, against the base R4 definitions of fhir/model, before the
// server stores it.
//
// It reports, as Issue values ready to become an OperationOutcome:
// unknown resource types and elements (including choice keys with a type
// suffix the element does not allow and "_x" keys without a primitive
// element x), wrong JSON types (an array for a 0..1 element, a single value
// for a repeating one, strings for numbers ...), cardinality, more than one
// type of a choice element, empty objects, arrays and strings, the formats
// of every primitive type (with the day-of-month rules the specification's
// regular expressions omit), 32-bit integer ranges, 1 MB strings, the safety
// and shape of narratives, required value-set bindings of code elements,
// literal reference forms and their agreement with Reference.type, and the
// invariants that need no FHIRPath: ext-1, ref-1 and dom-2..dom-5. Contained
// resources, Bundle entries and Parameters resources are validated
// recursively, with paths such as "Bundle.entry[3].resource.status".
//
// The other invariants of the definitions are FHIRPath expressions. The
// validator evaluates them only when given an InvariantChecker
// (WithInvariants), which fhir/fhirpath is meant to provide; without one
// they are skipped.
//
// A Validator is immutable and safe for concurrent use; its lookup tables
// are built once per process from fhir/model, and validation allocates
// nothing for a valid resource beyond a little bookkeeping.
//
// The package must depend on fhir/model and the standard library only: not
// on fhir/fhirpath (invariants come in through the interface), storage, or
// HTTP.
package validate
