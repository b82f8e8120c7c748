package model

import "sync"

// SearchParam is one R4 SearchParameter definition.
type SearchParam struct {
	Code string // the name used in URLs: "birthdate", "_id"
	URL  string
	Base []string
	Type string // number, date, string, token, reference, composite, quantity, uri, special
	// Expression is the FHIRPath expression over all bases; use
	// ExpressionFor for one base type.
	Expression string
	// PerBase holds, for each base type, the part of Expression that
	// applies to it (the union terms starting with that type's name).
	PerBase    map[string]string
	Target     []string // reference targets
	Components []SearchComponent
}

// SearchComponent is one component of a composite parameter.
type SearchComponent struct {
	Definition string // URL of the component's SearchParameter
	Expression string // relative to the composite's expression
}

// ExpressionFor returns the expression that extracts this parameter's
// values from a resource of the given type ("" if none applies).
func (p *SearchParam) ExpressionFor(resourceType string) string {
	if e, ok := p.PerBase[resourceType]; ok {
		return e
	}
	return p.Expression
}

// SearchParams returns the search parameters that apply to a resource type,
// by code, including those defined on Resource and DomainResource. The map
// is shared: do not modify it.
func SearchParams(resourceType string) map[string]*SearchParam {
	searchOnce.Do(indexSearchParams)
	return searchByType[resourceType]
}

// SearchParamByURL returns the parameter with that canonical URL, or nil.
func SearchParamByURL(url string) *SearchParam {
	searchOnce.Do(indexSearchParams)
	return searchByURL[url]
}

// AllSearchParams lists every definition in the order of the official bundle.
func AllSearchParams() []*SearchParam { return searchParams }

func indexSearchParams() {
	searchByType = map[string]map[string]*SearchParam{}
	searchByURL = map[string]*SearchParam{}
	for _, p := range searchParams {
		searchByURL[p.URL] = p
	}
	for _, rt := range ResourceTypes() {
		m := map[string]*SearchParam{}
		for _, p := range searchParams {
			for _, b := range p.Base {
				if TypeByName(rt).IsA(b) {
					m[p.Code] = p
				}
			}
		}
		searchByType[rt] = m
	}
}

// Compartment returns, for a compartment ("Patient", "Encounter",
// "RelatedPerson", "Practitioner", "Device") and a resource type, the
// parameters that link a resource of that type to the compartment's
// resource. nil means the type is not in the compartment; a resource of
// the compartment's own type is in its own compartment by id.
func Compartment(compartment, resourceType string) []string {
	return compartments[compartment][resourceType]
}

// RequiredCodes returns the codes of a value set bound as required to a
// code element somewhere in R4, when the value set can be enumerated from
// the definitions. ok is false for value sets that are unknown or not
// enumerable (for example those defined by a grammar, such as MIME types).
func RequiredCodes(valueSetURL string) (codes map[string]bool, ok bool) {
	vsOnce.Do(func() {
		vsSets = make(map[string]map[string]bool, len(requiredValueSets))
		for url, list := range requiredValueSets {
			s := make(map[string]bool, len(list))
			for _, c := range list {
				s[c] = true
			}
			vsSets[url] = s
		}
	})
	codes, ok = vsSets[valueSetURL]
	return codes, ok
}

var (
	searchOnce   sync.Once
	searchByType map[string]map[string]*SearchParam
	searchByURL  map[string]*SearchParam
	vsOnce       sync.Once
	vsSets       map[string]map[string]bool
)

// OnlyIfBase returns p if it is defined on the given base type, else nil.
func (p *SearchParam) OnlyIfBase(base string) *SearchParam {
	if p == nil {
		return nil
	}
	for _, b := range p.Base {
		if b == base {
			return p
		}
	}
	return nil
}
