package fhirpath

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/xietong/xietong/fhir/model"
)

// evalFunc evaluates a compiled sub-expression. focus is the input
// collection of the term (the current $this scope for identifiers at the
// start of a path).
type evalFunc func(c *evalCtx, focus Collection) (Collection, error)

// Expression is a compiled FHIRPath expression. It is immutable and safe
// for concurrent use.
type Expression struct {
	src    string
	root   evalFunc
	strict bool
}

// String returns the source of the expression.
func (e *Expression) String() string { return e.src }

// CompileOption configures Compile.
type CompileOption func(*compileConfig)

type compileConfig struct {
	strict bool
}

// Strict makes Compile reject paths that cannot match the types the
// expression names (e.g. "(Observation.value as Period).unit") and
// order-dependent functions applied to children()/descendants(), and makes
// evaluation report names that are not elements of the focus's FHIR type,
// and type names at the start of a path that do not match the focus, as
// errors instead of returning empty collections.
func Strict() CompileOption { return func(c *compileConfig) { c.strict = true } }

// Resolver resolves a reference (as found in Reference.reference or a
// canonical) to a resource. It returns nil, nil when the reference cannot
// be resolved; an error aborts the evaluation.
type Resolver interface {
	Resolve(reference string) (map[string]any, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(reference string) (map[string]any, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(ref string) (map[string]any, error) { return f(ref) }

// Terminology answers memberOf() questions. Contains reports whether the
// code (with its system, possibly empty) is in the value set with that
// canonical URL; known is false when the value set is unknown.
type Terminology interface {
	Contains(valueSet, system, code string) (in, known bool, err error)
}

// Profiles answers conformsTo(). known is false when the profile is
// unknown to the caller.
type Profiles interface {
	ConformsTo(resource map[string]any, profile string) (ok, known bool, err error)
}

// EvalOptions are the per-evaluation inputs. The zero value is usable.
type EvalOptions struct {
	// Variables are external constants (%name). Values may be Collection,
	// Value, []any (a collection of JSON nodes or Go values), or a single
	// JSON node / Go value (string, bool, int, int64, float64, json.Number,
	// time.Time, map[string]any).
	Variables map[string]any
	// Resource is %resource and RootResource is %rootResource when they
	// differ from the evaluated node (e.g. evaluating over an element of a
	// resource, or over a contained resource).
	Resource     map[string]any
	RootResource map[string]any
	// Resolver is used by resolve() after contained resources and the
	// entries of the enclosing Bundle.
	Resolver Resolver
	// Terminology is used by memberOf().
	Terminology Terminology
	// Profiles is used by conformsTo() for profiles other than the core
	// resource definitions.
	Profiles Profiles
	// Now fixes now(), today() and timeOfDay(); zero means time.Now().
	Now time.Time
	// Trace receives trace() output; nil discards it.
	Trace func(name string, items Collection)
}

type evalCtx struct {
	opts         *EvalOptions
	strict       bool
	context      Collection
	resource     Collection
	rootResource Collection
	this         Value
	index        int
	total        Collection
	vars         *varFrame
	defaultOff   int
	now          time.Time
	nowSet       bool
	depth        int
	focusBuf     [1]Value
	resBuf       [1]Value // %resource when EvalOptions.Resource names it
}

type varFrame struct {
	name string
	val  Collection
	next *varFrame
}

// Compile parses and checks an expression.
func Compile(expr string, opts ...CompileOption) (e *Expression, err error) {
	var cfg compileConfig
	for _, o := range opts {
		o(&cfg)
	}
	defer func() {
		// last line of defence: a bug must not crash the caller
		if r := recover(); r != nil {
			e, err = nil, &Error{Kind: SyntaxError, Msg: fmt.Sprintf("internal error: %v", r), Offset: -1}
		}
	}()
	ast, err := parse(expr)
	if err != nil {
		return nil, err
	}
	cp := &compiler{src: expr, cfg: cfg}
	if cfg.strict {
		if _, err := cp.check(ast, staticInfo{}); err != nil {
			return nil, err
		}
	}
	fn, err := cp.compile(ast)
	if err != nil {
		return nil, err
	}
	return &Expression{src: expr, root: fn, strict: cfg.strict}, nil
}

// MustCompile is Compile for expressions known to be valid; it panics on
// error.
func MustCompile(expr string, opts ...CompileOption) *Expression {
	e, err := Compile(expr, opts...)
	if err != nil {
		panic(err)
	}
	return e
}

// Evaluate evaluates the expression over a FHIR JSON node (usually a
// resource as decoded by encoding/json with UseNumber), a Value, or a
// Collection. opts may be nil.
//
// The result is read-only: it may share memory with the input, the
// expression's literals and other results (so that evaluation does not
// copy); copy it before modifying it. The JSON nodes it refers to are the
// input's own.
func (e *Expression) Evaluate(input any, opts *EvalOptions) (out Collection, err error) {
	if opts == nil {
		// Shared, never written: a fresh one per call was an allocation
		// per search parameter of every resource indexed (decision 028).
		opts = &noOptions
	}
	c := ctxPool.Get().(*evalCtx)
	*c = evalCtx{opts: opts, strict: e.strict}
	defer ctxPool.Put(c)
	var focus Collection
	if m, ok := input.(map[string]any); ok {
		// the common case: evaluate over a resource without allocating
		c.focusBuf[0] = jsonValue(m, nil)
		focus = c.focusBuf[:1:1]
	} else if v, ok := input.(Value); ok {
		// a value from an earlier result (a composite's components)
		c.focusBuf[0] = v
		focus = c.focusBuf[:1:1]
	} else {
		focus = toCollection(input)
	}
	c.context = focus
	if len(focus) == 1 {
		c.this = focus[0]
	}
	c.resource = focus
	if opts.Resource != nil {
		c.resBuf[0] = jsonValue(opts.Resource, nil)
		c.resource = c.resBuf[:1:1]
	} else if len(focus) == 1 {
		if _, ok := focus[0].v.(map[string]any); !ok || !isResourceValue(focus[0]) {
			c.resource = nil
		}
	}
	c.rootResource = c.resource
	if opts.RootResource != nil {
		c.rootResource = Collection{jsonValue(opts.RootResource, nil)}
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &Error{Kind: ExecutionError, Msg: fmt.Sprintf("internal error: %v", r), Offset: -1}
		}
	}()
	out, err = e.root(c, focus)
	if err != nil {
		return nil, err
	}
	if len(out) > 0 && (&out[0] == &c.focusBuf[0] || &out[0] == &c.resBuf[0]) {
		// the result is the input or %resource itself: do not hand out
		// pooled memory
		out = Collection{out[0]}
	}
	return out, nil
}

var ctxPool = sync.Pool{New: func() any { return new(evalCtx) }}

// noOptions stands for nil options. Nothing writes through c.opts.
var noOptions EvalOptions

// EvaluateBool evaluates the expression as a boolean: empty gives false,
// ok false; a single Boolean gives its value.
func (e *Expression) EvaluateBool(input any, opts *EvalOptions) (value, ok bool, err error) {
	out, err := e.Evaluate(input, opts)
	if err != nil || len(out) == 0 {
		return false, false, err
	}
	if len(out) > 1 {
		return false, false, execErr("expected a single boolean, got %d items", len(out))
	}
	b, isBool := singletonBool(out[0])
	if !isBool {
		return true, true, nil
	}
	return b, true, nil
}

func isResourceValue(v Value) bool {
	if v.t != nil {
		return v.t.kind == model.KindResource
	}
	m, ok := v.v.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m["resourceType"].(string)
	return ok
}

// jsonValue wraps a JSON node; resources get their type from resourceType.
func jsonValue(x any, t *typeInfo) Value {
	if t == nil || t.abstract {
		if m, ok := x.(map[string]any); ok {
			if rt, ok := m["resourceType"].(string); ok {
				if rti := fhirType(rt); rti != nil {
					t = rti
				}
			}
		}
	}
	return Value{v: x, t: t}
}

// toCollection converts caller data to a collection.
func toCollection(x any) Collection {
	switch v := x.(type) {
	case nil:
		return nil
	case Collection:
		return v
	case []Value:
		return v
	case Value:
		return Collection{v}
	case []any:
		out := make(Collection, 0, len(v))
		for _, it := range v {
			if m, ok := it.(map[string]any); ok {
				out = append(out, jsonValue(m, nil))
				continue
			}
			out = append(out, toCollection(it)...)
		}
		return out
	case map[string]any:
		return Collection{jsonValue(v, nil)}
	case string:
		return Collection{stringValue(v)}
	case bool:
		return Collection{boolValue(v)}
	case int:
		return Collection{intValue(int64(v))}
	case int32:
		return Collection{intValue(int64(v))}
	case int64:
		return Collection{intValue(v)}
	case float64:
		d, ok := decimalFromFloat(v, -1)
		if !ok {
			return nil
		}
		return Collection{decimalValue(d)}
	case float32:
		d, ok := parseDecimal(strconv.FormatFloat(float64(v), 'f', -1, 32))
		if !ok {
			return nil
		}
		return Collection{decimalValue(d)}
	case json.Number:
		if s, ok := system(Value{v: v}); ok {
			return Collection{s}
		}
		return nil
	case time.Time:
		t := &temporal{kind: kDateTime, prec: pMilli, fdig: 3, hasTZ: true}
		_, off := v.Zone()
		t.tzOff = off
		return Collection{temporalValue(t.withTime(v))}
	}
	return nil
}

func (c *evalCtx) nowTime() time.Time {
	if !c.nowSet {
		c.now = c.opts.Now
		if c.now.IsZero() {
			c.now = time.Now()
		}
		c.nowSet = true
	}
	return c.now
}
