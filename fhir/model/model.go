// Package model is the FHIR R4 (4.0.1) type system as data: every resource
// type, data type and backbone element with its elements, cardinalities,
// choice types, bindings and invariants; the SearchParameter definitions;
// the compartment definitions; and the codes of the value sets bound as
// required. It is generated from the official definitions by
// internal/gen (`go generate`), so it is never edited by hand.
//
// It is the shared vocabulary of the FHIR layers above it (fhirpath,
// validation, search indexing, the REST server) and must not depend on any
// of them, nor on anything outside the standard library.
//
// Naming: a type is named as in the specification ("Patient", "HumanName",
// "dateTime"). An anonymous backbone element type is named by its path
// ("Patient.contact", "Timing.repeat"); an element whose definition is a
// content reference (Questionnaire.item.item) has that path as its type
// ("Questionnaire.item").
package model

//go:generate go run ./internal/gen -shared ../../../shared/fhir/r4/definitions -out .

import (
	"sort"
	"strings"
)

// Kind is what sort of type a Type is.
type Kind uint8

const (
	KindPrimitive Kind = iota + 1 // boolean, string, dateTime ...
	KindComplex                   // data types and backbone elements
	KindResource                  // resources, including the abstract Resource and DomainResource
)

func (k Kind) String() string {
	switch k {
	case KindPrimitive:
		return "primitive"
	case KindComplex:
		return "complex"
	case KindResource:
		return "resource"
	}
	return "unknown"
}

// Type is one FHIR type.
type Type struct {
	Name     string
	Kind     Kind
	Abstract bool
	// Base is the type this one specialises ("DomainResource" for Patient,
	// "string" for code, "BackboneElement" for Patient.contact); "" for
	// the roots (Base, Element, Resource).
	Base string
	// Elements are the direct children in definition order, including the
	// inherited ones (id, meta, extension ...). Primitive types list id and
	// extension; their value is not an element.
	Elements []*Element
	// Constraints are the invariants declared on the type itself.
	Constraints []Constraint

	byName map[string]*Element
}

// Element is one element definition.
type Element struct {
	Name string // FHIRPath name: "value" for value[x]
	Path string // as in the specification: "Observation.value[x]"
	Min  int
	Max  int // -1 for *
	// Types are the allowed type names; choice elements have several.
	Types  []string
	Choice bool
	// Targets are the resource types a Reference (or canonical) may point
	// at, from the definitions' targetProfile; "Resource" means any.
	Targets     []string
	Binding     *Binding
	Summary     bool
	Modifier    bool
	Constraints []Constraint
}

// IsList reports whether the element repeats (max > 1 or *).
func (e *Element) IsList() bool { return e.Max != 1 && e.Max != 0 }

// Binding is a value set binding.
type Binding struct {
	Strength string // required, extensible, preferred, example
	ValueSet string // canonical URL, without the |version suffix
}

// Constraint is an invariant with its FHIRPath expression.
type Constraint struct {
	Key        string
	Severity   string // error or warning
	Human      string
	Expression string
}

// TypeByName returns the type with that name, or nil.
func TypeByName(name string) *Type { return types[name] }

// Element returns the child element with that FHIRPath name ("value" for
// value[x]), or nil.
func (t *Type) Element(name string) *Element {
	if t == nil {
		return nil
	}
	return t.byName[name]
}

// ElementForJSONKey maps a JSON property name to its element and the type
// of the value under that key: "valueQuantity" gives the value[x] element
// and "Quantity"; "birthDate" gives birthDate and "date". For a choice
// element the suffix must name one of its types. It returns nil, "" for an
// unknown key. Keys starting with "_" (primitive extensions) are not
// elements; look up the name without the underscore.
func (t *Type) ElementForJSONKey(key string) (*Element, string) {
	if t == nil {
		return nil, ""
	}
	if e := t.byName[key]; e != nil && !e.Choice {
		return e, e.Types[0]
	}
	// A choice element: the longest element-name prefix whose suffix
	// names a type of it.
	for i := len(key) - 1; i > 0; i-- {
		c := key[i]
		if c < 'A' || c > 'Z' {
			continue
		}
		e := t.byName[key[:i]]
		if e == nil || !e.Choice {
			continue
		}
		suffix := key[i:]
		for _, tn := range e.Types {
			if strings.EqualFold(tn, suffix) && choiceSuffix(tn) == suffix {
				return e, tn
			}
		}
	}
	return nil, ""
}

// ChoiceKey is the JSON key of a choice element holding a value of type
// typeName: ChoiceKey("value", "dateTime") = "valueDateTime".
func ChoiceKey(name, typeName string) string { return name + choiceSuffix(typeName) }

func choiceSuffix(typeName string) string {
	if typeName == "" {
		return ""
	}
	return strings.ToUpper(typeName[:1]) + typeName[1:]
}

// IsA reports whether t is name or specialises it, directly or not:
// Patient IsA DomainResource and Resource; code IsA string.
func (t *Type) IsA(name string) bool {
	for ; t != nil; t = types[t.Base] {
		if t.Name == name {
			return true
		}
	}
	return false
}

// IsResourceType reports whether name is a concrete resource type.
func IsResourceType(name string) bool {
	t := types[name]
	return t != nil && t.Kind == KindResource && !t.Abstract
}

// ResourceTypes lists the 146 concrete R4 resource types, sorted.
func ResourceTypes() []string { return resourceTypeNames }

// SystemType returns the FHIRPath System type of a primitive FHIR type:
// "code" gives "String", "instant" gives "DateTime". It returns "" for a
// name that is not a primitive type.
func SystemType(primitive string) string { return systemTypes[primitive] }

var resourceTypeNames []string

func init() {
	for name, t := range types {
		t.byName = make(map[string]*Element, len(t.Elements))
		for _, e := range t.Elements {
			t.byName[e.Name] = e
		}
		if t.Kind == KindResource && !t.Abstract {
			resourceTypeNames = append(resourceTypeNames, name)
		}
	}
	sort.Strings(resourceTypeNames)
}

var systemTypes = map[string]string{
	"boolean":      "Boolean",
	"string":       "String",
	"code":         "String",
	"id":           "String",
	"markdown":     "String",
	"uri":          "String",
	"url":          "String",
	"canonical":    "String",
	"oid":          "String",
	"uuid":         "String",
	"base64Binary": "String",
	"xhtml":        "String",
	"integer":      "Integer",
	"positiveInt":  "Integer",
	"unsignedInt":  "Integer",
	"decimal":      "Decimal",
	"date":         "Date",
	"dateTime":     "DateTime",
	"instant":      "DateTime",
	"time":         "Time",
}
