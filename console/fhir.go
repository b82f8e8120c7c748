package console

import (
	"encoding/json"
	"strings"
	"time"
)

// Small readers over the decoded FHIR tree. They never panic on a missing
// or mistyped element: the console shows what is there.

func str(v any) string { s, _ := v.(string); return s }
func list(v any) []any { l, _ := v.([]any); return l }
func object(v any) obj { m, _ := v.(map[string]any); return m }

func num(v any) float64 {
	switch n := v.(type) {
	case json.Number:
		f, _ := n.Float64()
		return f
	case float64:
		return n
	}
	return 0
}

// Code systems and identifier systems of the platform (see package demo).
const (
	sidResident        = "https://xietong.dev/fhir/sid/resident-id"
	sidEHC             = "https://xietong.dev/fhir/sid/ehc"
	sidInstitutionCode = "https://xietong.dev/fhir/sid/institution-code"
	csInstitutionKind  = "https://xietong.dev/fhir/CodeSystem/institution-kind"
	csHospitalGrade    = "https://xietong.dev/fhir/CodeSystem/hospital-grade"
	csCooperationKind  = "https://xietong.dev/fhir/CodeSystem/cooperation-kind"
	csAffiliationRole  = "https://xietong.dev/fhir/CodeSystem/affiliation-role"
	csServiceKind      = "https://xietong.dev/fhir/CodeSystem/service-kind"
	csDepartment       = "https://xietong.dev/fhir/CodeSystem/clinical-department"
	csTitle            = "https://xietong.dev/fhir/CodeSystem/professional-title"
	csRegistration     = "https://xietong.dev/fhir/CodeSystem/practice-registration"
	extDivision        = "https://xietong.dev/fhir/StructureDefinition/address-division"
)

// identifier returns the value of the first identifier of res in system.
func identifier(res obj, system string) string {
	for _, i := range list(res["identifier"]) {
		io := object(i)
		if str(io["system"]) == system {
			return str(io["value"])
		}
	}
	return ""
}

// coding returns the first coding of a CodeableConcept list or value in system.
func codingIn(concepts any, system string) (code, display string) {
	var cs []any
	if l := list(concepts); l != nil {
		cs = l
	} else if o := object(concepts); o != nil {
		cs = []any{o}
	}
	for _, c := range cs {
		for _, cd := range list(object(c)["coding"]) {
			co := object(cd)
			if system == "" || str(co["system"]) == system {
				return str(co["code"]), str(co["display"])
			}
		}
	}
	return "", ""
}

// text of a CodeableConcept: its text, else its first coding's display.
func conceptText(c any) string {
	co := object(c)
	if t := str(co["text"]); t != "" {
		return t
	}
	for _, cd := range list(co["coding"]) {
		if d := str(object(cd)["display"]); d != "" {
			return d
		}
		if d := str(object(cd)["code"]); d != "" {
			return d
		}
	}
	return ""
}

// refID returns the id of a literal reference "Type/id" to typ.
func refID(ref any, typ string) string {
	r := str(object(ref)["reference"])
	if id, ok := strings.CutPrefix(r, typ+"/"); ok {
		return id
	}
	return ""
}

func refDisplay(ref any) string { return str(object(ref)["display"]) }

// humanName gives the display text of a HumanName list.
func humanName(names any) string {
	for _, n := range list(names) {
		no := object(n)
		if t := str(no["text"]); t != "" {
			return t
		}
		s := str(no["family"])
		for _, g := range list(no["given"]) {
			s += str(g)
		}
		if s != "" {
			return s
		}
	}
	return ""
}

// addressDistrict gives the district (and division code) of an Address.
func addressDistrict(a obj) (district, code string) {
	for _, e := range list(a["extension"]) {
		eo := object(e)
		if str(eo["url"]) == extDivision {
			code = str(object(eo["valueCoding"])["code"])
		}
	}
	return str(a["district"]), code
}

func firstObject(v any) obj {
	if l := list(v); len(l) > 0 {
		return object(l[0])
	}
	return object(v)
}

// when parses a FHIR dateTime/date/instant; the zero time if it cannot.
func when(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
