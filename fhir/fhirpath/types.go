package fhirpath

import (
	"sync"

	"github.com/xietong/xietong/fhir/model"
)

// sysType is a FHIRPath System type.
type sysType uint8

const (
	sysNone sysType = iota
	sysBoolean
	sysString
	sysInteger
	sysDecimal
	sysDate
	sysDateTime
	sysTime
	sysQuantity
)

var sysTypeNames = [...]string{"", "Boolean", "String", "Integer", "Decimal", "Date", "DateTime", "Time", "Quantity"}

func (s sysType) String() string { return sysTypeNames[s] }

func sysTypeByName(n string) sysType {
	for i, s := range sysTypeNames {
		if i > 0 && s == n {
			return sysType(i)
		}
	}
	return sysNone
}

// typeInfo is this package's view of a FHIR type: the model type plus the
// lookups evaluation needs, computed once per type and shared by all
// expressions (model types are immutable).
type typeInfo struct {
	name     string
	qualName string // "FHIR." + name, made once: TypeName is asked per value by the indexer
	m        *model.Type
	kind     model.Kind
	sys      sysType // for primitives
	abstract bool    // Resource / DomainResource: the concrete type comes from resourceType

	once       sync.Once
	ancestors  []*typeInfo           // itself, then its base types
	children   map[string]*childSpec // by FHIRPath name
	choiceKeys map[string]bool       // JSON keys of choice elements ("valueQuantity")
}

type childSpec struct {
	name   string
	choice bool
	keys   []childKey
}

type childKey struct {
	key    string
	extKey string // "_" + key, for primitives
	t      *typeInfo
}

var typeCache sync.Map // name -> *typeInfo

// fhirType returns the type information for a FHIR type name (including
// backbone paths such as "Patient.contact"), or nil if unknown.
func fhirType(name string) *typeInfo {
	if t, ok := typeCache.Load(name); ok {
		return t.(*typeInfo)
	}
	m := model.TypeByName(name)
	if m == nil {
		return nil
	}
	ti := &typeInfo{name: name, qualName: "FHIR." + name, m: m, kind: m.Kind, abstract: m.Kind == model.KindResource && m.Abstract}
	if m.Kind == model.KindPrimitive {
		ti.sys = sysTypeByName(model.SystemType(name))
	}
	actual, _ := typeCache.LoadOrStore(name, ti)
	return actual.(*typeInfo)
}

func (t *typeInfo) init() {
	t.once.Do(func() {
		for m := t.m; m != nil; m = model.TypeByName(m.Base) {
			t.ancestors = append(t.ancestors, fhirType(m.Name))
		}
		t.children = make(map[string]*childSpec, len(t.m.Elements))
		t.choiceKeys = map[string]bool{}
		for _, e := range t.m.Elements {
			cs := &childSpec{name: e.Name, choice: e.Choice}
			if e.Choice {
				for _, tn := range e.Types {
					k := model.ChoiceKey(e.Name, tn)
					cs.keys = append(cs.keys, childKey{key: k, extKey: "_" + k, t: fhirType(tn)})
					t.choiceKeys[k] = true
				}
			} else if len(e.Types) > 0 {
				cs.keys = []childKey{{key: e.Name, extKey: "_" + e.Name, t: fhirType(e.Types[0])}}
			} else {
				cs.keys = []childKey{{key: e.Name, extKey: "_" + e.Name}}
			}
			t.children[e.Name] = cs
		}
	})
}

func (t *typeInfo) child(name string) *childSpec {
	t.init()
	return t.children[name]
}

func (t *typeInfo) isChoiceKey(key string) bool {
	t.init()
	return t.choiceKeys[key]
}

func (t *typeInfo) isA(name string) bool {
	if t.name == name {
		return true
	}
	return t.isAType(fhirType(name))
}

// isAType reports whether t is o or specialises it.
func (t *typeInfo) isAType(o *typeInfo) bool {
	if t == o {
		return true
	}
	if o == nil {
		return false
	}
	t.init()
	for _, a := range t.ancestors[1:] {
		if a == o {
			return true
		}
	}
	return false
}

func (t *typeInfo) primitive() bool { return t != nil && t.kind == model.KindPrimitive }
