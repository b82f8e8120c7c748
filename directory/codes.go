package directory

import (
	"slices"
	"strings"
)

// HL7 code systems the import writes (the Xietong ones are in vocab).
const (
	sysOrgType  = "http://terminology.hl7.org/CodeSystem/organization-type"
	sysV2ID     = "http://terminology.hl7.org/CodeSystem/v2-0203"
	sysPracRole = "http://terminology.hl7.org/CodeSystem/practitioner-role"
	sysLocPhys  = "http://terminology.hl7.org/CodeSystem/location-physical-type"
)

func keys(m map[string]string) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

type object = map[string]any

func str(v any) string         { s, _ := v.(string); return s }
func list(v any) []any         { l, _ := v.([]any); return l }
func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func coding(system, code, display string) object {
	c := object{"system": system, "code": code}
	if display != "" {
		c["display"] = display
	}
	return c
}
func concept(text string, c object) object {
	m := object{"coding": []any{c}}
	if text != "" {
		m["text"] = text
	}
	return m
}
