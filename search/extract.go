package search

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xietong/xietong/fhir/fhirpath"
	"github.com/xietong/xietong/fhir/model"
	"github.com/xietong/xietong/store"
)

// Indexer computes the search-index entries of resources with the FHIRPath
// expressions of the R4 SearchParameter definitions. Expressions are
// compiled once per resource type, on first use. It is safe for concurrent
// use.
type Indexer struct {
	mu    sync.RWMutex
	plans map[string]*plan
	zone  *time.Location
}

// NewIndexer returns an Indexer for the R4 search parameters. zone is the
// time zone of dates and dateTimes written without one (nil: UTC); queries
// must be parsed with the same zone (Options.Zone).
func NewIndexer(zone *time.Location) *Indexer {
	return &Indexer{plans: map[string]*plan{}, zone: zone}
}

type plan struct {
	params []compiledParam
	err    error
	// sizes are the entry counts by kind of the last resource of this
	// type indexed (atomically; any recent resource will do), so that the
	// next starts with slices of about its size instead of growing each
	// from nothing: a Synthea Observation has ~10 entries, and growing
	// them was a tenth of extraction's CPU (decision 028).
	sizes [8]atomic.Int32
}

// maxSizeHint bounds the capacity taken from sizes: one resource with
// thousands of entries must not make every later one allocate as many.
const maxSizeHint = 64

// presize gives x's slices the capacities of p's last resource.
func (p *plan) presize(x *store.Index) {
	hint := func(k int) int { return min(int(p.sizes[k].Load()), maxSizeHint) }
	x.Strings = withCap[store.StringEntry](hint(0))
	x.Tokens = withCap[store.TokenEntry](hint(1))
	x.References = withCap[store.ReferenceEntry](hint(2))
	x.Dates = withCap[store.DateEntry](hint(3))
	x.Numbers = withCap[store.NumberEntry](hint(4))
	x.Quantities = withCap[store.QuantityEntry](hint(5))
	x.URIs = withCap[store.URIEntry](hint(6))
	x.Composites = withCap[store.CompositeEntry](hint(7))
}

// withCap is an empty slice of capacity n, or nil when n is 0.
func withCap[E any](n int) []E {
	if n > 0 {
		return make([]E, 0, n)
	}
	return nil
}

// remember records x's entry counts for the next resource of p's type.
func (p *plan) remember(x *store.Index) {
	for k, n := range lengthsOf(x) {
		if int(p.sizes[k].Load()) != n {
			p.sizes[k].Store(int32(n))
		}
	}
}

type compiledParam struct {
	code string
	typ  store.ParamType
	expr *fhirpath.Expression
	// components of a composite parameter, evaluated on each value of expr.
	components []compiledParam
	// part marks a component: its entries become composite parts, which
	// keep no token text and no canonical quantity (appendCompositeParts), so
	// those are not computed.
	part bool
	// roots are the resource's elements expr starts from (one per branch
	// of a union, "value" for a choice value[x]), when every branch is a
	// path (navigation, where(), as) that yields nothing without its
	// root element; nil when it may yield something anyway
	// (Patient.deceased.exists() ...), so it is always evaluated.
	roots []string
}

// Special parameters answered by the store from the resource row, or not
// supported as index entries.
var notIndexed = map[string]bool{
	"_id": true, "_lastUpdated": true, "_text": true, "_content": true, "_query": true, "_list": true,
}

// Index implements fhirapi.Indexer.
func (ix *Indexer) Index(resourceType string, res map[string]any) (store.Index, error) {
	p := ix.plan(resourceType)
	var out store.Index
	if p.err != nil {
		return out, p.err
	}
	p.presize(&out)
	var compOpts *fhirpath.EvalOptions // for composites' components, made on first use
	var buf [32]string
	alt := altNames(buf[:0], res)
	for i := range p.params {
		cp := &p.params[i]
		if cp.roots != nil && !hasAnyRoot(res, alt, cp.roots) {
			// Nothing to evaluate: of Observation's 45 parameters a
			// Synthea Observation has the elements of about 15.
			continue
		}
		vals, err := cp.expr.Evaluate(res, nil)
		if err != nil {
			return out, fmt.Errorf("search parameter %s (%s): %w", cp.code, cp.expr, err)
		}
		before := lengthsOf(&out)
		switch cp.typ {
		case store.TypeComposite:
			if compOpts == nil {
				compOpts = &fhirpath.EvalOptions{Resource: res}
			}
			if err := addComposites(&out, cp, compOpts, vals, ix.zone); err != nil {
				return out, err
			}
		case store.TypeNear:
			addPosition(&out, vals)
		default:
			for _, v := range vals {
				addEntries(&out, cp, v, ix.zone)
			}
		}
		dedupe(&out, before)
	}
	p.remember(&out)
	return out, nil
}

// lengths are the entry counts of x by kind, for dedupe.
type lengths [8]int

func lengthsOf(x *store.Index) lengths {
	return lengths{len(x.Strings), len(x.Tokens), len(x.References), len(x.Dates),
		len(x.Numbers), len(x.Quantities), len(x.URIs), len(x.Composites)}
}

// dedupe drops the entries one parameter added (those past before) that
// equal another it added: two elements with the same value (an
// AuditEvent's two entities of one role) would otherwise be two index
// rows matching the same searches, written and kept for nothing.
func dedupe(x *store.Index, before lengths) {
	x.Strings = dedupeFrom(x.Strings, before[0])
	x.Tokens = dedupeFrom(x.Tokens, before[1])
	x.References = dedupeFrom(x.References, before[2])
	x.Dates = dedupeFrom(x.Dates, before[3])
	x.Numbers = dedupeFrom(x.Numbers, before[4])
	x.Quantities = dedupeFrom(x.Quantities, before[5])
	x.URIs = dedupeFrom(x.URIs, before[6])
	x.Composites = dedupeFrom(x.Composites, before[7])
}

// dedupeFrom removes the later of equal entries among s[from:], keeping
// the order (a parameter adds a handful, so pairwise is cheapest).
func dedupeFrom[E comparable](s []E, from int) []E {
	if len(s)-from < 2 {
		return s
	}
	n := from
	for i := from; i < len(s); i++ {
		dup := false
		for j := from; j < n; j++ {
			if s[j] == s[i] {
				dup = true
				break
			}
		}
		if !dup {
			s[n] = s[i]
			n++
		}
	}
	return s[:n]
}

func (ix *Indexer) plan(rt string) *plan {
	ix.mu.RLock()
	p := ix.plans[rt]
	ix.mu.RUnlock()
	if p != nil {
		return p
	}
	p = compilePlan(rt, false)
	ix.mu.Lock()
	ix.plans[rt] = p
	ix.mu.Unlock()
	return p
}

// compilePlan compiles the parameters of resource type rt that have
// entries of their own; withUnions adds those that are unions of others
// (unions), for the test that compares them.
func compilePlan(rt string, withUnions bool) *plan {
	p := &plan{}
	if !model.IsResourceType(rt) {
		p.err = fmt.Errorf("%q is not a resource type", rt)
		return p
	}
	sps := model.SearchParams(rt)
	codes := make([]string, 0, len(sps))
	for c := range sps {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, code := range codes {
		sp := sps[code]
		typ := store.ParamType(sp.Type)
		switch typ {
		case store.TypeString, store.TypeToken, store.TypeReference, store.TypeDate,
			store.TypeNumber, store.TypeQuantity, store.TypeURI, store.TypeComposite:
		default:
			if !isNear(rt, sp) {
				continue // other special parameters are not index entries
			}
			typ = store.TypeNear
		}
		if notIndexed[code] || unions[rt][code] != nil && !withUnions {
			continue
		}
		expr := sp.ExpressionFor(rt)
		if expr == "" {
			continue
		}
		compiled, err := fhirpath.Compile(expr)
		if err != nil {
			p.err = fmt.Errorf("compile search parameter %s.%s: %w", rt, code, err)
			return p
		}
		cp := compiledParam{code: code, typ: typ, expr: compiled, roots: pathRoots(rt, expr)}
		if typ == store.TypeComposite {
			types := ComponentTypes(sp)
			if types == nil {
				continue // a composite this server cannot index (none in R4)
			}
			for i, c := range sp.Components {
				ce, err := fhirpath.Compile(c.Expression)
				if err != nil {
					p.err = fmt.Errorf("compile component %d of search parameter %s.%s: %w", i+1, rt, code, err)
					return p
				}
				cp.components = append(cp.components, compiledParam{typ: types[i], expr: ce, part: true})
			}
		}
		p.params = append(p.params, cp)
	}
	return p
}

// pathRoots returns the elements of a resource of type rt that expr can
// start from, or nil unless every branch of expr (split at top-level
// "|") is a path from the resource (rt.a.b, Resource.meta.tag,
// (rt.value as Quantity), rt.subject.where(...), rt.x.as(T)): such a
// branch yields nothing when the resource has no root element. Anything
// else — functions of the whole (exists(), empty()), operators,
// indexers, a bare "Observation" — is evaluated always.
func pathRoots(rt, expr string) []string {
	var roots []string
	for _, b := range splitTop(expr) {
		root, ok := pathRoot(rt, stripWhere(strings.TrimSpace(b)))
		if !ok {
			return nil
		}
		if !slices.Contains(roots, root) {
			roots = append(roots, root)
		}
	}
	return roots
}

// splitTop splits s at the "|" outside parentheses and quotes.
func splitTop(s string) []string {
	var out []string
	start := 0
	scanExpr(s, 0, 0, func(i, depth int) bool {
		if s[i] == '|' && depth == 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
		return false
	})
	return append(out, s[start:])
}

// stripWhere removes every ".where(...)" (a filter: it yields a subset of
// what it is applied to), or returns "" when one is not closed.
func stripWhere(s string) string {
	for {
		i := strings.Index(s, ".where(")
		if i < 0 {
			return s
		}
		j := scanExpr(s, i+len(".where("), 1, func(_, depth int) bool { return depth == 0 })
		if j == len(s) {
			return ""
		}
		s = s[:i] + s[j+1:]
	}
}

// scanExpr walks the expression s from index from, starting at
// parenthesis depth depth, with FHIRPath's quoting ('...', a backslash
// escaping inside): at every byte outside quotes it calls stop with the
// depth after that byte, and returns the index where stop said true, or
// len(s).
func scanExpr(s string, from, depth int, stop func(i, depth int) bool) int {
	quoted := false
	for i := from; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
			continue
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		}
		if !quoted && stop(i, depth) {
			return i
		}
	}
	return len(s)
}

// pathRoot parses one branch without where(): optional "(", the type (rt,
// Resource or DomainResource), ".", the root element, then only ".name",
// " as Type", ".as(Type)" and ")" steps.
func pathRoot(rt, b string) (string, bool) {
	b = strings.TrimLeft(b, "(")
	typ, rest, ok := strings.Cut(b, ".")
	if !ok || (typ != rt && typ != "Resource" && typ != "DomainResource") {
		return "", false
	}
	root := ident(rest)
	if root == "" {
		return "", false
	}
	rest = rest[len(root):]
	for rest != "" {
		switch {
		case rest[0] == ')':
			rest = rest[1:]
		case strings.HasPrefix(rest, " as "):
			t := ident(rest[4:])
			if t == "" {
				return "", false
			}
			rest = rest[4+len(t):]
		case strings.HasPrefix(rest, ".as("):
			t := ident(rest[4:])
			if t == "" || !strings.HasPrefix(rest[4+len(t):], ")") {
				return "", false
			}
			rest = rest[5+len(t):]
		case rest[0] == '.':
			n := ident(rest[1:])
			if n == "" || strings.HasPrefix(rest[1+len(n):], "(") {
				return "", false // a function
			}
			rest = rest[1+len(n):]
		default:
			return "", false
		}
	}
	return root, true
}

// ident is the FHIRPath identifier s starts with (letters, digits, _).
func ident(s string) string {
	i := 0
	for i < len(s) && (s[i] == '_' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || i > 0 && s[i] >= '0' && s[i] <= '9') {
		i++
	}
	return s[:i]
}

// hasAnyRoot reports whether res has one of the elements: the name
// itself, its primitive extension (_name), or a choice type's value
// (valueQuantity for value). alt holds res's other names (altNames).
func hasAnyRoot(res map[string]any, alt []string, roots []string) bool {
	for _, r := range roots {
		if _, ok := res[r]; ok || slices.Contains(alt, r) {
			return true
		}
	}
	return false
}

// altNames appends the names under which res's keys can be a path's root
// besides the key itself: "status" for "_status", "value" for
// "valueQuantity" (a key cut before its first upper-case letter; a few
// are no choice, such as "service" for "serviceProvider", which only
// means a parameter is evaluated for nothing).
func altNames(dst []string, res map[string]any) []string {
	for k := range res {
		if n := strings.TrimPrefix(k, "_"); n != k {
			dst = append(dst, n)
			k = n
		}
		for i := 1; i < len(k); i++ {
			if k[i] >= 'A' && k[i] <= 'Z' {
				dst = append(dst, k[:i])
				break
			}
		}
	}
	return dst
}

// isNear reports whether sp is Location's near, the one special parameter
// indexed (as the position's latitude and longitude).
func isNear(rt string, sp *model.SearchParam) bool {
	return rt == "Location" && sp.Code == "near" && sp.Type == "special"
}

// ComponentTypes returns the parameter types of a composite's components,
// or nil when they cannot be indexed. The types come from the components'
// definitions, except for DocumentReference's relationship, whose R4
// definition names the two components' definitions the wrong way round
// (relatesto, a reference, over "code"; relation, a token, over "target"):
// its components are taken by their expressions, a token then a reference.
func ComponentTypes(sp *model.SearchParam) []store.ParamType {
	if len(sp.Components) == 0 || len(sp.Components) > store.MaxComponents {
		return nil
	}
	if sp.URL == "http://hl7.org/fhir/SearchParameter/DocumentReference-relationship" {
		return []store.ParamType{store.TypeToken, store.TypeReference}
	}
	out := make([]store.ParamType, len(sp.Components))
	for i, c := range sp.Components {
		def := model.SearchParamByURL(c.Definition)
		if def == nil {
			return nil
		}
		switch t := store.ParamType(def.Type); t {
		case store.TypeString, store.TypeToken, store.TypeReference, store.TypeDate,
			store.TypeNumber, store.TypeQuantity, store.TypeURI:
			out[i] = t
		default:
			return nil
		}
	}
	return out
}

// maxCompositeRows bounds the entries one composite value yields (the
// product of its components' values: codings times codings).
const maxCompositeRows = 64

// addComposites indexes each value of a composite's expression: the
// components evaluated on that value, every combination of their entries.
// opts names the resource (%resource) for the components' expressions;
// the caller makes it once per resource, not per component evaluated (an
// allocation of the whole EvalOptions each time, decision 028).
func addComposites(x *store.Index, cp *compiledParam, opts *fhirpath.EvalOptions, vals fhirpath.Collection, zone *time.Location) error {
	var tmp store.Index             // a component value's entries, reused
	var parts []store.CompositePart // a component's parts, reused
	for _, v := range vals {
		rows := [][]store.CompositePart{nil}
		for i := range cp.components {
			c := &cp.components[i]
			cv, err := c.expr.Evaluate(v, opts)
			if err != nil {
				return fmt.Errorf("search parameter %s component %d (%s): %w", cp.code, i+1, c.expr, err)
			}
			parts = parts[:0]
			for _, one := range cv {
				tmp = store.Index{Strings: tmp.Strings[:0], Tokens: tmp.Tokens[:0], References: tmp.References[:0],
					Dates: tmp.Dates[:0], Numbers: tmp.Numbers[:0], Quantities: tmp.Quantities[:0], URIs: tmp.URIs[:0]}
				addEntries(&tmp, c, one, zone)
				parts = appendCompositeParts(parts, &tmp)
			}
			var next [][]store.CompositePart
			for _, r := range rows {
				for _, p := range parts {
					if len(next) < maxCompositeRows {
						next = append(next, append(append([]store.CompositePart(nil), r...), p))
					}
				}
			}
			rows = next
		}
		for _, r := range rows {
			e := store.CompositeEntry{Param: cp.code}
			copy(e.Parts[:], r)
			x.Composites = append(x.Composites, e)
		}
	}
	return nil
}

// appendCompositeParts appends a component's entries (made under the
// empty parameter name) to out as composite parts, as store.CompositeEntry
// holds them.
func appendCompositeParts(out []store.CompositePart, x *store.Index) []store.CompositePart {
	for _, e := range x.Tokens {
		if e.Param == "" && e.Code != "" {
			out = append(out, store.CompositePart{System: e.System, Code: e.Code})
		}
	}
	for _, e := range x.Strings {
		out = append(out, store.CompositePart{System: e.Exact, Code: e.Norm})
	}
	for _, e := range x.References {
		if e.TargetID != "" {
			out = append(out, store.CompositePart{System: e.TargetType, Code: e.TargetID})
		} else {
			out = append(out, store.CompositePart{Code: e.URL})
		}
	}
	for _, e := range x.Dates {
		out = append(out, store.CompositePart{Low: float64(e.Low), High: float64(e.High)})
	}
	for _, e := range x.Numbers {
		out = append(out, store.CompositePart{Low: e.Low, High: e.High})
	}
	for _, e := range x.Quantities {
		out = append(out, store.CompositePart{System: e.System, Code: e.Code, Low: e.Low, High: e.High})
	}
	for _, e := range x.URIs {
		out = append(out, store.CompositePart{Code: e.URI})
	}
	return out
}

// addPosition indexes Location.position as two number entries.
func addPosition(x *store.Index, vals fhirpath.Collection) {
	for _, v := range vals {
		n, ok := v.Interface().(map[string]any)
		if !ok {
			continue
		}
		lat, ok1 := floatOf(n["latitude"])
		lon, ok2 := floatOf(n["longitude"])
		if !ok1 || !ok2 || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			continue
		}
		x.Numbers = append(x.Numbers,
			store.NumberEntry{Param: store.NearLat, Value: lat, Low: lat, High: lat},
			store.NumberEntry{Param: store.NearLon, Value: lon, Low: lon, High: lon})
	}
}

func floatOf(v any) (float64, bool) {
	s, ok := numberText(v)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

// addEntries converts one value of a parameter's expression into entries.
func addEntries(x *store.Index, cp *compiledParam, v fhirpath.Value, zone *time.Location) {
	t := strings.TrimPrefix(strings.TrimPrefix(v.TypeName(), "FHIR."), "System.")
	node := v.Interface()
	switch cp.typ {
	case store.TypeString:
		for _, s := range stringsOf(t, node) {
			x.Strings = append(x.Strings, store.StringEntry{Param: cp.code, Norm: NormalizeString(s), Exact: s})
		}
	case store.TypeToken:
		addTokens(x, cp.code, t, node, !cp.part)
	case store.TypeReference:
		addReference(x, cp.code, t, node)
	case store.TypeDate:
		if lo, hi, ok := dateRangeOf(t, node, zone); ok {
			x.Dates = append(x.Dates, store.DateEntry{Param: cp.code, Low: lo, High: hi})
		}
	case store.TypeNumber:
		// The search value's precision makes a range; the resource's value
		// is compared as the value it is (R4 search.html#number: 100.00
		// finds values in [99.995, 100.005), so a stored 72 matches 72.0).
		if s, ok := numberText(node); ok {
			if val, _, _, err := NumberRange(s); err == nil {
				x.Numbers = append(x.Numbers, store.NumberEntry{Param: cp.code, Value: val, Low: val, High: val})
			}
		}
	case store.TypeQuantity:
		addQuantityEntry(x, cp.code, node, !cp.part)
	case store.TypeURI:
		if s, ok := node.(string); ok && s != "" {
			x.URIs = append(x.URIs, store.URIEntry{Param: cp.code, URI: s})
		}
	}
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func stringsOf(t string, node any) []string {
	switch n := node.(type) {
	case string:
		if n != "" {
			return []string{n}
		}
	case map[string]any:
		var out []string
		add := func(v any) {
			switch s := v.(type) {
			case string:
				if s != "" {
					out = append(out, s)
				}
			case []any:
				for _, e := range s {
					if str, ok := e.(string); ok && str != "" {
						out = append(out, str)
					}
				}
			}
		}
		switch t {
		case "HumanName":
			for _, k := range []string{"text", "family", "given", "prefix", "suffix"} {
				add(n[k])
			}
		case "Address":
			for _, k := range []string{"text", "line", "city", "district", "state", "postalCode", "country"} {
				add(n[k])
			}
		default:
			// Any other complex value: its string-valued children.
			for _, v := range n {
				add(v)
			}
		}
		return out
	}
	return nil
}

// addTokens adds node's token entries; withText normalises their text
// (for :text), which a composite's part does not keep.
func addTokens(x *store.Index, code, t string, node any, withText bool) {
	add := func(system, c, text string) {
		if c != "" || system != "" {
			if withText {
				text = NormalizeString(text)
			} else {
				text = ""
			}
			x.Tokens = append(x.Tokens, store.TokenEntry{Param: code, System: system, Code: c, Text: text})
		}
	}
	switch n := node.(type) {
	case string:
		add("", n, "")
	case bool:
		if n {
			add("", "true", "")
		} else {
			add("", "false", "")
		}
	case json.Number:
		add("", n.String(), "")
	case map[string]any:
		switch t {
		case "CodeableConcept":
			text := str(n, "text")
			codings, _ := n["coding"].([]any)
			for _, c := range codings {
				if cm, ok := c.(map[string]any); ok {
					d := str(cm, "display")
					if withText && text != "" {
						d = text + " " + d
					}
					add(str(cm, "system"), str(cm, "code"), d)
				}
			}
			if withText && len(codings) == 0 && text != "" {
				x.Tokens = append(x.Tokens, store.TokenEntry{Param: code, Text: NormalizeString(text)})
			}
		case "Identifier":
			text := ""
			if ty, ok := n["type"].(map[string]any); ok {
				text = str(ty, "text")
				codings, _ := ty["coding"].([]any)
				for _, c := range codings {
					cm, _ := c.(map[string]any)
					if v := str(n, "value"); cm != nil && v != "" && str(cm, "code") != "" {
						x.Tokens = append(x.Tokens, store.TokenEntry{Param: code + suffixOfType, System: str(cm, "system") + "|" + str(cm, "code"), Code: v})
					}
				}
			}
			add(str(n, "system"), str(n, "value"), text)
		case "ContactPoint":
			add(str(n, "system"), str(n, "value"), "")
		default: // Coding and anything coding-shaped
			add(str(n, "system"), str(n, "code"), str(n, "display"))
		}
	}
}

// Derived parameter names under which modifiers are indexed as tokens:
// subject:identifier holds Reference.identifier (system|value);
// identifier:of-type holds Identifier type and value, the system being
// the type's "system|code".
const (
	suffixIdentifier = ":identifier"
	suffixOfType     = ":of-type"
)

func addReference(x *store.Index, code, t string, node any) {
	var ref string
	switch n := node.(type) {
	case string: // canonical or uri
		ref = n
	case map[string]any:
		ref = str(n, "reference")
		if id, ok := n["identifier"].(map[string]any); ok {
			if v := str(id, "value"); v != "" {
				x.Tokens = append(x.Tokens, store.TokenEntry{Param: code + suffixIdentifier, System: str(id, "system"), Code: v})
			}
		}
	}
	if ref == "" || strings.HasPrefix(ref, "#") {
		return
	}
	if typ, id, ok := localRef(ref); ok && !strings.Contains(ref, "://") {
		x.References = append(x.References, store.ReferenceEntry{Param: code, TargetType: typ, TargetID: id})
		return
	}
	e := store.ReferenceEntry{Param: code, URL: ref}
	if typ, id, ok := localRef(ref); ok {
		// An absolute reference also matches by type and id.
		e.TargetType, e.TargetID = typ, id
	}
	x.References = append(x.References, e)
}

func dateRangeOf(t string, node any, zone *time.Location) (int64, int64, bool) {
	switch n := node.(type) {
	case string:
		lo, hi, err := DateRange(n, zone)
		return lo, hi, err == nil
	case map[string]any:
		switch t {
		case "Period":
			lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
			ok := false
			if s := str(n, "start"); s != "" {
				if l, _, err := DateRange(s, zone); err == nil {
					lo, ok = l, true
				}
			}
			if s := str(n, "end"); s != "" {
				if _, h, err := DateRange(s, zone); err == nil {
					hi, ok = h, true
				}
			}
			return lo, hi, ok
		case "Timing":
			events, _ := n["event"].([]any)
			lo, hi, ok := int64(math.MaxInt64), int64(math.MinInt64), false
			for _, e := range events {
				if s, isStr := e.(string); isStr {
					if l, h, err := DateRange(s, zone); err == nil {
						lo, hi, ok = min(lo, l), max(hi, h), true
					}
				}
			}
			return lo, hi, ok
		}
	}
	return 0, 0, false
}

func numberText(node any) (string, bool) {
	switch n := node.(type) {
	case json.Number:
		return n.String(), true
	case int64:
		return fmt.Sprint(n), true
	}
	return "", false
}

// addQuantityEntry adds node's quantity entry, with its canonical unit
// when canonical is set (a composite's part does not keep it).
func addQuantityEntry(x *store.Index, code string, node any, canonical bool) {
	n, ok := node.(map[string]any)
	if !ok {
		return
	}
	s, ok := numberText(n["value"])
	if !ok {
		return
	}
	val, _, _, err := NumberRange(s)
	if err != nil {
		return
	}
	lo, hi := val, val // a point, as for numbers
	unit := str(n, "code")
	if unit == "" {
		unit = str(n, "unit")
	}
	e := store.QuantityEntry{Param: code, System: str(n, "system"), Code: unit, Low: lo, High: hi}
	// A UCUM-coded unit held in ucumUnits is also stored in its canonical
	// unit, so a search in another unit of the dimension compares with it.
	if c := str(n, "code"); canonical && e.System == UCUMSystem && c != "" {
		if canon, v, ok := CanonicalUnit(c, val); ok {
			e.CanonicalCode, e.CanonicalLow, e.CanonicalHigh = canon, v, v
		}
	}
	x.Quantities = append(x.Quantities, e)
}
