package validate

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/xietong/xietong/fhir/model"
)

// walker validates one resource tree. It is reused through a pool; all its
// slices keep their capacity between calls.
type walker struct {
	v      *Validator
	issues []Issue
	path   []pathSeg
	// scopes: one per resource that is not contained (the root, Bundle
	// entries ...), to resolve "#id" references against its contained
	// resources.
	scopes []scope
	// resources: %resource for invariants (innermost last).
	resources []map[string]any
	refPaths  []pathSeg // locations of the local references, see localRef.path
}

type scope struct {
	root       map[string]any
	contained  int // index of the contained resource being walked; -1 outside
	ids        []string
	idPaths    []int  // index of each contained resource, for messages
	checked    []bool // whether dom-3 applies (the resource's type is known)
	refs       []localRef
	containedP []pathSeg // path of the container's "contained"
}

// localRef is a "#..." reference or canonical met inside a scope.
type localRef struct {
	target    string // after '#'; "" for a reference to the container
	from      int    // contained index it was found in; -1 for the container itself
	reference bool   // Reference.reference (ref-1 applies), not a canonical/uri
	path      [2]int // the location, as a range of walker.refPaths
}

func (w *walker) reset() {
	w.v = nil
	w.issues = nil
	w.path = w.path[:0]
	// Keep the capacity, not the trees: a pooled walker must not pin the
	// caller's resources in memory.
	all := w.scopes[:cap(w.scopes)]
	for i := range all {
		s := &all[i]
		clear(s.ids[:cap(s.ids)])
		clear(s.refs[:cap(s.refs)])
		s.root = nil
	}
	w.scopes = w.scopes[:0]
	w.refPaths = w.refPaths[:0]
	clear(w.resources)
	w.resources = w.resources[:0]
}

func (w *walker) report(severity, code, extra, format string, args ...any) {
	p := renderPath(w.path, extra)
	msg := fmt.Sprintf(format, args...)
	if p != "" {
		msg = p + ": " + msg
	}
	w.issues = append(w.issues, Issue{Severity: severity, Code: code, Path: p, Message: msg})
}

func (w *walker) errorf(code, format string, args ...any) {
	w.report(SeverityError, code, "", format, args...)
}

func (w *walker) warnf(code, format string, args ...any) {
	if w.v.warnings {
		w.report(SeverityWarning, code, "", format, args...)
	}
}

func (w *walker) push(name string) { w.path = append(w.path, pathSeg{name: name, index: -1}) }
func (w *walker) pushIndex(i int)  { w.path = append(w.path, pathSeg{index: i}) }
func (w *walker) pop()             { w.path = w.path[:len(w.path)-1] }

// resource validates a resource at the current path (empty for the root).
func (w *walker) resource(m map[string]any, contained bool) {
	rtv, has := m["resourceType"]
	rt, isString := rtv.(string)
	isRoot := len(w.path) == 0
	switch {
	case !has:
		w.errorf(CodeStructure, "missing resourceType: a resource must name its type, as in \"resourceType\": \"Patient\"")
		return
	case !isString:
		w.errorf(CodeStructure, "resourceType must be a string naming the resource type, found %s", jsonKind(rtv))
		return
	}
	ti := typeByName(rt)
	if ti == nil || !ti.resource || ti.t.Abstract {
		if isRoot {
			w.push(rt)
			defer w.pop()
		}
		w.errorf(CodeStructure, "unknown resource type '%s' (not one of the 146 R4 resource types)", rt)
		return
	}
	if isRoot {
		w.push(rt)
		defer w.pop()
	}
	if contained {
		// Only contained resources of a known type are held to dom-3.
		if s := &w.scopes[len(w.scopes)-1]; len(s.idPaths) > 0 && s.idPaths[len(s.idPaths)-1] == s.contained {
			s.checked[len(s.checked)-1] = true
		}
	} else {
		w.openScope(m)
	}
	w.resources = append(w.resources, m)
	w.object(m, ti)
	w.resources = w.resources[:len(w.resources)-1]
	if contained {
		w.containedRules(m)
	} else {
		w.checkLocalRefs()
		w.scopes = w.scopes[:len(w.scopes)-1]
	}
}

// openScope starts the scope of a resource that is not contained, reusing
// the slices of an earlier scope at the same depth.
func (w *walker) openScope(m map[string]any) {
	if len(w.scopes) < cap(w.scopes) {
		w.scopes = w.scopes[:len(w.scopes)+1]
		s := &w.scopes[len(w.scopes)-1]
		clear(s.refs)
		*s = scope{root: m, contained: -1, ids: s.ids[:0], idPaths: s.idPaths[:0], checked: s.checked[:0], refs: s.refs[:0]}
		return
	}
	w.scopes = append(w.scopes, scope{root: m, contained: -1})
}

// containedRules checks dom-2, dom-4 and dom-5 on a contained resource.
func (w *walker) containedRules(m map[string]any) {
	if _, ok := m["contained"]; ok {
		w.push("contained")
		w.errorf(CodeInvariant, "a contained resource SHALL NOT contain nested resources (dom-2)")
		w.pop()
	}
	meta, _ := m["meta"].(map[string]any)
	for _, k := range []string{"versionId", "lastUpdated"} {
		if _, ok := meta[k]; ok {
			w.push("meta")
			w.push(k)
			w.errorf(CodeInvariant, "a contained resource SHALL NOT have a meta.versionId or a meta.lastUpdated (dom-4)")
			w.pop()
			w.pop()
		}
	}
	if _, ok := meta["security"]; ok {
		w.push("meta")
		w.push("security")
		w.errorf(CodeInvariant, "a contained resource SHALL NOT have a security label (dom-5)")
		w.pop()
		w.pop()
	}
}

// checkLocalRefs resolves the "#id" references of the scope being closed
// (ref-1) and checks every contained resource is referenced (dom-3).
func (w *walker) checkLocalRefs() {
	s := &w.scopes[len(w.scopes)-1]
	if len(s.refs) == 0 && len(s.ids) == 0 {
		return
	}
	for _, r := range s.refs {
		if !r.reference || r.target == "" {
			continue
		}
		if !slices.Contains(s.ids, r.target) {
			p := renderPath(w.refPaths[r.path[0]:r.path[1]], "")
			w.issues = append(w.issues, Issue{Severity: SeverityError, Code: CodeInvariant, Path: p,
				Message: fmt.Sprintf("%s: local reference '#%s' does not match the id of any contained resource (ref-1)", p, r.target)})
		}
	}
	for i, id := range s.ids {
		if !s.checked[i] {
			continue
		}
		referenced := false
		for _, r := range s.refs {
			if r.target == id || r.target == "" && r.from == s.idPaths[i] {
				referenced = true
				break
			}
		}
		if !referenced {
			p := fmt.Sprintf("%s[%d]", renderPath(s.containedP, ""), s.idPaths[i])
			w.issues = append(w.issues, Issue{Severity: SeverityError, Code: CodeInvariant, Path: p,
				Message: fmt.Sprintf("%s: contained resource '%s' is not referenced from elsewhere in the resource, nor does it refer to its container (dom-3)", p, id)})
		}
	}
}

// object validates the properties of a JSON object of type ti.
func (w *walker) object(m map[string]any, ti *typeInfo) {
	if len(m) == 0 {
		w.errorf(CodeStructure, "empty object: FHIR elements must have a value or children (ele-1); omit the element instead")
		return
	}
	type choiceUse struct {
		idx      int
		typeName string
		key      string
	}
	var buf [4]choiceUse
	choices := buf[:0]
	for k, val := range m {
		ki := ti.keys[k]
		if ki == nil {
			if k == "resourceType" && ti.resource {
				continue
			}
			w.unknownKey(ti, k)
			continue
		}
		ei := ki.elem
		if ei.choice {
			clash := ""
			for _, c := range choices {
				if c.idx == ei.idx && c.typeName != ki.typeName {
					clash = c.key
				}
			}
			if clash != "" {
				a, b := min(clash, k), max(clash, k)
				w.report(SeverityError, CodeStructure, ei.name, "only one type of a choice element is allowed, found both '%s' and '%s'", a, b)
			}
			choices = append(choices, choiceUse{ei.idx, ki.typeName, k})
		}
		if ki.underscore {
			w.push(k[1:])
			w.primitiveExtension(m, val, ki)
		} else {
			w.push(k)
			w.element(m, val, ki)
		}
		w.pop()
	}
	for _, ei := range ti.required {
		if !present(m, ei) {
			w.report(SeverityError, CodeRequired, ei.name, "missing required element %s (cardinality %s)", ei.name, card(ei))
		}
	}
	switch ti.special {
	case specialExtension:
		w.extension(m)
	case specialReference:
		w.reference(m)
	}
	if w.v.invariants != nil && len(ti.invariants) > 0 {
		w.invariants(m, ti.name, ti.invariants)
	}
}

func present(m map[string]any, ei *elemInfo) bool {
	for _, k := range ei.keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

func card(ei *elemInfo) string {
	if ei.max < 0 {
		return fmt.Sprintf("%d..*", ei.min)
	}
	return fmt.Sprintf("%d..%d", ei.min, ei.max)
}

func (w *walker) unknownKey(ti *typeInfo, k string) {
	w.push(k)
	defer w.pop()
	if strings.HasPrefix(k, "_") {
		name := k[1:]
		if ki := ti.keys[name]; ki != nil {
			w.errorf(CodeStructure, "'%s' is not allowed: '_' properties carry the id and extensions of primitive values, and %s is a %s", k, name, ki.typeName)
			return
		}
		w.errorf(CodeStructure, "'%s' extends an unknown element '%s' of %s", k, name, ti.name)
		return
	}
	if ei := ti.choiceFor(k); ei != nil {
		if k == ei.e.Name {
			w.errorf(CodeStructure, "the choice element %s needs a type suffix: one of %s", ei.name, ei.allowedKeys())
			return
		}
		w.errorf(CodeStructure, "'%s' is not a valid type for %s: use one of %s", k, ei.path, ei.allowedKeys())
		return
	}
	if k == "resourceType" {
		w.errorf(CodeStructure, "resourceType is only allowed on resources, and %s is not a resource", ti.name)
		return
	}
	w.errorf(CodeStructure, "unknown element '%s': %s has no element of that name", k, ti.name)
}

// element validates the value under a key of a known element.
func (w *walker) element(parent map[string]any, val any, ki *keyInfo) {
	ei := ki.elem
	if ei.max == 0 {
		w.errorf(CodeStructure, "%s is not allowed here (cardinality 0..0)", ei.name)
		return
	}
	arr, isArray := val.([]any)
	if !ei.list {
		if isArray {
			w.errorf(CodeStructure, "must be a single value, not an array (cardinality %s)", card(ei))
			return
		}
		w.value(val, ki)
		return
	}
	if !isArray {
		w.errorf(CodeStructure, "must be an array: %s repeats (cardinality %s) and FHIR JSON writes repeating elements as arrays, even with one item", ei.name, card(ei))
		w.value(val, ki)
		return
	}
	if len(arr) == 0 {
		w.errorf(CodeStructure, "empty array: FHIR elements must have a value or children (ele-1); omit the element instead")
		return
	}
	if ei.max > 1 && len(arr) > ei.max {
		w.errorf(CodeStructure, "at most %d items allowed (cardinality %s), found %d", ei.max, card(ei), len(arr))
	}
	var ext []any
	if ki.prim != notPrim {
		ext, _ = parent[ki.otherKey].([]any)
	}
	for i, item := range arr {
		w.pushIndex(i)
		if item == nil && i < len(ext) && ext[i] != nil {
			// A value-less primitive: only its extensions, in "_x".
		} else {
			w.value(item, ki)
		}
		w.pop()
	}
}

// primitiveExtension validates "_x", the id and extensions of primitive x.
func (w *walker) primitiveExtension(parent map[string]any, val any, ki *keyInfo) {
	ei := ki.elem
	if !ei.list {
		obj, ok := val.(map[string]any)
		if !ok {
			w.errorf(CodeStructure, "'_%s' must be an object holding the id and extensions of %s, found %s", ei.e.Name, ei.name, jsonKind(val))
			return
		}
		w.object(obj, ki.child)
		return
	}
	arr, ok := val.([]any)
	if !ok {
		w.errorf(CodeStructure, "'%s' must be an array lining up with the values of %s, found %s", ki.otherKey, ei.name, jsonKind(val))
		return
	}
	if len(arr) == 0 {
		w.errorf(CodeStructure, "empty array: FHIR elements must have a value or children (ele-1); omit the element instead")
		return
	}
	values, hasValues := parent[ki.otherKey].([]any)
	if hasValues && len(values) != len(arr) {
		w.errorf(CodeStructure, "'_%s' has %d items but '%s' has %d: the arrays must line up, with null where one side has nothing", ki.otherKey, len(arr), ki.otherKey, len(values))
	}
	for i, item := range arr {
		w.pushIndex(i)
		switch obj := item.(type) {
		case nil:
			// A null on both sides is reported with the values; without
			// values, the item is empty.
			if !hasValues {
				w.errorf(CodeStructure, "null in '_%s' with no value at the same position in '%s': the item is empty", ki.otherKey, ki.otherKey)
			}
		case map[string]any:
			w.object(obj, ki.child)
		default:
			w.errorf(CodeStructure, "items of '_%s' must be objects or null, found %s", ki.otherKey, jsonKind(item))
		}
		w.pop()
	}
}

// value validates one value (an array item, or the value of a 0..1 element).
func (w *walker) value(val any, ki *keyInfo) {
	if val == nil {
		w.errorf(CodeStructure, "null is not allowed: omit the element (null only lines up primitive arrays with their '_' extensions)")
		return
	}
	switch {
	case ki.prim != notPrim:
		w.primitive(val, ki)
	case ki.resource:
		m, ok := val.(map[string]any)
		if !ok {
			w.errorf(CodeStructure, "expected a resource (a JSON object with a resourceType), found %s", jsonKind(val))
			return
		}
		contained := ki.elem.e.Name == "contained"
		if contained {
			w.noteContained(m)
		}
		w.resource(m, contained)
		if contained {
			w.scopes[len(w.scopes)-1].contained = -1
		}
		return
	default:
		m, ok := val.(map[string]any)
		if !ok {
			w.errorf(CodeStructure, "expected an object (a %s), found %s", ki.typeName, jsonKind(val))
			return
		}
		if ki.child != nil {
			w.object(m, ki.child)
		}
		if ki.typeName == "Reference" {
			w.referenceTargetAllowed(m, ki.elem)
		}
		if ki.elem.codes != nil && ki.typeName == "CodeableConcept" {
			w.codeableConcept(m, ki.elem)
		}
	}
	if w.v.invariants != nil && len(ki.elem.invariants) > 0 {
		w.invariants(val, ki.typeName, ki.elem.invariants)
	}
}

// noteContained records a contained resource's id in the current scope.
func (w *walker) noteContained(m map[string]any) {
	s := &w.scopes[len(w.scopes)-1]
	idx := w.path[len(w.path)-1].index
	if s.containedP == nil {
		start := len(w.refPaths)
		w.refPaths = append(w.refPaths, w.path[:len(w.path)-1]...)
		s.containedP = w.refPaths[start:len(w.refPaths):len(w.refPaths)]
	}
	s.contained = idx
	if id, ok := m["id"].(string); ok {
		s.ids = append(s.ids, id)
		s.idPaths = append(s.idPaths, idx)
		s.checked = append(s.checked, false)
	}
}

// noteLocal records a "#..." value met in the current scope.
func (w *walker) noteLocal(v string, reference bool) {
	if len(w.scopes) == 0 {
		return
	}
	s := &w.scopes[len(w.scopes)-1]
	start := len(w.refPaths)
	w.refPaths = append(w.refPaths, w.path...)
	s.refs = append(s.refs, localRef{target: v[1:], from: s.contained, reference: reference, path: [2]int{start, len(w.refPaths)}})
}

func (w *walker) invariants(node any, typeName string, cs []model.Constraint) {
	ctx := InvariantContext{Node: node, Type: typeName}
	if n := len(w.resources); n > 0 {
		ctx.Resource = w.resources[n-1]
	}
	if n := len(w.scopes); n > 0 {
		ctx.RootResource = w.scopes[n-1].root
	}
	for _, c := range cs {
		ctx.Constraint = c
		ctx.Path = renderPath(w.path, "")
		ok, err := w.v.invariants.Check(ctx)
		switch {
		case err != nil:
			w.report(SeverityWarning, CodeProcessing, "", "could not evaluate invariant %s (%s): %v", c.Key, c.Expression, err)
		case !ok && c.Severity == "error":
			w.report(SeverityError, CodeInvariant, "", "invariant %s failed: %s", c.Key, c.Human)
		case !ok:
			w.report(SeverityWarning, CodeInvariant, "", "invariant %s failed: %s", c.Key, c.Human)
		}
	}
}

func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, float32, int, int64, int32:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		if len(v) == 0 {
			return "an empty array"
		}
		return "an array"
	}
	return fmt.Sprintf("a Go %T", v)
}

// sortIssues orders issues by path, so output does not depend on map order.
func sortIssues(issues []Issue) {
	slices.SortStableFunc(issues, func(a, b Issue) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Message, b.Message))
	})
}

// codeableConcept checks a required binding on a CodeableConcept: when it
// has codings, one of them must carry a code of the value set. Codes are
// compared without their system, as model.RequiredCodes lists codes only;
// a concept given as text alone is left alone.
func (w *walker) codeableConcept(m map[string]any, ei *elemInfo) {
	codings, _ := m["coding"].([]any)
	if len(codings) == 0 {
		return
	}
	var first string
	for _, c := range codings {
		cm, _ := c.(map[string]any)
		code, _ := cm["code"].(string)
		if ei.codes[code] {
			return
		}
		if first == "" {
			first = code
		}
	}
	if first == "" {
		w.errorf(CodeCodeInvalid, "no coding has a code, and a code from the required value set %s %s is needed", ei.vs, ei.vsShown)
		return
	}
	w.errorf(CodeCodeInvalid, "no coding has a code from the required value set %s %s (found '%s')", ei.vs, ei.vsShown, first)
}
