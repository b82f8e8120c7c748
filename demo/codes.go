package demo

import (
	"encoding/json"
	"strconv"

	"github.com/xietong/xietong/directory/vocab"
)

// Project code systems, naming systems and extensions. They are defined
// here first; the terminology service (a later issue) publishes them.
const (
	base = "https://xietong.dev/fhir/"

	csExpertPool = base + "CodeSystem/expert-pool-kind"

	sidResidentID = base + "sid/resident-id"   // 居民身份证号码 (GB 11643)
	sidEHC        = base + "sid/ehc"           // 电子健康卡 id
	sidMRNPrefix  = base + "sid/mrn/"          // + institution code
	sidStaffNo    = base + "sid/staff-number/" // + institution code

	sysLOINC    = "http://loinc.org"
	sysSNOMED   = "http://snomed.info/sct"
	sysUCUM     = "http://unitsofmeasure.org"
	sysDCM      = "http://dicom.nema.org/resources/ontology/DCM"
	sysV2ID     = "http://terminology.hl7.org/CodeSystem/v2-0203"
	sysV2Diag   = "http://terminology.hl7.org/CodeSystem/v2-0074"
	sysObsCat   = "http://terminology.hl7.org/CodeSystem/observation-category"
	sysInterp   = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	sysActCode  = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	sysPartType = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	sysOrgType  = "http://terminology.hl7.org/CodeSystem/organization-type"
	sysPracRole = "http://terminology.hl7.org/CodeSystem/practitioner-role"
	sysLocPhys  = "http://terminology.hl7.org/CodeSystem/location-physical-type"
	sysV2Rel    = "http://terminology.hl7.org/CodeSystem/v2-0131"
)

// obj is the JSON object of the in-memory tree.
type obj = map[string]any

func coding(system, code, display string) obj {
	c := obj{"system": system, "code": code}
	if display != "" {
		c["display"] = display
	}
	return c
}

func concept(text string, codings ...obj) obj {
	cs := make([]any, len(codings))
	for i, c := range codings {
		cs[i] = c
	}
	m := obj{"coding": cs}
	if text != "" {
		m["text"] = text
	}
	return m
}

func ref(typ, id, display string) obj {
	r := obj{"reference": typ + "/" + id}
	if display != "" {
		r["display"] = display
	}
	return r
}

func ident(system, value string, typeCode, typeDisplay string) obj {
	m := obj{"system": system, "value": value}
	if typeCode != "" {
		m["type"] = concept(typeDisplay, coding(sysV2ID, typeCode, ""))
	}
	return m
}

func list(items ...any) []any { return items }

// dec writes a decimal with a fixed number of fraction digits.
func dec(v float64, digits int) json.Number {
	return json.Number(strconv.FormatFloat(v, 'f', digits, 64))
}

func integer(n int) json.Number { return json.Number(strconv.Itoa(n)) }

// divisionExt is the address extension carrying the GB/T 2260 code.
func divisionExt(code, name string) obj {
	return obj{"url": vocab.ExtAddressDivision, "valueCoding": coding(vocab.SystemDivision, code, name)}
}
