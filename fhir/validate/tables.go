package validate

import (
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/xietong/xietong/fhir/model"
)

// prim is the format a primitive value is checked against.
type prim uint8

const (
	notPrim prim = iota
	primBoolean
	primInteger
	primPositiveInt
	primUnsignedInt
	primDecimal
	primString
	primMarkdown
	primCode
	primID
	primURI
	primURL
	primCanonical
	primOID
	primUUID
	primBase64
	primDate
	primDateTime
	primInstant
	primTime
	primXHTML
)

var primByName = map[string]prim{
	"boolean": primBoolean, "integer": primInteger, "positiveInt": primPositiveInt,
	"unsignedInt": primUnsignedInt, "decimal": primDecimal, "string": primString,
	"markdown": primMarkdown, "code": primCode, "id": primID, "uri": primURI, "url": primURL,
	"canonical": primCanonical, "oid": primOID, "uuid": primUUID, "base64Binary": primBase64,
	"date": primDate, "dateTime": primDateTime, "instant": primInstant, "time": primTime,
	"xhtml": primXHTML,
}

// typeInfo is the precomputed view of one model.Type the walker needs.
type typeInfo struct {
	name     string
	t        *model.Type
	resource bool // a resource type: "resourceType" is expected, not unknown
	keys     map[string]*keyInfo
	elems    []*elemInfo // definition order
	required []*elemInfo // min >= 1
	choices  []*elemInfo // choice elements, for the messages about bad suffixes
	special  special
	// hasInvariants: the type or one of its elements has constraints that
	// an InvariantChecker would evaluate.
	invariants []model.Constraint
}

type special uint8

const (
	specialNone special = iota
	specialExtension
	specialReference
)

type elemInfo struct {
	e       *model.Element
	idx     int
	name    string // "value[x]" for choice elements, for messages
	path    string // definition path, "Observation.value[x]"
	list    bool
	min     int
	max     int
	choice  bool
	keys    []string // JSON keys for the element, with and without "_"
	codes   map[string]bool
	vs      string // required value set URL when codes != nil
	vsShown string // "(a, b, c, ...)"
	// invariants: element-level constraints for an InvariantChecker.
	invariants []model.Constraint
}

type keyInfo struct {
	elem       *elemInfo
	typeName   string
	prim       prim
	child      *typeInfo // complex values (also the id/extension object of "_x" keys)
	resource   bool      // the value is a resource (contained, Bundle.entry.resource ...)
	underscore bool      // "_x": the id and extensions of primitive x
	// otherKey is "_x" for x and x for "_x" (primitives only), to check
	// that null items line up.
	otherKey string
}

var (
	tablesOnce sync.Once
	types      map[string]*typeInfo
)

func loadTables() { tablesOnce.Do(buildTables) }

func typeByName(name string) *typeInfo {
	loadTables()
	return types[name]
}

func buildTables() {
	types = make(map[string]*typeInfo)
	var visit func(name string)
	visit = func(name string) {
		if types[name] != nil {
			return
		}
		t := model.TypeByName(name)
		if t == nil {
			return
		}
		ti := &typeInfo{name: name, t: t, resource: t.Kind == model.KindResource, keys: map[string]*keyInfo{}}
		types[name] = ti
		for _, e := range t.Elements {
			for _, tn := range e.Types {
				visit(tn)
			}
		}
	}
	for _, rt := range model.ResourceTypes() {
		visit(rt)
	}
	for _, n := range []string{"Resource", "DomainResource", "Element", "BackboneElement", "Extension"} {
		visit(n)
	}
	for _, ti := range types {
		fill(ti)
	}
}

func fill(ti *typeInfo) {
	switch ti.name {
	case "Extension":
		ti.special = specialExtension
	case "Reference":
		ti.special = specialReference
	}
	ti.invariants = nonNative(ti.t.Constraints)
	for i, e := range ti.t.Elements {
		ei := &elemInfo{e: e, idx: i, name: e.Name, path: e.Path, list: e.IsList(), min: e.Min, max: e.Max, choice: e.Choice,
			invariants: nonNative(e.Constraints)}
		if e.Choice {
			ei.name = e.Name + "[x]"
		}
		if b := e.Binding; b != nil && b.Strength == "required" && len(e.Types) == 1 && (e.Types[0] == "code" || e.Types[0] == "CodeableConcept") {
			if codes, ok := model.RequiredCodes(b.ValueSet); ok {
				ei.codes, ei.vs = codes, b.ValueSet
				ei.vsShown = shownCodes(codes)
			}
		}
		ti.elems = append(ti.elems, ei)
		if e.Min > 0 {
			ti.required = append(ti.required, ei)
		}
		if e.Choice {
			ti.choices = append(ti.choices, ei)
		}
		for _, tn := range e.Types {
			key := e.Name
			if e.Choice {
				key = model.ChoiceKey(e.Name, tn)
			}
			ki := &keyInfo{elem: ei, typeName: tn, prim: primByName[tn]}
			ct := model.TypeByName(tn)
			switch {
			case tn == "Resource" || ct != nil && ct.Kind == model.KindResource:
				ki.resource = true
			case ki.prim == notPrim:
				ki.child = types[tn]
			}
			ti.keys[key] = ki
			ei.keys = append(ei.keys, key)
			if ki.prim != notPrim {
				ki.otherKey = "_" + key
				ti.keys["_"+key] = &keyInfo{elem: ei, typeName: tn, child: types[tn], underscore: true, otherKey: key}
				ei.keys = append(ei.keys, "_"+key)
			}
		}
	}
}

func nonNative(cs []model.Constraint) []model.Constraint {
	var out []model.Constraint
	for _, c := range cs {
		if !nativeInvariants[c.Key] {
			out = append(out, c)
		}
	}
	return out
}

// shownCodes lists a few codes of a value set for messages, in a stable order.
func shownCodes(codes map[string]bool) string {
	list := make([]string, 0, len(codes))
	for c := range codes {
		list = append(list, c)
	}
	sort.Strings(list)
	const show = 8
	if len(list) > show {
		list = append(list[:show:show], "...")
	}
	return "(" + strings.Join(list, ", ") + ")"
}

// choiceFor finds the choice element a key like "valueFoo" was meant for.
func (ti *typeInfo) choiceFor(key string) *elemInfo {
	for _, ei := range ti.choices {
		n := ei.e.Name
		if key == n || strings.HasPrefix(key, n) && len(key) > len(n) && key[len(n)] >= 'A' && key[len(n)] <= 'Z' {
			return ei
		}
	}
	return nil
}

// allowedKeys lists the JSON keys of a choice element, for messages.
func (ei *elemInfo) allowedKeys() string {
	var ks []string
	for _, k := range ei.keys {
		if !strings.HasPrefix(k, "_") {
			ks = append(ks, k)
		}
	}
	if len(ks) > 12 {
		ks = append(slices.Clip(ks[:12]), "...")
	}
	return strings.Join(ks, ", ")
}
