package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/store"
)

// Terminology answers the token modifiers that need the code systems and
// value sets held in the server: :below and :above (the hierarchy of a
// CodeSystem) and :in and :not-in (the expansion of a ValueSet).
type Terminology interface {
	// Hierarchy returns code and, below, its descendants or, above, its
	// ancestors in the CodeSystem with the canonical url system.
	Hierarchy(ctx context.Context, system, code string, below bool) ([]string, error)
	// Expand returns the codings of the ValueSet with the canonical url.
	Expand(ctx context.Context, url string) ([]store.Coding, error)
}

// MaxExpansion bounds the codes a :in, :not-in, :below or :above may
// stand for; larger sets are refused (400, too-costly).
const MaxExpansion = 10000

// ErrNotHeld says that a code system or value set is not held in the
// server.
var ErrNotHeld = errors.New("not held in this server")

// StoreTerminology reads CodeSystem and ValueSet resources from a store.
//
// Hierarchy follows nested concepts (CodeSystem.concept.concept) and the
// "parent" and "child" concept properties. Expand evaluates
// ValueSet.compose: include and exclude of listed concepts, of whole code
// systems held in the server, of is-a, descendent-of and = filters on the
// concept property, and of other value sets (valueSet, a union
// intersected with the system part when both are given); when a ValueSet
// has no compose, its expansion.contains is used as stored.
type StoreTerminology struct {
	R store.Reader
}

func (t StoreTerminology) byURL(ctx context.Context, typ, url string) (map[string]any, error) {
	url, version, _ := strings.Cut(url, "|")
	q := &store.Query{Types: []string{typ}, Count: 50, Total: store.TotalNone,
		Where: []store.Clause{{{Param: "url", Type: store.TypeURI, URI: url}}}}
	if version != "" {
		q.Where = append(q.Where, store.Clause{{Param: "version", Type: store.TypeToken, AnySystem: true, Code: version}})
	}
	res, err := t.R.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	if len(res.Matches) == 0 {
		return nil, fmt.Errorf("%s %s: %w", typ, url, ErrNotHeld)
	}
	// Several versions without a version asked for: the last one written.
	var m map[string]any
	if err := json.Unmarshal(res.Matches[len(res.Matches)-1].Body, &m); err != nil {
		return nil, fmt.Errorf("%s %s: %w", typ, url, err)
	}
	return m, nil
}

// codeSystem is a CodeSystem's concepts with their parents and children.
type codeSystem struct {
	codes    []string
	parents  map[string][]string
	children map[string][]string
}

func (t StoreTerminology) codeSystem(ctx context.Context, url string) (*codeSystem, error) {
	res, err := t.byURL(ctx, "CodeSystem", url)
	if err != nil {
		return nil, err
	}
	cs := &codeSystem{parents: map[string][]string{}, children: map[string][]string{}}
	link := func(parent, child string) {
		if !slices.Contains(cs.children[parent], child) {
			cs.children[parent] = append(cs.children[parent], child)
		}
		if !slices.Contains(cs.parents[child], parent) {
			cs.parents[child] = append(cs.parents[child], parent)
		}
	}
	var walk func(list []any, parent string)
	walk = func(list []any, parent string) {
		for _, c := range list {
			cm, _ := c.(map[string]any)
			code, _ := cm["code"].(string)
			if code == "" {
				continue
			}
			cs.codes = append(cs.codes, code)
			if parent != "" {
				link(parent, code)
			}
			props, _ := cm["property"].([]any)
			for _, p := range props {
				pm, _ := p.(map[string]any)
				v, _ := pm["valueCode"].(string)
				switch pm["code"] {
				case "parent":
					if v != "" {
						link(v, code)
					}
				case "child":
					if v != "" {
						link(code, v)
					}
				}
			}
			sub, _ := cm["concept"].([]any)
			walk(sub, code)
		}
	}
	concepts, _ := res["concept"].([]any)
	walk(concepts, "")
	return cs, nil
}

// closure is code and everything reachable from it through next.
func closure(code string, next map[string][]string) []string {
	out := []string{code}
	seen := map[string]bool{code: true}
	for i := 0; i < len(out) && len(out) <= MaxExpansion; i++ {
		for _, n := range next[out[i]] {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// Hierarchy implements Terminology.
func (t StoreTerminology) Hierarchy(ctx context.Context, system, code string, below bool) ([]string, error) {
	cs, err := t.codeSystem(ctx, system)
	if err != nil {
		return nil, err
	}
	if below {
		return closure(code, cs.children), nil
	}
	return closure(code, cs.parents), nil
}

// Expand implements Terminology.
func (t StoreTerminology) Expand(ctx context.Context, url string) ([]store.Coding, error) {
	return t.expand(ctx, url, 0)
}

const maxImportDepth = 8

func (t StoreTerminology) expand(ctx context.Context, url string, depth int) ([]store.Coding, error) {
	if depth > maxImportDepth {
		return nil, fmt.Errorf("ValueSet %s: value sets import each other more than %d deep", url, maxImportDepth)
	}
	vs, err := t.byURL(ctx, "ValueSet", url)
	if err != nil {
		return nil, err
	}
	compose, _ := vs["compose"].(map[string]any)
	if compose == nil {
		exp, _ := vs["expansion"].(map[string]any)
		if exp == nil {
			return nil, fmt.Errorf("ValueSet %s has neither compose nor expansion", url)
		}
		var out []store.Coding
		var walk func(list []any)
		walk = func(list []any) {
			for _, c := range list {
				cm, _ := c.(map[string]any)
				sys, _ := cm["system"].(string)
				code, _ := cm["code"].(string)
				if code != "" {
					out = append(out, store.Coding{System: sys, Code: code})
				}
				sub, _ := cm["contains"].([]any)
				walk(sub)
			}
		}
		list, _ := exp["contains"].([]any)
		walk(list)
		return out, nil
	}
	set := map[store.Coding]bool{}
	var order []store.Coding
	includes, _ := compose["include"].([]any)
	for _, inc := range includes {
		cs, err := t.conceptSet(ctx, inc, depth)
		if err != nil {
			return nil, fmt.Errorf("ValueSet %s: %w", url, err)
		}
		for _, c := range cs {
			if !set[c] {
				set[c] = true
				order = append(order, c)
			}
		}
		if len(order) > MaxExpansion {
			return nil, errTooMany(url)
		}
	}
	excludes, _ := compose["exclude"].([]any)
	for _, exc := range excludes {
		cs, err := t.conceptSet(ctx, exc, depth)
		if err != nil {
			return nil, fmt.Errorf("ValueSet %s: %w", url, err)
		}
		for _, c := range cs {
			delete(set, c)
		}
	}
	out := order[:0]
	for _, c := range order {
		if set[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

func errTooMany(url string) error {
	return outcome.New(400, "too-costly", "The value set %s has more than %d codes; this server does not search with sets that large.", url, MaxExpansion)
}

// conceptSet evaluates one compose.include or compose.exclude.
func (t StoreTerminology) conceptSet(ctx context.Context, node any, depth int) ([]store.Coding, error) {
	inc, _ := node.(map[string]any)
	system, _ := inc["system"].(string)
	var fromSystem []store.Coding
	hasSystemPart := system != ""
	if hasSystemPart {
		concepts, _ := inc["concept"].([]any)
		filters, _ := inc["filter"].([]any)
		switch {
		case len(concepts) > 0:
			for _, c := range concepts {
				cm, _ := c.(map[string]any)
				if code, _ := cm["code"].(string); code != "" {
					fromSystem = append(fromSystem, store.Coding{System: system, Code: code})
				}
			}
		default:
			cs, err := t.codeSystem(ctx, system)
			if err != nil {
				return nil, err
			}
			codes := cs.codes
			for _, f := range filters {
				fm, _ := f.(map[string]any)
				prop, _ := fm["property"].(string)
				op, _ := fm["op"].(string)
				val, _ := fm["value"].(string)
				if prop != "concept" && prop != "code" {
					return nil, fmt.Errorf("the filter on property %q is not supported (concept is)", prop)
				}
				var keep []string
				switch op {
				case "is-a":
					keep = closure(val, cs.children)
				case "descendent-of":
					keep = closure(val, cs.children)[1:]
				case "=":
					keep = []string{val}
				case "is-not-a":
					not := closure(val, cs.children)
					for _, c := range cs.codes {
						if !slices.Contains(not, c) {
							keep = append(keep, c)
						}
					}
				default:
					return nil, fmt.Errorf("the filter operator %q is not supported (is-a, descendent-of, is-not-a and = are)", op)
				}
				var next []string
				for _, c := range codes {
					if slices.Contains(keep, c) {
						next = append(next, c)
					}
				}
				codes = next
			}
			for _, c := range codes {
				fromSystem = append(fromSystem, store.Coding{System: system, Code: c})
			}
		}
	}
	imports, _ := inc["valueSet"].([]any)
	if len(imports) == 0 {
		return fromSystem, nil
	}
	union := map[store.Coding]bool{}
	var order []store.Coding
	for _, u := range imports {
		url, _ := u.(string)
		cs, err := t.expand(ctx, url, depth+1)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if !union[c] {
				union[c] = true
				order = append(order, c)
			}
		}
	}
	if !hasSystemPart {
		return order, nil
	}
	var out []store.Coding
	for _, c := range fromSystem {
		if union[c] {
			out = append(out, c)
		}
	}
	return out, nil
}
