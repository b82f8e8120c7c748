// Package fhirpath implements FHIRPath (normative release N1,
// http://hl7.org/fhirpath/N1/, with the FHIR R4 additions) over FHIR
// resources held as plain JSON trees: the map[string]any, []any, string,
// json.Number and bool values that encoding/json produces with
// Decoder.UseNumber. There is no intermediate object model: evaluation
// walks the tree directly, using the R4 type system from fhir/model to
// know the FHIR type of every node (choice elements such as value[x],
// backbone elements, primitive extensions in "_name" siblings, contained
// and bundled resources).
//
// An expression is compiled once and can then be evaluated any number of
// times, concurrently:
//
//	expr, err := fhirpath.Compile("Patient.name.where(use = 'official').family")
//	...
//	out, err := expr.Evaluate(patient, nil) // patient is a map[string]any
//	for _, v := range out {
//		fmt.Println(v.TypeName(), v.String()) // FHIR.string Chalmers
//	}
//
// Compile reports syntax and semantic errors (unknown functions, wrong
// argument counts, unknown type names) with their line and column.
// Evaluate reports execution errors (for example a singleton expected but
// several items found, or operands of incompatible types); it never panics.
// All errors are *Error values; see ErrorKind.
//
// Evaluation is configured per call with EvalOptions: external constants
// (%name), a Resolver for resolve() beyond contained resources and Bundle
// entries, a Terminology for memberOf() (NewValueSets builds one from
// ValueSet resources), Profiles for conformsTo(), the clock for now() and
// today(), and a Trace callback.
//
// Numbers keep their decimal precision (Decimal is exact base-10
// arithmetic; division keeps 8 decimal places), dates and times keep the
// precision they were written with (comparisons of values with different
// precisions give empty), and quantities compare and convert through UCUM
// for the common units. docs/FHIRPATH.md lists what is and is not
// supported.
//
// The package depends only on the standard library and fhir/model; it must
// not depend on storage, search or HTTP packages.
package fhirpath
