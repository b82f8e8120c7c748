package healthcard

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/store"
)

// Systems, code systems and extensions this package reads and writes.
// The identifier systems are those of the demo region and the EMPI
// (decision 004); the code systems are new here (see doc.go).
const (
	base = "https://xietong.dev/fhir/"

	SystemCardID          = base + "sid/ehc"              // 电子健康卡 id on the master Patient
	SystemMRNPrefix       = base + "sid/mrn/"             // + institution code
	SystemInstitutionCode = base + "sid/institution-code" // Organization.identifier
	SystemPatientRole     = base + "CodeSystem/patient-role"
	SystemAuditEventType  = base + "CodeSystem/audit-event-type"  // code "health-card"
	SystemCardEvent       = base + "CodeSystem/health-card-event" // issue, revoke, resolve
	SystemChannel         = base + "CodeSystem/health-card-channel"
	SystemCareStep        = base + "CodeSystem/care-step"
	ExtAddressDivision    = base + "StructureDefinition/address-division"
	// SourceUses + "#" + a use's id is the meta.source of a journaled use
	// record (decision 024).
	SourceUses = base + "health-card/uses"

	// AuditEventType is the AuditEvent.type code of one-code uses.
	AuditEventType = "health-card"
)

// Channels are the terminal/channel codes of a use.
var Channels = map[string]string{
	"0100": "窗口 counter",
	"0200": "自助机 self-service kiosk",
	"0300": "医生工作站 doctor workstation",
	"0401": "公众号 official-account app",
	"0402": "小程序 mini-program",
}

// CareSteps are the care-step codes of a use.
var CareSteps = map[string]string{
	"registration": "挂号 registration",
	"consultation": "就诊 consultation",
	"examination":  "检查检验 examination or lab test",
	"payment":      "缴费 payment",
	"pharmacy":     "取药 pharmacy",
	"report":       "报告查询 report retrieval",
	"admission":    "入院 admission",
	"discharge":    "出院 discharge",
	"other":        "其他 other",
}

type obj = map[string]any

func str(v any) string { s, _ := v.(string); return s }
func list(v any) []any { l, _ := v.([]any); return l }
func object(v any) obj { m, _ := v.(map[string]any); return m }

func decode(v *store.Version) (obj, error) {
	return fhirjson.Decode(v.Body, fhirjson.Limits{})
}

func versionOf(res obj) int64 {
	n, _ := strconv.ParseInt(str(object(res["meta"])["versionId"]), 10, 64)
	return n
}

// search runs a one-clause-per-predicate query and decodes the matches.
func search(ctx context.Context, r store.Reader, typ string, count int, preds ...store.Predicate) ([]obj, error) {
	q := &store.Query{Types: []string{typ}, Count: count, Total: store.TotalNone}
	for _, p := range preds {
		q.Where = append(q.Where, store.Clause{p})
	}
	res, err := r.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]obj, 0, len(res.Matches))
	for _, v := range res.Matches {
		m, err := decode(v)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func tokenPred(param, system, code string) store.Predicate {
	return store.Predicate{Param: param, Type: store.TypeToken, System: system, Code: code}
}

func refPred(param, typ, id string) store.Predicate {
	return store.Predicate{Param: param, Type: store.TypeReference, TargetType: typ, TargetID: id}
}

// identifierValue is the value of the first identifier of system.
func identifierValue(res obj, system string) string {
	for _, x := range list(res["identifier"]) {
		if id := object(x); str(id["system"]) == system {
			return str(id["value"])
		}
	}
	return ""
}

// linkTarget is the id of the Patient a link of the type points to.
func linkTargets(p obj, typ string) []string {
	var out []string
	for _, x := range list(p["link"]) {
		l := object(x)
		if str(l["type"]) != typ {
			continue
		}
		if id, ok := strings.CutPrefix(str(object(l["other"])["reference"]), "Patient/"); ok && id != "" {
			out = append(out, id)
		}
	}
	return out
}

func isMaster(p obj) bool {
	for _, x := range list(object(p["meta"])["tag"]) {
		t := object(x)
		if str(t["system"]) == SystemPatientRole && str(t["code"]) == "master" {
			return true
		}
	}
	return false
}

// divisionOf is the GB/T 2260 code of an Organization's (or Location's)
// address: the address-division extension, else a six-digit
// Address.district or postalCode is not trusted.
func divisionOf(res obj) string {
	addrs := list(res["address"])
	if a := object(res["address"]); a != nil {
		addrs = []any{a}
	}
	for _, x := range addrs {
		for _, e := range list(object(x)["extension"]) {
			ext := object(e)
			if str(ext["url"]) == ExtAddressDivision {
				if c := str(object(ext["valueCoding"])["code"]); len(c) == 6 {
					return c
				}
			}
		}
	}
	return ""
}

// CityCode is the prefecture-level code of a GB/T 2260 division: the first
// four digits and "00" (110112 通州区 → 110100 北京市; 131082 三河市 →
// 131000 廊坊市). "" for anything but six digits.
func CityCode(division string) string {
	if len(division) != 6 {
		return ""
	}
	for i := 0; i < 6; i++ {
		if division[i] < '0' || division[i] > '9' {
			return ""
		}
	}
	return division[:4] + "00"
}

func number(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }
