package fhirapi

import (
	"net/http"
	"sort"
	"strings"

	"github.com/xietong/xietong/fhir/model"
	"github.com/xietong/xietong/search"
)

// Version is the server's software version, set at build time.
var Version = "0.1.0-dev"

// supportedSearchTypes are the parameter types search.Parse and the stores
// implement; parameters of other types are not advertised.
var supportedSearchTypes = map[string]bool{
	"string": true, "token": true, "reference": true, "date": true,
	"number": true, "quantity": true, "uri": true,
}

// capabilityStatement describes exactly what this server does; it is
// built from the same tables the handlers use.
func (s *Server) capabilityStatement() []byte {
	// Reverse includes: for each type, the reference parameters of other
	// types that may point at it.
	revIncludes := map[string][]any{}
	for _, src := range model.ResourceTypes() {
		sps := model.SearchParams(src)
		codes := make([]string, 0, len(sps))
		for c := range sps {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, c := range codes {
			if sps[c].Type != "reference" {
				continue
			}
			for _, target := range sps[c].Target {
				revIncludes[target] = append(revIncludes[target], src+":"+c)
			}
		}
	}
	var resources []any
	for _, t := range model.ResourceTypes() {
		var params []any
		sps := model.SearchParams(t)
		codes := make([]string, 0, len(sps))
		for c := range sps {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, c := range codes {
			sp := sps[c]
			if c == "_text" || c == "_content" || c == "_query" || c == "_list" {
				continue
			}
			param := map[string]any{"name": c, "definition": sp.URL, "type": sp.Type}
			switch {
			case supportedSearchTypes[sp.Type]:
			case sp.Type == "composite" && search.ComponentTypes(sp) != nil:
				param["documentation"] = "Composite: one value per component, separated by $; all components must match the same element."
			case sp.Type == "special" && c == "near" && t == "Location":
				param["documentation"] = "latitude|longitude|distance|unit (WGS84 degrees; unit km, mi or m, km when omitted; " +
					"10 km when the distance is omitted): Locations whose position is within that great-circle distance. Not sorted by distance."
			default:
				continue
			}
			params = append(params, param)
		}
		includes := []any{"*"}
		for _, c := range codes {
			if sps[c].Type == "reference" {
				includes = append(includes, t+":"+c)
			}
		}
		var interactions []any
		for _, code := range []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"} {
			interactions = append(interactions, map[string]any{"code": code})
		}
		resources = append(resources, map[string]any{
			"type":              t,
			"profile":           "http://hl7.org/fhir/StructureDefinition/" + t,
			"interaction":       interactions,
			"versioning":        "versioned-update",
			"readHistory":       true,
			"updateCreate":      true,
			"conditionalCreate": true,
			"conditionalRead":   "full-support",
			"conditionalUpdate": true,
			"conditionalDelete": "single",
			"referencePolicy":   []any{"literal", "logical"},
			"searchParam":       params,
			"searchInclude":     includes,
			"searchRevInclude":  revIncludes[t],
		})
		var ops []any
		if t == "Patient" {
			ops = append(ops, map[string]any{
				"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
				"documentation": "Patient/[id]/$everything and Patient/$everything (every patient) with _since (lastUpdated), _type, start and end " +
					"(the date of care: each type's clinical date parameter, ge start and le end; types without one are not filtered) and _count (paged).",
			})
		}
		seen := map[string]bool{}
		for _, key := range sortedKeys(s.deps.Operations) {
			if typ, name, ok := strings.Cut(key, "/$"); ok && typ == t || strings.HasPrefix(key, t+"/{id}/$") {
				if !ok {
					name = key[strings.LastIndex(key, "$")+1:]
				}
				if seen[name] {
					continue // one entry for the type and instance forms
				}
				seen[name] = true
				ops = append(ops, map[string]any{"name": name, "definition": operationDefinition(t, name)})
			}
		}
		if len(ops) > 0 {
			resources[len(resources)-1].(map[string]any)["operation"] = ops
		}
	}
	cs := map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         "2026-11-22",
		"publisher":    "Xietong",
		"kind":         "instance",
		"software":     map[string]any{"name": "Xietong", "version": Version},
		"implementation": map[string]any{
			"description": "Xietong (协同) regional health collaboration platform: FHIR R4 server. " +
				"Search: chaining to any depth (with type modifiers), _has (nested), _include and _revinclude (with :iterate), " +
				"_sort, _count with cursor paging, _total, _summary, _elements; modifiers :missing, :exact, :contains, :not, :text, :identifier (references), :of-type (identifiers) and reference type modifiers; " +
				":below and :above on uri parameters; :in and :not-in (ValueSets held in this server: compose include/exclude of concepts, of whole CodeSystems held here, " +
				"is-a/descendent-of/is-not-a/= filters on concept, and imported value sets) and :below and :above on tokens (the hierarchy of CodeSystems held here); " +
				"composite parameters ($-separated values) and near on Location. Not supported: _text, _content, _filter, _query, _list, _contained " +
				"(400 under Prefer: handling=strict, ignored with a warning otherwise). " +
				"Compartment search for the Patient, Encounter, RelatedPerson, Practitioner and Device compartments.",
		},
		"fhirVersion": "4.0.1",
		"format":      []any{"application/fhir+json", "json"},
		"patchFormat": []any{"application/json-patch+json"},
		"rest": []any{map[string]any{
			"mode":     "server",
			"resource": resources,
			"interaction": []any{
				map[string]any{"code": "transaction"},
				map[string]any{"code": "batch"},
				map[string]any{"code": "search-system"},
				map[string]any{"code": "history-system"},
			},
			"operation": []any{map[string]any{
				"name": "audit", "definition": "https://xietong.dev/fhir/OperationDefinition/audit",
				"documentation": "GET [base]/$audit: the access trail as AuditEvents, newest first; subject, entity (Type or Type/id), since, until, outcome (0|4), _count. Administrators only.",
			}},
			"searchParam": []any{
				map[string]any{"name": "_id", "type": "token", "definition": "http://hl7.org/fhir/SearchParameter/Resource-id"},
				map[string]any{"name": "_lastUpdated", "type": "date", "definition": "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated"},
				map[string]any{"name": "_tag", "type": "token", "definition": "http://hl7.org/fhir/SearchParameter/Resource-tag"},
				map[string]any{"name": "_profile", "type": "uri", "definition": "http://hl7.org/fhir/SearchParameter/Resource-profile"},
				map[string]any{"name": "_security", "type": "token", "definition": "http://hl7.org/fhir/SearchParameter/Resource-security"},
				map[string]any{"name": "_source", "type": "uri", "definition": "http://hl7.org/fhir/SearchParameter/Resource-source"},
			},
		}},
	}
	body, err := marshal(cs)
	if err != nil {
		panic(err) // built from static tables: cannot fail
	}
	return body
}

// coreOperations are the operations this server implements whose
// definition is in the R4 specification itself.
var coreOperations = map[string]bool{"Patient-everything": true, "Patient-match": true}

// operationDefinition is the canonical URL of an operation's definition:
// the specification's for the core ones, Xietong's for its own (it named
// OperationDefinitions in HL7's namespace that do not exist, such as
// http://hl7.org/fhir/OperationDefinition/Patient-ihe-pix).
func operationDefinition(typ, name string) string {
	if coreOperations[typ+"-"+name] {
		return "http://hl7.org/fhir/OperationDefinition/" + typ + "-" + name
	}
	return "https://xietong.dev/fhir/OperationDefinition/" + typ + "-" + name
}

// handleMetadata: GET [base]/metadata.
func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) error {
	if err := checkFormat(r); err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, s.caps)
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
