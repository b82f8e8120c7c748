package search

import "github.com/xietong/xietong/fhir/model"

// unions are the search parameters that R4 defines as the union of two
// others of the same resource type, with the same type: Observation's
// combo-* parameters match the Observation's own code, value or code and
// value, or a component's (combo-code is "Observation.code |
// Observation.component.code", the union of code and component-code).
// They get no index entries of their own: a predicate or sort key on one
// reads the entries of its parts (store.Predicate.Also). For Synthea's
// Observations they were 13.6 % of all index entries, each one written
// under the store's single writer (docs/decisions/022-*.md).
// TestUnionsAreUnions checks each against the definitions and, entry by
// entry, against real resources.
var unions = map[string]map[string][]string{
	"Observation": {
		"combo-code":                {"code", "component-code"},
		"combo-code-value-concept":  {"code-value-concept", "component-code-value-concept"},
		"combo-code-value-quantity": {"code-value-quantity", "component-code-value-quantity"},
		"combo-data-absent-reason":  {"data-absent-reason", "component-data-absent-reason"},
		"combo-value-concept":       {"value-concept", "component-value-concept"},
		"combo-value-quantity":      {"value-quantity", "component-value-quantity"},
	},
}

// unionParts returns the parameters whose entries stand for sp's (named
// code in a search), or nil when sp has entries of its own. A parameter
// shared by several resource types is never one of them.
func unionParts(sp *model.SearchParam, code string) []string {
	if len(sp.Base) != 1 {
		return nil
	}
	return unions[sp.Base[0]][code]
}
