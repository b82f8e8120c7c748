package validate

import (
	"strconv"
	"strings"
	"sync"

	"github.com/xietong/xietong/fhir/model"
)

// Severities of an Issue, as in OperationOutcome.issue.severity.
const (
	SeverityError       = "error"
	SeverityWarning     = "warning"
	SeverityInformation = "information"
)

// Issue codes used by this package (OperationOutcome.issue.code, from
// http://hl7.org/fhir/ValueSet/issue-type).
const (
	CodeStructure   = "structure"    // not FHIR JSON: unknown element, wrong JSON type, array vs single value, empty object
	CodeRequired    = "required"     // a required element is missing
	CodeValue       = "value"        // a primitive value breaks its type's format, an empty string
	CodeCodeInvalid = "code-invalid" // a code outside its required value set
	CodeInvalid     = "invalid"      // a reference inconsistent with its type
	CodeInvariant   = "invariant"    // a constraint (ext-1, dom-2..5, ref-1, or one checked by an InvariantChecker) fails
	CodeTooLong     = "too-long"     // a string longer than 1 MB
	CodeProcessing  = "processing"   // an InvariantChecker could not evaluate a constraint
)

// Issue is one finding, ready to become an OperationOutcome.issue.
type Issue struct {
	Severity string // error, warning or information
	Code     string // an OperationOutcome issue-type code (see the Code constants)
	// Path is the FHIRPath-style location: "Patient.name[0].given[1]",
	// "Observation.valueQuantity.value", "Bundle.entry[3].resource.status".
	// Choice elements are named by their JSON key; a primitive's "_x"
	// extension object is addressed as the element itself ("Patient.birthDate.extension[0]").
	Path    string
	Message string // English, starting with Path
}

func (i Issue) String() string { return i.Severity + " " + i.Code + " " + i.Message }

// HasErrors reports whether any issue has error severity.
func HasErrors(issues []Issue) bool {
	for _, i := range issues {
		if i.Severity == SeverityError {
			return true
		}
	}
	return false
}

// InvariantChecker evaluates the FHIRPath invariants of the definitions
// (model.Constraint) that this package does not check natively. The
// validator calls it, when one is configured with WithInvariants, once per
// constraint and node: type-level constraints (Patient's pat-1, Period's
// per-1 ...) with the node holding a value of that type, element-level ones
// with each value of the element. The constraints the validator checks
// itself (see NativeInvariant) are never passed.
//
// Check returns whether the constraint holds. An error means it could not
// be evaluated (an unsupported function, say); the validator reports it as
// a warning with code "processing" and carries on, so a gap in the engine
// never rejects a resource. Implementations must be safe for concurrent use.
type InvariantChecker interface {
	Check(ctx InvariantContext) (bool, error)
}

// InvariantContext is what an invariant is evaluated against.
type InvariantContext struct {
	Constraint model.Constraint
	// Node is the value the constraint is about (map[string]any for complex
	// values; string, json.Number or bool for primitives), of type Type.
	Node any
	Type string
	// Resource is %resource: the resource holding Node (a contained
	// resource for nodes inside one). RootResource is %rootResource: the
	// container of a contained resource, else Resource.
	Resource     map[string]any
	RootResource map[string]any
	Path         string
}

// InvariantCheckerFunc adapts a function to InvariantChecker.
type InvariantCheckerFunc func(ctx InvariantContext) (bool, error)

// Check calls f.
func (f InvariantCheckerFunc) Check(ctx InvariantContext) (bool, error) { return f(ctx) }

// NativeInvariant reports whether the validator checks the constraint
// with that key itself, without FHIRPath; such constraints are not passed
// to an InvariantChecker.
func NativeInvariant(key string) bool { return nativeInvariants[key] }

var nativeInvariants = map[string]bool{
	"ele-1": true, // all FHIR elements must have a @value or children: empty objects, arrays and strings
	"ext-1": true, // extension: value[x] or extension, not both
	"dom-2": true, // contained resources have no contained
	"dom-3": true, // contained resources are referenced
	"dom-4": true, // contained resources have no meta.versionId or meta.lastUpdated
	"dom-5": true, // contained resources have no meta.security
	"ref-1": true, // local references resolve to a contained resource
	"txt-1": true, // narrative: basic HTML only (htmlChecks())
	"txt-2": true, // narrative: some non-whitespace content (htmlChecks())
}

// Option configures a Validator.
type Option func(*Validator)

// WithInvariants makes the validator evaluate the definitions' invariants
// with c (typically the FHIRPath engine, fhir/fhirpath).
func WithInvariants(c InvariantChecker) Option { return func(v *Validator) { v.invariants = c } }

// WithBestPractice controls the warning-level checks (whitespace-only
// strings, control characters, unknown Reference.type): on by default.
func WithBestPractice(on bool) Option { return func(v *Validator) { v.warnings = on } }

// Validator checks resources against the base R4 definitions. It is
// immutable and safe for concurrent use; the per-type tables it needs are
// computed once per process.
type Validator struct {
	invariants InvariantChecker
	warnings   bool
}

// New returns a Validator with the given options.
func New(opts ...Option) *Validator {
	v := &Validator{warnings: true}
	for _, o := range opts {
		o(v)
	}
	return v
}

// Resource validates res with a Validator built from opts.
func Resource(res map[string]any, opts ...Option) []Issue {
	return New(opts...).Resource(res)
}

var walkerPool = sync.Pool{New: func() any { return new(walker) }}

// Resource validates one resource (and everything inside it: contained
// resources, Bundle entries, Parameters resources) and returns the issues,
// in document order of discovery. A nil result means no issue at all;
// use HasErrors to decide whether to reject.
func (v *Validator) Resource(res map[string]any) []Issue {
	loadTables()
	w := walkerPool.Get().(*walker)
	w.v = v
	w.resource(res, false)
	issues := w.issues
	sortIssues(issues)
	w.reset()
	walkerPool.Put(w)
	return issues
}

// pathSeg is one step of the location being validated; paths are only
// rendered when an issue is reported.
type pathSeg struct {
	name  string
	index int // -1 for a name
}

func renderPath(segs []pathSeg, extra string) string {
	var b strings.Builder
	for _, s := range segs {
		if s.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
	}
	if extra != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(extra)
	}
	return b.String()
}
