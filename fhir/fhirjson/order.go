package fhirjson

import (
	"slices"
	"sync"

	"github.com/xietong/xietong/fhir/model"
)

// typeOrder is the canonical key order of one FHIR type, and the type of
// the value under each key. It is computed once from fhir/model.
type typeOrder struct {
	name string
	keys map[string]*keyOrder
}

type keyOrder struct {
	rank     int32      // position in definition order; "_x" ranks right after "x"
	child    *typeOrder // type of the value (of each item for arrays); nil for primitives
	resource bool       // the value is a resource: its order comes from its resourceType
	prefix   string     // the key written as JSON, with its colon: "\"birthDate\":"
}

const unknownRank = int32(1 << 30)

var (
	ordersOnce sync.Once
	orders     map[string]*typeOrder
	interned   *internTable
)

func loadOrders() {
	orders = make(map[string]*typeOrder)
	var keys []string
	intern := func(s string) { keys = append(keys, s) }
	intern("resourceType")
	names := make([]string, 0, 1024)
	// Every type the model knows: collect names first so recursive types
	// (Extension, Questionnaire.item) can point at each other.
	for _, rt := range model.ResourceTypes() {
		names = append(names, rt)
	}
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		t := model.TypeByName(name)
		if t == nil {
			return
		}
		seen[name] = true
		orders[name] = &typeOrder{name: name, keys: make(map[string]*keyOrder, 2*len(t.Elements))}
		for _, e := range t.Elements {
			for _, tn := range e.Types {
				visit(tn)
			}
		}
	}
	for _, n := range names {
		visit(n)
	}
	for _, base := range []string{"Resource", "DomainResource", "Element", "BackboneElement"} {
		visit(base)
	}
	for name, o := range orders {
		t := model.TypeByName(name)
		var rank int32
		for _, e := range elementOrder(t) {
			for _, tn := range e.Types {
				key := e.Name
				if e.Choice {
					key = model.ChoiceKey(e.Name, tn)
				}
				ko := &keyOrder{rank: rank, prefix: `"` + key + `":`}
				ct := model.TypeByName(tn)
				switch {
				case tn == "Resource" || ct != nil && ct.Kind == model.KindResource:
					ko.resource = true
				case ct != nil && ct.Kind == model.KindComplex:
					ko.child = orders[tn]
				}
				o.keys[key] = ko
				intern(key)
				if ct != nil && ct.Kind == model.KindPrimitive {
					// "_x" holds the primitive's id and extensions.
					o.keys["_"+key] = &keyOrder{rank: rank + 1, child: orders[tn], prefix: `"_` + key + `":`}
					intern("_" + key)
				}
				rank += 2
			}
		}
	}
	slices.Sort(keys)
	interned = newInternTable(slices.Compact(keys))
}

func orderOf(name string) *typeOrder {
	ordersOnce.Do(loadOrders)
	return orders[name]
}

func internedKeys() *internTable {
	ordersOnce.Do(loadOrders)
	return interned
}

// elementOrder is the definition order, except that Extension writes url
// before its nested extensions: url is an attribute in the XML form, and
// the published JSON (the JSON template of Extension, every official
// example) puts it first.
func elementOrder(t *model.Type) []*model.Element {
	if t.Name != "Extension" {
		return t.Elements
	}
	var first, rest []*model.Element
	for _, e := range t.Elements {
		if e.Name == "id" || e.Name == "url" {
			first = append(first, e)
		} else {
			rest = append(rest, e)
		}
	}
	return append(first, rest...)
}
