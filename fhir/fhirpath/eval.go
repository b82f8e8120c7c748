package fhirpath

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
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
func (e *Expression) Evaluate(input any, opts *EvalOptions) (out Collection, err error) {
	if opts == nil {
		opts = &EvalOptions{}
	}
	c := ctxPool.Get().(*evalCtx)
	*c = evalCtx{opts: opts, strict: e.strict}
	defer ctxPool.Put(c)
	var focus Collection
	if m, ok := input.(map[string]any); ok {
		// the common case: evaluate over a resource without allocating
		c.focusBuf[0] = jsonValue(m, nil)
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
		c.resource = Collection{jsonValue(opts.Resource, nil)}
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
	if len(out) > 0 && &out[0] == &c.focusBuf[0] {
		// the result is the input itself: do not hand out pooled memory
		out = Collection{out[0]}
	}
	return out, nil
}

var ctxPool = sync.Pool{New: func() any { return new(evalCtx) }}

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

// ---- compiler ----

type compiler struct {
	src string
	cfg compileConfig
}

func (cp *compiler) semErr(n *astNode, format string, args ...any) error {
	return newSemanticError(cp.src, n.pos, fmt.Sprintf(format, args...))
}

// posErr attaches the position of n to an execution error.
func (cp *compiler) wrap(n *astNode, f evalFunc) evalFunc {
	src := cp.src
	pos := n.pos
	return func(c *evalCtx, focus Collection) (Collection, error) {
		out, err := f(c, focus)
		if err != nil {
			if e, ok := err.(*Error); ok && e.Offset < 0 {
				e.Offset = pos
				e.Line, e.Column = position(src, pos)
			}
			return nil, err
		}
		return out, nil
	}
}

func (cp *compiler) compile(n *astNode) (evalFunc, error) {
	switch n.kind {
	case nLiteral:
		lit := Collection{n.lit}
		return func(*evalCtx, Collection) (Collection, error) { return lit, nil }, nil
	case nEmpty:
		return func(*evalCtx, Collection) (Collection, error) { return nil, nil }, nil
	case nParen:
		return cp.compile(n.left)
	case nThis:
		return func(c *evalCtx, _ Collection) (Collection, error) {
			if c.this.v == nil && c.this.t == nil && c.this.ext == nil {
				return nil, nil
			}
			return Collection{c.this}, nil
		}, nil
	case nIndexVar:
		return func(c *evalCtx, _ Collection) (Collection, error) {
			return Collection{intValue(int64(c.index))}, nil
		}, nil
	case nTotal:
		return func(c *evalCtx, _ Collection) (Collection, error) { return c.total, nil }, nil
	case nExtConst:
		return cp.compileExtConst(n)
	case nMember:
		return cp.compileMember(n)
	case nFunc:
		return cp.compileFunc(n)
	case nIndexer:
		left, err := cp.compile(n.left)
		if err != nil {
			return nil, err
		}
		idx, err := cp.compile(n.right)
		if err != nil {
			return nil, err
		}
		return cp.wrap(n, func(c *evalCtx, focus Collection) (Collection, error) {
			in, err := left(c, focus)
			if err != nil {
				return nil, err
			}
			iv, err := idx(c, focus)
			if err != nil {
				return nil, err
			}
			i, ok, err := singletonInt(iv)
			if err != nil || !ok {
				return nil, err
			}
			if i < 0 || i >= int64(len(in)) {
				return nil, nil
			}
			return in[i : i+1 : i+1], nil
		}), nil
	case nUnary:
		operand, err := cp.compile(n.left)
		if err != nil {
			return nil, err
		}
		if n.op == "+" {
			return operand, nil
		}
		return cp.wrap(n, func(c *evalCtx, focus Collection) (Collection, error) {
			in, err := operand(c, focus)
			if err != nil || len(in) == 0 {
				return nil, err
			}
			if len(in) > 1 {
				return nil, execErr("unary minus expects a single item, got %d", len(in))
			}
			v, ok := negate(in[0])
			if !ok {
				return nil, execErr("cannot negate %s", in[0].TypeName())
			}
			return Collection{v}, nil
		}), nil
	case nBinary:
		return cp.compileBinary(n)
	case nTypeOp:
		return cp.compileTypeOp(n)
	}
	return nil, cp.semErr(n, "unsupported expression")
}

func negate(v Value) (Value, bool) {
	s, ok := system(v)
	if !ok {
		if q, ok := asQuantity(v); ok {
			return Value{v: &quantity{val: q.val.neg(), unit: q.unit}}, true
		}
		return Value{}, false
	}
	switch x := s.v.(type) {
	case int64:
		return intValue(-x), true
	case *decimal:
		return decimalValue(x.neg()), true
	case *quantity:
		return Value{v: &quantity{val: x.val.neg(), unit: x.unit}}, true
	}
	return Value{}, false
}

var envConstants = map[string]string{
	"ucum":  "http://unitsofmeasure.org",
	"sct":   "http://snomed.info/sct",
	"loinc": "http://loinc.org",
}

func (cp *compiler) compileExtConst(n *astNode) (evalFunc, error) {
	name := n.name
	switch name {
	case "context":
		return func(c *evalCtx, _ Collection) (Collection, error) { return c.context, nil }, nil
	case "resource":
		return func(c *evalCtx, _ Collection) (Collection, error) { return c.resource, nil }, nil
	case "rootResource":
		return func(c *evalCtx, _ Collection) (Collection, error) { return c.rootResource, nil }, nil
	}
	if s, ok := envConstants[name]; ok {
		lit := Collection{stringValue(s)}
		return func(c *evalCtx, _ Collection) (Collection, error) {
			if v, ok := c.opts.Variables[name]; ok {
				return toCollection(v), nil
			}
			return lit, nil
		}, nil
	}
	var fixed Collection
	if rest, ok := strings.CutPrefix(name, "vs-"); ok {
		fixed = Collection{stringValue("http://hl7.org/fhir/ValueSet/" + rest)}
	} else if rest, ok := strings.CutPrefix(name, "ext-"); ok {
		fixed = Collection{stringValue("http://hl7.org/fhir/StructureDefinition/" + rest)}
	}
	return cp.wrap(n, func(c *evalCtx, _ Collection) (Collection, error) {
		for f := c.vars; f != nil; f = f.next {
			if f.name == name {
				return f.val, nil
			}
		}
		if v, ok := c.opts.Variables[name]; ok {
			return toCollection(v), nil
		}
		if fixed != nil {
			return fixed, nil
		}
		return nil, execErr("undefined environment variable %%%s", name)
	}), nil
}

func (cp *compiler) compileMember(n *astNode) (evalFunc, error) {
	name := n.name
	var left evalFunc
	if n.left != nil {
		var err error
		if left, err = cp.compile(n.left); err != nil {
			return nil, err
		}
	}
	// A type name at the start of a path filters the focus by type
	// ("Patient.name" evaluated on a Patient).
	var typeFilter *typeInfo
	if left == nil && name != "" && name[0] >= 'A' && name[0] <= 'Z' {
		typeFilter = fhirType(name)
	}
	if left == nil {
		return cp.wrap(n, func(c *evalCtx, focus Collection) (Collection, error) {
			if typeFilter != nil {
				if len(focus) == 1 && focus[0].t != nil {
					// the common case: a resource type at the start of a path
					if focus[0].t.isAType(typeFilter) {
						return focus, nil
					}
					if !c.strict {
						return nil, nil
					}
				}
				var out Collection
				matched := false
				for _, it := range focus {
					if it.t != nil && it.t.isAType(typeFilter) {
						out = append(out, it)
						matched = true
					}
				}
				if matched || len(focus) == 0 {
					return out, nil
				}
				if c.strict {
					return nil, execErr("the focus is not a %s", name)
				}
			}
			return navigate(c, focus, name)
		}), nil
	}
	return cp.wrap(n, func(c *evalCtx, focus Collection) (Collection, error) {
		in, err := left(c, focus)
		if err != nil || len(in) == 0 {
			return nil, err
		}
		return navigate(c, in, name)
	}), nil
}

// navigate returns the children called name of every item.
func navigate(c *evalCtx, in Collection, name string) (Collection, error) {
	var out Collection
	for _, it := range in {
		var err error
		out, err = child(c, out, it, name)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func child(c *evalCtx, out Collection, it Value, name string) (Collection, error) {
	m, ok := it.v.(map[string]any)
	if !ok {
		if q, ok := it.v.(*quantity); ok {
			// System.Quantity has the properties value and unit
			switch name {
			case "value":
				return append(out, decimalValue(q.val)), nil
			case "unit":
				return append(out, stringValue(q.unit)), nil
			}
			return out, nil
		}
		// a primitive: only id and extension, from the "_name" sibling
		if it.ext != nil && (name == "extension" || name == "id") {
			var t *typeInfo
			if name == "extension" {
				t = fhirType("Extension")
			} else {
				t = fhirType("string")
			}
			return appendJSON(out, it.ext[name], nil, t), nil
		}
		if c.strict && it.t != nil && it.t.child(name) == nil {
			return nil, execErr("%s has no element %q", it.t.name, name)
		}
		return out, nil
	}
	t := it.t
	if t == nil || t.abstract {
		t = jsonValue(m, t).t
	}
	if t == nil {
		// untyped JSON: plain property access, with a choice fallback
		if raw, ok := m[name]; ok || m["_"+name] != nil {
			return appendJSON(out, raw, m["_"+name], nil), nil
		}
		for _, k := range sortedKeys(m) {
			if len(k) > len(name) && strings.HasPrefix(k, name) && k[len(name)] >= 'A' && k[len(name)] <= 'Z' {
				out = appendJSON(out, m[k], m["_"+k], fhirType(lowerFirst(k[len(name):])))
			}
		}
		return out, nil
	}
	cs := t.child(name)
	if cs == nil && name == "resourceType" && t.kind == model.KindResource {
		// not an element, but commonly written (and supported by other
		// engines)
		if rt, ok := m["resourceType"].(string); ok {
			return append(out, stringValue(rt)), nil
		}
	}
	if cs == nil {
		if t.isChoiceKey(name) {
			return nil, execErr("%q is not an element name of %s: use the choice element with ofType()", name, t.name)
		}
		if c.strict {
			return nil, execErr("%s has no element %q", t.name, name)
		}
		return out, nil
	}
	for i := range cs.keys {
		k := &cs.keys[i]
		raw, ok := m[k.key]
		var ext any
		if k.t == nil || k.t.kind == model.KindPrimitive {
			ext = m[k.extKey]
		}
		if !ok && ext == nil {
			continue
		}
		out = appendJSON(out, raw, ext, k.t)
	}
	return out, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	if fhirType(s) != nil {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// appendJSON appends the items of a JSON property (and its primitive
// extension sibling) with type t.
func appendJSON(out Collection, raw, ext any, t *typeInfo) Collection {
	switch x := raw.(type) {
	case []any:
		exts, _ := ext.([]any)
		if out == nil {
			out = make(Collection, 0, len(x))
		}
		for i, el := range x {
			var em map[string]any
			if i < len(exts) {
				em, _ = exts[i].(map[string]any)
			}
			if el == nil && em == nil {
				continue
			}
			out = append(out, jsonItem(el, em, t))
		}
		// extensions beyond the values (values all null)
		for i := len(x); i < len(exts); i++ {
			if em, ok := exts[i].(map[string]any); ok {
				out = append(out, Value{t: t, ext: em})
			}
		}
		return out
	case nil:
		switch e := ext.(type) {
		case map[string]any:
			return append(out, Value{t: t, ext: e})
		case []any:
			for _, el := range e {
				if em, ok := el.(map[string]any); ok {
					out = append(out, Value{t: t, ext: em})
				}
			}
		}
		return out
	default:
		em, _ := ext.(map[string]any)
		return append(out, jsonItem(raw, em, t))
	}
}

func jsonItem(x any, ext map[string]any, t *typeInfo) Value {
	if t == nil || t.abstract {
		if m, ok := x.(map[string]any); ok {
			return jsonValue(m, t)
		}
	}
	return Value{v: x, t: t, ext: ext}
}

// ---- singleton helpers ----

// singletonBool applies singleton evaluation for Boolean contexts: a
// single Boolean gives its value; any other single item counts as true
// (isBool false).
func singletonBool(v Value) (b, isBool bool) {
	s, ok := system(v)
	if ok {
		if x, ok := s.v.(bool); ok {
			return x, true
		}
	}
	return true, false
}

// boolOf converts a collection for a Boolean operator: (value, known).
func boolOf(in Collection, what string) (bool, bool, error) {
	switch len(in) {
	case 0:
		return false, false, nil
	case 1:
		b, _ := singletonBool(in[0])
		return b, true, nil
	}
	return false, false, execErr("%s expects a single boolean, got %d items", what, len(in))
}

func singletonInt(in Collection) (int64, bool, error) {
	switch len(in) {
	case 0:
		return 0, false, nil
	case 1:
		s, ok := system(in[0])
		if ok {
			if n, ok := s.v.(int64); ok {
				return n, true, nil
			}
		}
		return 0, false, execErr("expected an Integer, got %s", in[0].TypeName())
	}
	return 0, false, execErr("expected a single Integer, got %d items", len(in))
}

func singletonString(in Collection) (string, bool, error) {
	switch len(in) {
	case 0:
		return "", false, nil
	case 1:
		s, ok := system(in[0])
		if ok {
			if str, ok := s.v.(string); ok {
				return str, true, nil
			}
		}
		return "", false, execErr("expected a String, got %s", in[0].TypeName())
	}
	return "", false, execErr("expected a single String, got %d items", len(in))
}

func single(in Collection, what string) (Value, bool, error) {
	switch len(in) {
	case 0:
		return Value{}, false, nil
	case 1:
		return in[0], true, nil
	}
	return Value{}, false, execErr("%s expects a single item, got %d", what, len(in))
}
