package search

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xietong/xietong/fhir/model"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/store"
)

// Request is a parsed search: the store query plus what shapes the answer.
type Request struct {
	Query *store.Query
	// Summary is _summary (true, text, data, count, false or "").
	Summary string
	// Elements is _elements.
	Elements []string
	// Ignored lists parameters ignored under lenient handling, with why.
	Ignored []string
	// Self is the canonical form of the parameters that were used, for
	// the Bundle's self link.
	Self url.Values
}

// Options control parsing.
type Options struct {
	// Strict rejects unknown parameters (Prefer: handling=strict); when
	// false they are ignored and listed in Request.Ignored.
	Strict bool
	// DefaultCount and MaxCount bound _count.
	DefaultCount, MaxCount int
	// Zone is the time zone of dates written without one (nil: UTC); it
	// must be the zone the Indexer uses.
	Zone *time.Location
	// Terminology and Context answer :in, :not-in, and :below and :above
	// on tokens; without Terminology those modifiers are not supported.
	Terminology Terminology
	Context     context.Context
	// Identifiers, when set, lists the identifiers a search for
	// system|value on an identifier parameter also matches, itself
	// included in the form it is stored in (nil: search as given). The
	// EMPI's says that a resident ID number is stored upper case, upgraded
	// from 15 digits, and is the same under its two systems; a clerk's
	// lower-case x found nobody. Only plain searches are widened (no
	// modifier): an OR of :not predicates would match everything.
	Identifiers func(system, value string) []store.Coding
}

// Parse turns the parameters of a search on resourceType ("" for a
// system-wide search) into a Request. Errors are *outcome.Error with status
// 400 naming the offending parameter.
func Parse(resourceType string, params url.Values, opts Options) (*Request, error) {
	if opts.DefaultCount == 0 {
		opts.DefaultCount = 50
	}
	if opts.MaxCount == 0 {
		opts.MaxCount = 1000
	}
	q := &store.Query{Count: opts.DefaultCount}
	req := &Request{Query: q, Self: url.Values{}}
	if resourceType != "" {
		q.Types = []string{resourceType}
	}
	// _type first: it decides which parameters are known on a system search.
	if vs, ok := params["_type"]; ok {
		if resourceType != "" {
			return nil, outcome.BadRequest("_type is only allowed in a search across all types (GET [base]?_type=...)")
		}
		for _, v := range vs {
			for _, t := range strings.Split(v, ",") {
				if !model.IsResourceType(t) {
					return nil, outcome.BadRequest("_type: %q is not a FHIR R4 resource type", t).At("_type")
				}
				q.Types = append(q.Types, t)
			}
		}
		req.Self["_type"] = vs
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		values := params[key]
		var err error
		switch key {
		case "_type", "_format", "_pretty":
			continue
		case "_count":
			q.Count, err = intParam(key, values, 0, opts.MaxCount)
			if q.Count == 0 && err == nil && values[len(values)-1] == "0" {
				q.CountOnly = true
			}
		case "_offset":
			q.Offset, err = intParam(key, values, 0, 1<<30)
		case "_cursor":
			q.Cursor = values[len(values)-1]
		case "_total":
			switch values[len(values)-1] {
			case "none":
				q.Total = store.TotalNone
			case "estimate":
				q.Total = store.TotalEstimate
			case "accurate":
				q.Total = store.TotalAccurate
			default:
				err = outcome.BadRequest("_total must be none, estimate or accurate, not %q", values[len(values)-1]).At("_total")
			}
		case "_summary":
			v := values[len(values)-1]
			switch v {
			case "true", "false", "text", "data":
				req.Summary = v
			case "count":
				req.Summary = v
				q.CountOnly = true
			default:
				err = outcome.BadRequest("_summary must be true, text, data, count or false, not %q", v).At("_summary")
			}
		case "_elements":
			for _, v := range values {
				for _, e := range strings.Split(v, ",") {
					if e = strings.TrimSpace(e); e != "" {
						req.Elements = append(req.Elements, e)
					}
				}
			}
		case "_sort":
			q.Sort, err = parseSort(resourceType, values)
		case "_include", "_include:iterate", "_include:recurse":
			var incs []store.Include
			incs, err = parseIncludes(key, values)
			q.Include = append(q.Include, incs...)
		case "_revinclude", "_revinclude:iterate", "_revinclude:recurse":
			var incs []store.Include
			incs, err = parseIncludes(key, values)
			q.RevInclude = append(q.RevInclude, incs...)
		case "_contained", "_containedType", "_query", "_filter", "_list", "_text", "_content":
			// Not supported (CapabilityStatement lists what is): rejected
			// under strict handling, ignored (and reported) under lenient.
			err = unsupported(key, "")
			if !opts.Strict {
				req.Ignored = append(req.Ignored, err.Error())
				continue
			}
		default:
			var clauses []store.Clause
			clauses, err = parseParam(q.Types, key, values, &opts)
			if err == nil {
				q.Where = append(q.Where, clauses...)
			} else if isUnknown(err) && !opts.Strict {
				req.Ignored = append(req.Ignored, err.Error())
				continue
			}
		}
		if err != nil {
			return nil, err
		}
		if key != "_cursor" && key != "_offset" {
			req.Self[key] = values
		}
	}
	return req, nil
}

// unknownParamError marks an unknown parameter name: ignored under
// lenient handling, rejected under strict.
type unknownParamError struct{ err *outcome.Error }

func (e unknownParamError) Error() string { return e.err.Error() }
func (e unknownParamError) Unwrap() error { return e.err }
func isUnknown(err error) bool {
	_, ok := err.(unknownParamError)
	return ok
}

// unsupported says what is not supported: key, and why in parentheses
// ("(modifier :x on a string parameter)"), or "" when the name says it.
func unsupported(key, why string) error {
	if why != "" {
		why = " " + why
	}
	return outcome.New(400, "not-supported", "Search parameter %s%s is not supported by this server.", key, why).At(key)
}

func intParam(key string, values []string, lo, hi int) (int, error) {
	v := values[len(values)-1]
	n, err := strconv.Atoi(v)
	if err != nil || n < lo {
		return 0, outcome.BadRequest("%s must be a whole number of at least %d, not %q", key, lo, v).At(key)
	}
	if n > hi {
		n = hi
	}
	return n, nil
}

func parseSort(resourceType string, values []string) ([]store.Sort, error) {
	var out []store.Sort
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			s := store.Sort{Param: strings.TrimPrefix(f, "-"), Desc: strings.HasPrefix(f, "-")}
			switch s.Param {
			case "_id":
				s.Type = store.TypeToken
			case "_lastUpdated":
				s.Type = store.TypeDate
			default:
				sp := lookupParam([]string{resourceType}, s.Param)
				if resourceType == "" || sp == nil {
					return nil, outcome.BadRequest("_sort: %q is not a search parameter of %s", s.Param, orAll(resourceType)).At("_sort")
				}
				switch sp.Type {
				case "string", "date", "token", "number", "uri":
					s.Type, s.Also = store.ParamType(sp.Type), unionParts(sp, s.Param)
				default:
					return nil, unsupported("_sort", fmt.Sprintf("on a %s parameter (%s)", sp.Type, s.Param))
				}
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func orAll(t string) string {
	if t == "" {
		return "all resource types"
	}
	return t
}

// lookupParam finds a parameter known to every one of types (all types
// when types is empty, i.e. the parameters defined on Resource).
func lookupParam(types []string, code string) *model.SearchParam {
	if len(types) == 0 || (len(types) == 1 && types[0] == "") {
		return model.SearchParams("Patient")[code].OnlyIfBase("Resource")
	}
	var found *model.SearchParam
	for _, t := range types {
		sp := model.SearchParams(t)[code]
		if sp == nil {
			return nil
		}
		if found == nil {
			found = sp
		} else if found.Type != sp.Type {
			return nil
		}
	}
	return found
}

// parseParam parses one parameter name with its values into clauses (one
// clause per repetition: repeated parameters are ANDed). The name may be a
// chain (subject:Patient.organization.name) or a reverse chain
// (_has:Observation:patient:code).
func parseParam(types []string, key string, values []string, opts *Options) ([]store.Clause, error) {
	return parseParamDepth(types, key, key, values, 0, opts)
}

// maxChainDepth bounds chains and _has nesting.
const maxChainDepth = 4

func parseParamDepth(types []string, fullKey, key string, values []string, depth int, opts *Options) ([]store.Clause, error) {
	if depth > maxChainDepth {
		return nil, outcome.BadRequest("%s: chains and _has may nest at most %d levels.", fullKey, maxChainDepth).At(fullKey)
	}
	if strings.HasPrefix(key, "_has:") {
		return parseHas(types, fullKey, key, values, depth, opts)
	}
	name, chain, _ := strings.Cut(key, ".")
	name, modifier, _ := strings.Cut(name, ":")
	sp := lookupParam(types, name)
	if sp == nil {
		return nil, unknownParamError{outcome.BadRequest("Unknown search parameter %q for %s. Check the spelling, or the CapabilityStatement at [base]/metadata for the parameters supported.", name, orAll(strings.Join(types, ","))).At(fullKey)}
	}
	if chain != "" {
		return parseChain(types, fullKey, sp, name, modifier, chain, values, depth, opts)
	}
	var clauses []store.Clause
	for _, v := range values {
		var clause store.Clause
		for _, one := range splitOr(v) {
			ps, err := parsePredicates(sp, fullKey, name, modifier, one, opts)
			if err != nil {
				return nil, err
			}
			clause = append(clause, ps...)
		}
		if len(clause) > 0 {
			clauses = append(clauses, clause)
		}
	}
	return clauses, nil
}

// parseChain parses name[:Type].rest: the referenced resources of the
// given (or any allowed) target types must match rest.
func parseChain(types []string, fullKey string, sp *model.SearchParam, name, modifier, rest string, values []string, depth int, opts *Options) ([]store.Clause, error) {
	if sp.Type != "reference" {
		return nil, outcome.BadRequest("%s: only reference parameters can be chained; %s is a %s parameter.", fullKey, name, sp.Type).At(fullKey)
	}
	targets := sp.Target
	if modifier != "" {
		if !model.IsResourceType(modifier) || !slices.Contains(sp.Target, modifier) {
			return nil, outcome.BadRequest("%s: %s cannot refer to a %s (allowed: %s).", fullKey, name, modifier, strings.Join(sp.Target, ", ")).At(fullKey)
		}
		targets = []string{modifier}
	}
	// Keep the targets that know the chained parameter.
	next, _, _ := strings.Cut(rest, ".")
	next, _, _ = strings.Cut(next, ":")
	var known []string
	for _, t := range targets {
		if strings.HasPrefix(rest, "_has:") || model.SearchParams(t)[next] != nil {
			known = append(known, t)
		}
	}
	if len(known) == 0 {
		return nil, unknownParamError{outcome.BadRequest("%s: none of the resource types %s can refer to (%s) has a search parameter %q.", fullKey, name, strings.Join(targets, ", "), next).At(fullKey)}
	}
	// Parse the rest against each known target type that agrees on the
	// parameter's type; a type disagreeing is a bad request.
	inner, err := parseParamDepth(known, fullKey, rest, values, depth+1, opts)
	if err != nil {
		return nil, err
	}
	out := make([]store.Clause, len(inner))
	for i, c := range inner {
		out[i] = store.Clause{{Param: name, Type: store.TypeReference, Chain: &store.Chain{Types: known, Where: []store.Clause{c}}}}
	}
	return out, nil
}

// parseHas parses _has:Type:param:rest: resources of Type whose reference
// parameter param points at the searched resource must match rest.
func parseHas(types []string, fullKey, key string, values []string, depth int, opts *Options) ([]store.Clause, error) {
	parts := strings.SplitN(key, ":", 4)
	if len(parts) != 4 || parts[1] == "" || parts[2] == "" || parts[3] == "" {
		return nil, outcome.BadRequest("%s: _has takes the form _has:Type:reference-parameter:search-parameter=value.", fullKey).At(fullKey)
	}
	typ, ref, rest := parts[1], parts[2], parts[3]
	if !model.IsResourceType(typ) {
		return nil, outcome.BadRequest("%s: %q is not a resource type.", fullKey, typ).At(fullKey)
	}
	rp := model.SearchParams(typ)[ref]
	if rp == nil || rp.Type != "reference" {
		return nil, outcome.BadRequest("%s: %s has no reference search parameter %q.", fullKey, typ, ref).At(fullKey)
	}
	if len(types) > 0 && types[0] != "" {
		ok := false
		for _, t := range types {
			ok = ok || slices.Contains(rp.Target, t)
		}
		if !ok {
			return nil, outcome.BadRequest("%s: %s.%s cannot refer to %s.", fullKey, typ, ref, strings.Join(types, ", ")).At(fullKey)
		}
	}
	inner, err := parseParamDepth([]string{typ}, fullKey, rest, values, depth+1, opts)
	if err != nil {
		return nil, err
	}
	out := make([]store.Clause, len(inner))
	for i, c := range inner {
		out[i] = store.Clause{{Has: &store.Has{Type: typ, Param: ref, Where: []store.Clause{c}}}}
	}
	return out, nil
}

// parseIncludes parses _include and _revinclude values:
// Source:param[:Target] or *, with the :iterate modifier in the key.
func parseIncludes(key string, values []string) ([]store.Include, error) {
	iterate := strings.HasSuffix(key, ":iterate") || strings.HasSuffix(key, ":recurse")
	var out []store.Include
	for _, v := range values {
		for _, one := range strings.Split(v, ",") {
			if one == "*" {
				out = append(out, store.Include{Param: "*", Iterate: iterate})
				continue
			}
			parts := strings.Split(one, ":")
			if len(parts) < 2 || len(parts) > 3 {
				return nil, outcome.BadRequest("%s=%s: the value takes the form SourceType:parameter[:TargetType] or *.", key, one).At(key)
			}
			inc := store.Include{SourceType: parts[0], Param: parts[1], Iterate: iterate}
			if !model.IsResourceType(inc.SourceType) {
				return nil, outcome.BadRequest("%s=%s: %q is not a resource type.", key, one, inc.SourceType).At(key)
			}
			if inc.Param != "*" {
				sp := model.SearchParams(inc.SourceType)[inc.Param]
				if sp == nil || sp.Type != "reference" {
					return nil, outcome.BadRequest("%s=%s: %s has no reference search parameter %q.", key, one, inc.SourceType, inc.Param).At(key)
				}
				if len(parts) == 3 {
					if !slices.Contains(sp.Target, parts[2]) {
						return nil, outcome.BadRequest("%s=%s: %s.%s cannot refer to a %s.", key, one, inc.SourceType, inc.Param, parts[2]).At(key)
					}
					inc.TargetType = parts[2]
				}
			}
			out = append(out, inc)
		}
	}
	return out, nil
}

// splitOr splits a value on unescaped commas and unescapes \, \| \$ \\.
func splitOr(v string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			b.WriteByte('\\')
			b.WriteByte(v[i+1])
			i++
			continue
		}
		if c == ',' {
			out = append(out, b.String())
			b.Reset()
			continue
		}
		b.WriteByte(c)
	}
	return append(out, b.String())
}

// splitUnescaped splits s at every unescaped sep (escapes kept).
func splitUnescaped(s string, sep byte) []string {
	var out []string
	for {
		before, after, found := cutUnescaped(s, sep)
		out = append(out, before)
		if !found {
			return out
		}
		s = after
	}
}

// cutUnescaped splits s at the first unescaped sep.
func cutUnescaped(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parsePredicates parses one value (of a comma-separated list) into the
// predicates it stands for: one, except for :above on a uri (one per
// parent of the value).
func parsePredicates(sp *model.SearchParam, key, name, modifier, value string, opts *Options) ([]store.Predicate, error) {
	if sp.Type == "uri" && modifier == "above" {
		if value == "" {
			return nil, outcome.BadRequest("%s: a value is required", key).At(key)
		}
		var out []store.Predicate
		for _, u := range uriParents(unescape(value)) {
			out = append(out, store.Predicate{Param: name, Type: store.TypeURI, URI: u})
		}
		return out, nil
	}
	p, err := parsePredicate(sp, key, name, modifier, value, opts, false)
	if err != nil {
		return nil, err
	}
	if opts.Identifiers != nil && modifier == "" && identifierParam(sp) && !p.AnySystem && p.System != "" && p.Code != "" {
		if alts := opts.Identifiers(p.System, p.Code); len(alts) > 0 {
			out := make([]store.Predicate, len(alts))
			for i, c := range alts {
				out[i] = p
				out[i].System, out[i].Code = c.System, c.Code
			}
			return out, nil
		}
	}
	return []store.Predicate{p}, nil
}

// identifierParam tells whether sp searches Identifier values (a token
// parameter named identifier or whose expression ends in .identifier).
func identifierParam(sp *model.SearchParam) bool {
	return sp.Type == "token" && (sp.Code == "identifier" || strings.HasSuffix(sp.Expression, ".identifier"))
}

// uriParents lists u and every prefix of it that ends at a path segment
// (with and without the slash), down to the authority: the uris :above
// matches (http://hl7.org/fhir/R4/search.html#uri: "the search parameter
// will match on any resource whose uri is a parent of the supplied
// value").
func uriParents(u string) []string {
	out := []string{u}
	start := 0
	if i := strings.Index(u, "://"); i >= 0 {
		start = i + 3
		if j := strings.IndexByte(u[start:], '/'); j >= 0 {
			start += j
		} else {
			return out
		}
	} else if i := strings.IndexByte(u, ':'); i >= 0 {
		start = i + 1 // urn:oid:1.2.3 has no path to walk
		return out
	}
	for i := len(u) - 1; i >= start; i-- {
		if u[i] == '/' {
			if p := u[:i+1]; p != u && !slices.Contains(out, p) {
				out = append(out, p)
			}
			if p := u[:i]; p != u && p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// parsePredicate parses one value of a parameter into a predicate; raw
// keeps a quantity in the unit written (a composite's component:
// composite entries hold no canonical units).
func parsePredicate(sp *model.SearchParam, key, name, modifier, value string, opts *Options, raw bool) (store.Predicate, error) {
	p := store.Predicate{Param: name, Type: store.ParamType(sp.Type), Also: unionParts(sp, name)}
	if sp.Type == "special" && sp.Code == "near" && slices.Contains(sp.Base, "Location") {
		p.Type = store.TypeNear
	}
	bad := func(format string, args ...any) (store.Predicate, error) {
		return p, outcome.BadRequest(key+": "+format, args...).At(key)
	}
	if modifier == "missing" {
		switch value {
		case "true", "false":
			m := value == "true"
			p.Missing = &m
			return p, nil
		}
		return bad("the value of :missing must be true or false, not %q", value)
	}
	if value == "" {
		return bad("a value is required")
	}
	switch name {
	case "_id":
		switch modifier {
		case "":
		case "not":
			p.Not = true
		default:
			return p, unsupported(key, fmt.Sprintf("(modifier :%s on _id)", modifier))
		}
		p.Type, p.Code = store.TypeToken, unescape(value)
		return p, nil
	case "_lastUpdated":
		p.Type = store.TypeDate
	}
	switch p.Type {
	case store.TypeString:
		switch modifier {
		case "":
			p.Match, p.String = store.StringStartsWith, NormalizeString(unescape(value))
		case "contains":
			p.Match, p.String = store.StringContains, NormalizeString(unescape(value))
		case "exact":
			p.Match, p.String = store.StringExact, unescape(value)
		default:
			return p, unsupported(key, fmt.Sprintf("(modifier :%s on a string parameter)", modifier))
		}
	case store.TypeToken:
		switch modifier {
		case "", "not":
			p.Not = modifier == "not"
			sys, code, hasBar := cutUnescaped(value, '|')
			if hasBar {
				p.System, p.Code = unescape(sys), unescape(code)
			} else {
				p.AnySystem, p.Code = true, unescape(sys)
			}
			if p.System == "" && p.Code == "" {
				return bad("a token needs a code, system|code, |code or system|")
			}
		case "text":
			p.TextSearch, p.String = true, NormalizeString(unescape(value))
		case "in", "not-in", "below", "above":
			if err := codeSet(&p, key, modifier, value, opts); err != nil {
				return p, err
			}
		case "of-type":
			// system|code|value of an Identifier's type and value.
			parts := splitUnescaped(value, '|')
			if len(parts) != 3 || parts[1] == "" || parts[2] == "" || !identifierParam(sp) {
				return bad(":of-type applies to identifier parameters and takes type-system|type-code|value")
			}
			p.Param = name + suffixOfType
			p.System, p.Code = unescape(parts[0])+"|"+unescape(parts[1]), unescape(parts[2])
		default:
			return p, unsupported(key, fmt.Sprintf("(modifier :%s on a token parameter)", modifier))
		}
	case store.TypeReference:
		if modifier == "identifier" {
			// Reference.identifier, indexed as a token (see addReference).
			sys, code, hasBar := cutUnescaped(value, '|')
			p.Param, p.Type = name+suffixIdentifier, store.TypeToken
			if hasBar {
				p.System, p.Code = unescape(sys), unescape(code)
			} else {
				p.AnySystem, p.Code = true, unescape(sys)
			}
			if p.Code == "" {
				return bad(":identifier takes system|value or value")
			}
			return p, nil
		}
		if modifier != "" {
			if !model.IsResourceType(modifier) {
				return p, unsupported(key, fmt.Sprintf("(modifier :%s on a reference parameter)", modifier))
			}
			p.TargetType = modifier
		}
		v := unescape(value)
		switch {
		case strings.Contains(v, "://") || strings.HasPrefix(v, "urn:"):
			p.URL = v
			if t, id, ok := localRef(v); ok {
				p.URL, p.TargetType, p.TargetID = "", t, id
			}
		case strings.Contains(v, "/"):
			t, id, ok := localRef(v)
			if !ok {
				return bad("%q is not a reference of the form Type/id", v)
			}
			if p.TargetType != "" && p.TargetType != t {
				return bad("the type modifier :%s disagrees with the reference %q", p.TargetType, v)
			}
			p.TargetType, p.TargetID = t, id
		default:
			p.TargetID = v
		}
		if p.TargetType != "" && len(sp.Target) > 0 && !slices.Contains(sp.Target, p.TargetType) {
			return bad("%s cannot refer to a %s (allowed: %s)", name, p.TargetType, strings.Join(sp.Target, ", "))
		}
	case store.TypeDate:
		if modifier != "" {
			return p, unsupported(key, fmt.Sprintf("(modifier :%s on a date parameter)", modifier))
		}
		prefix, rest := splitPrefix(value)
		lo, hi, err := DateRange(rest, opts.Zone)
		if err != nil {
			return bad("%v", err)
		}
		p.Prefix, p.DateLow, p.DateHigh = prefix, lo, hi
	case store.TypeNumber:
		if modifier != "" {
			return p, unsupported(key, fmt.Sprintf("(modifier :%s on a number parameter)", modifier))
		}
		prefix, rest := splitPrefix(value)
		v, lo, hi, err := NumberRange(rest)
		if err != nil {
			return bad("%v", err)
		}
		p.Prefix = prefix
		p.NumLow, p.NumHigh = numberBounds(prefix, v, lo, hi)
	case store.TypeQuantity:
		if modifier != "" {
			return p, unsupported(key, fmt.Sprintf("(modifier :%s on a quantity parameter)", modifier))
		}
		prefix, rest := splitPrefix(value)
		num, unit, _ := cutUnescaped(rest, '|')
		v, lo, hi, err := NumberRange(num)
		if err != nil {
			return bad("%v", err)
		}
		p.Prefix = prefix
		p.NumLow, p.NumHigh = numberBounds(prefix, v, lo, hi)
		if unit != "" {
			sys, code, hasBar := cutUnescaped(unit, '|')
			if hasBar {
				p.System, p.Code = unescape(sys), unescape(code)
			} else {
				p.AnySystem, p.Code = true, unescape(sys)
			}
		} else {
			p.AnySystem = true
		}
		// A UCUM unit held in ucumUnits compares in the canonical unit of
		// its dimension (5.4|http://unitsofmeasure.org|mg/dL finds 0.054
		// g/L). Without the UCUM system the code is matched as written,
		// whatever system the stored unit has.
		// ap on a unit with an offset (temperatures) stays in the unit
		// written: its 10% leeway would otherwise be 10% of kelvins.
		if !raw && p.System == UCUMSystem && !p.AnySystem && !(prefix == store.PrefixAp && ucumUnits[p.Code].offset != 0) {
			if canon, lo, ok := CanonicalUnit(p.Code, p.NumLow); ok {
				_, hi, _ := CanonicalUnit(p.Code, p.NumHigh)
				p.Canonical, p.Code, p.NumLow, p.NumHigh = true, canon, lo, hi
			}
		}
	case store.TypeURI:
		switch modifier {
		case "":
		case "below":
			p.Below = true
		default:
			return p, unsupported(key, fmt.Sprintf("(modifier :%s on a uri parameter)", modifier))
		}
		p.URI = unescape(value)
	case store.TypeComposite:
		if modifier != "" {
			return p, unsupported(key, fmt.Sprintf("(modifier :%s on a composite parameter)", modifier))
		}
		types := ComponentTypes(sp)
		if types == nil {
			return p, unsupported(key, "(this composite parameter)")
		}
		parts := splitUnescaped(value, '$')
		if len(parts) != len(types) {
			return bad("a value of %s has %d parts separated by $ (one per component), not %d", name, len(types), len(parts))
		}
		for i, part := range parts {
			csp := &model.SearchParam{Code: name, Type: string(types[i])}
			// raw: composite entries hold quantities in the unit written.
			c, err := parsePredicate(csp, key, name, "", part, opts, true)
			if err != nil {
				return p, err
			}
			if c.Type == store.TypeToken && c.Not {
				return bad("component %d: :not does not apply inside a composite", i+1)
			}
			p.Components = append(p.Components, c)
		}
	case store.TypeNear:
		if modifier != "" {
			return p, unsupported(key, fmt.Sprintf("(modifier :%s on near)", modifier))
		}
		n, err := parseNear(unescape(value))
		if err != nil {
			return bad("%v", err)
		}
		p.Near = n
	default:
		return p, unsupported(key, fmt.Sprintf("(a %s parameter)", sp.Type))
	}
	return p, nil
}

// DefaultNearKm is the distance near uses when the value gives none
// (R4 leaves it to the server).
const DefaultNearKm = 10.0

// parseNear parses latitude|longitude[|distance[|unit]]: WGS84 degrees,
// the distance in km (the default unit), mi or m.
func parseNear(v string) (*store.Near, error) {
	parts := strings.Split(v, "|")
	if len(parts) < 2 || len(parts) > 4 {
		return nil, fmt.Errorf("near takes latitude|longitude|distance|unit, for example 31.2304|121.4737|5|km")
	}
	num := func(s, what string, lo, hi float64) (float64, error) {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || f < lo || f > hi {
			return 0, fmt.Errorf("near: the %s %q is not a number from %g to %g", what, s, lo, hi)
		}
		return f, nil
	}
	lat, err := num(parts[0], "latitude", -90, 90)
	if err != nil {
		return nil, err
	}
	lon, err := num(parts[1], "longitude", -180, 180)
	if err != nil {
		return nil, err
	}
	n := &store.Near{Lat: lat, Lon: lon, Km: DefaultNearKm}
	if len(parts) >= 3 && parts[2] != "" {
		d, err := num(parts[2], "distance", 0, 40075)
		if err != nil {
			return nil, err
		}
		unit := "km"
		if len(parts) == 4 && parts[3] != "" {
			unit = parts[3]
		}
		switch unit {
		case "km", "kilometers", "kilometres":
			n.Km = d
		case "mi", "[mi_i]", "mi_i", "miles":
			n.Km = d * 1.609344
		case "m":
			n.Km = d / 1000
		default:
			return nil, fmt.Errorf("near: the unit %q is not km, mi or m", unit)
		}
	}
	return n, nil
}

// codeSet fills a token predicate with the codes a :in, :not-in, :below
// or :above stands for, from the code systems and value sets held in the
// server.
func codeSet(p *store.Predicate, key, modifier, value string, opts *Options) error {
	if opts.Terminology == nil {
		return unsupported(key, fmt.Sprintf("(modifier :%s without a terminology)", modifier))
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	notHeld := func(what string) error {
		return outcome.New(400, "not-supported", "%s: %s is not held in this server; :%s works with the CodeSystem and ValueSet resources stored here.", key, what, modifier).At(key)
	}
	p.CodeSet = true
	switch modifier {
	case "in", "not-in":
		url := unescape(value)
		p.Not = modifier == "not-in"
		cs, err := opts.Terminology.Expand(ctx, url)
		switch {
		case errors.Is(err, ErrNotHeld):
			return notHeld("the value set " + url)
		case err != nil:
			var oe *outcome.Error
			if errors.As(err, &oe) {
				return err
			}
			if errors.Is(err, store.ErrTimeout) || ctx.Err() != nil {
				return err
			}
			return outcome.New(400, "not-supported", "%s: cannot expand %s: %v", key, url, err).At(key)
		}
		p.Codings = cs
	default:
		sys, code, hasBar := cutUnescaped(value, '|')
		if !hasBar || sys == "" || code == "" {
			return outcome.BadRequest("%s: :%s takes system|code", key, modifier).At(key)
		}
		system := unescape(sys)
		codes, err := opts.Terminology.Hierarchy(ctx, system, unescape(code), modifier == "below")
		switch {
		case errors.Is(err, ErrNotHeld):
			return notHeld("the code system " + system)
		case err != nil:
			return err
		}
		if len(codes) > MaxExpansion {
			return outcome.New(400, "too-costly", "%s: %s|%s stands for more than %d codes.", key, system, code, MaxExpansion).At(key)
		}
		for _, c := range codes {
			p.Codings = append(p.Codings, store.Coding{System: system, Code: c})
		}
	}
	return nil
}

// numberBounds is the range a number search value stands for. Equality
// (eq, ne, ap) uses the precision of the value as written: 100 finds
// [99.5, 100.5], 100.00 finds [99.995, 100.005] (R4 search.html#number).
// The order prefixes compare with the value itself: gt100 finds values
// greater than 100 ("the value for the parameter in the resource is
// greater than the provided value").
func numberBounds(prefix store.Prefix, v, lo, hi float64) (float64, float64) {
	switch prefix {
	case store.PrefixGt, store.PrefixLt, store.PrefixGe, store.PrefixLe, store.PrefixSa, store.PrefixEb:
		return v, v
	}
	return lo, hi
}

// localRef splits "Type/id" or "[base]/Type/id[/_history/v]".
func localRef(v string) (typ, id string, ok bool) {
	v, _, _ = strings.Cut(v, "/_history/")
	parts := strings.Split(v, "/")
	if len(parts) < 2 {
		return "", "", false
	}
	typ, id = parts[len(parts)-2], parts[len(parts)-1]
	if !model.IsResourceType(typ) || !ValidID(id) {
		return "", "", false
	}
	if len(parts) > 2 && !strings.Contains(v, "://") {
		return "", "", false
	}
	return typ, id, true
}

// ValidID reports whether s is a valid FHIR resource id.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func splitPrefix(v string) (store.Prefix, string) {
	if len(v) >= 2 {
		switch p := store.Prefix(v[:2]); p {
		case store.PrefixEq, store.PrefixNe, store.PrefixGt, store.PrefixLt, store.PrefixGe,
			store.PrefixLe, store.PrefixSa, store.PrefixEb, store.PrefixAp:
			return p, v[2:]
		}
	}
	return store.PrefixEq, v
}
