package recognition

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Systems and URLs of the resources the engine keeps (decision 011).
const (
	// Tag is the system of the recognition mark: a result that qualifies
	// carries meta.tag {system: Tag, code: "HR"}.
	Tag     = "https://xietong.dev/fhir/CodeSystem/recognition-mark"
	MarkHR  = "HR"
	base    = "https://xietong.dev/fhir/"
	csItem  = base + "CodeSystem/recognition-item"      // item codes (K, HbA1c, CT-CHEST ...)
	csProg  = base + "CodeSystem/recognition-programme" // programme codes (jjj-lab ...)
	csCat   = base + "CodeSystem/recognition-category"  // biochemistry, immunology ...
	csKind  = base + "CodeSystem/recognition"           // eqa-result, decision
	csWhy   = base + "CodeSystem/recognition-reason"    // why a prior result does not qualify
	csRetry = base + "CodeSystem/recognition-retest-reason"
	// CSLocal is the system of the local lab and imaging codes of the
	// default catalogue (each item covers its LOINC codes and one local code).
	CSLocal   = base + "CodeSystem/recognition-local"
	extItem   = base + "StructureDefinition/recognition-item"
	extEQA    = base + "StructureDefinition/recognition-eqa"
	csGrade   = base + "CodeSystem/hospital-grade"
	usageType = "http://terminology.hl7.org/CodeSystem/usage-context-type"
	loinc     = "http://loinc.org"
)

// Programme is one recognition programme (京津冀's lab list, a city's
// own): the items it recognises, each with its own window.
type Programme struct {
	Code   string   `json:"code"`             // jjj-lab
	Name   string   `json:"name"`             // 京津冀检验结果互认
	NameEn string   `json:"nameEn"`           // Jing-Jin-Ji lab result recognition
	Region []string `json:"region,omitempty"` // GB/T 2260 division codes
	Items  []*Item  `json:"items"`
}

// Item is one catalogue item of a programme.
type Item struct {
	Programme string `json:"-"`
	Code      string `json:"code"` // K, HbA1c, CT-CHEST (A-Z a-z 0-9 - .)
	Name      string `json:"name"` // 钾
	NameEn    string `json:"nameEn"`
	// Category: biochemistry, immunology, haematology, coagulation,
	// molecular; xray, ct, mri, ultrasound.
	Category string `json:"category"`
	// Codes are the result codes it covers, "system|code" (LOINC and
	// local codes; several per item).
	Codes      []string `json:"codes"`
	Specimen   string   `json:"specimen,omitempty"`
	WindowDays int      `json:"windowDays"` // a result is recognisable this many days after its date (the last day included)
	Price      float64  `json:"price"`      // CNY, counted as saved when a re-test is avoided
	// MinGrade is the lowest hospital grade (its leading digit: "2" for
	// 二级 and above) an issuer needs; "" for none.
	MinGrade string `json:"minGrade,omitempty"`
	// EQA: the issuer needs a passed external quality assessment of this
	// item in the result's year or the year before.
	EQA bool `json:"eqa"`
}

// Membership is an institution's participation in a programme.
type Membership struct {
	Programme    string    `json:"programme"`
	Organization string    `json:"organization"` // Organization id
	From         time.Time `json:"from"`
	To           time.Time `json:"to,omitzero"` // zero: still a member; otherwise the last day of membership
}

// EQAResult is one external quality assessment of an institution for an
// item (the item code, shared by programmes).
type EQAResult struct {
	Organization string    `json:"organization"`
	Item         string    `json:"item"`
	Year         int       `json:"year"`
	Date         time.Time `json:"date"`
	Passed       bool      `json:"passed"`
}

// Catalogue is what a catalogue file holds: programmes with their items,
// and optionally memberships and EQA results.
type Catalogue struct {
	Programmes []*Programme `json:"programmes"`
	Members    []Membership `json:"members,omitempty"`
	EQA        []EQAResult  `json:"eqa,omitempty"`
}

var (
	codeRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,40}$`)
	idRE     = regexp.MustCompile(`^[A-Za-z0-9.-]{1,64}$`)
	systemRE = regexp.MustCompile(`^[a-z][a-z0-9+.-]*:\S+$`)
)

// ParseCode checks a covered code "system|code" (or a bare code) and
// returns it in canonical form.
func ParseCode(s string) (string, error) {
	sys, code, has := strings.Cut(s, "|")
	if !has {
		code, sys = s, ""
	}
	if code == "" || strings.ContainsAny(code, " \t\r\n|") || len(code) > 64 {
		return "", fmt.Errorf("%q is not a code: write system|code, e.g. http://loinc.org|2823-3, or an item code", s)
	}
	if has && !systemRE.MatchString(sys) {
		return "", fmt.Errorf("%q: the system %q is not an absolute URI", s, sys)
	}
	return s, nil
}

// Validate checks a catalogue file's content before it is written.
func (c *Catalogue) Validate() error {
	progs := map[string]bool{}
	for _, p := range c.Programmes {
		if !codeRE.MatchString(p.Code) {
			return fmt.Errorf("programme code %q: use 1-41 of A-Z a-z 0-9 - .", p.Code)
		}
		if progs[p.Code] {
			return fmt.Errorf("programme %s is listed twice", p.Code)
		}
		progs[p.Code] = true
		if p.Name == "" {
			return fmt.Errorf("programme %s has no name", p.Code)
		}
		items := map[string]bool{}
		for _, it := range p.Items {
			it.Programme = p.Code
			if !codeRE.MatchString(it.Code) {
				return fmt.Errorf("programme %s: item code %q: use 1-41 of A-Z a-z 0-9 - .", p.Code, it.Code)
			}
			if items[it.Code] {
				return fmt.Errorf("programme %s: item %s is listed twice", p.Code, it.Code)
			}
			items[it.Code] = true
			if it.Name == "" || it.Category == "" {
				return fmt.Errorf("programme %s: item %s needs a name and a category", p.Code, it.Code)
			}
			if len(it.Codes) == 0 {
				return fmt.Errorf("programme %s: item %s covers no codes", p.Code, it.Code)
			}
			for _, k := range it.Codes {
				if _, err := ParseCode(k); err != nil || !strings.Contains(k, "|") {
					return fmt.Errorf("programme %s: item %s: covered code %q must be system|code", p.Code, it.Code, k)
				}
			}
			if it.WindowDays < 1 || it.WindowDays > 3650 {
				return fmt.Errorf("programme %s: item %s: windowDays %d must be 1 to 3650", p.Code, it.Code, it.WindowDays)
			}
			if it.Price < 0 {
				return fmt.Errorf("programme %s: item %s: negative price", p.Code, it.Code)
			}
		}
	}
	for _, m := range c.Members {
		if !idRE.MatchString(m.Organization) || m.From.IsZero() {
			return fmt.Errorf("membership of %q in %s: needs an Organization id and a from date", m.Organization, m.Programme)
		}
		if !m.To.IsZero() && m.To.Before(m.From) {
			return fmt.Errorf("membership of %s in %s ends before it starts", m.Organization, m.Programme)
		}
	}
	for _, e := range c.EQA {
		if !idRE.MatchString(e.Organization) || !codeRE.MatchString(e.Item) || e.Date.IsZero() || e.Year < 1900 {
			return fmt.Errorf("EQA result %+v: needs organization, item, year and date", e)
		}
	}
	return nil
}

// Resources turns the catalogue into the FHIR resources the engine reads
// back (each with resourceType and a deterministic id, so an import is
// idempotent):
//
//   - a Programme → PlanDefinition "recognition-{code}" (identifier in
//     csProg, title Chinese, subtitle English, jurisdiction);
//   - an Item → ActivityDefinition "recognition-{programme}-{item}":
//     code = the item coding (csItem) followed by every covered code;
//     title/subtitle the names; topic the category; useContext "program"
//     the programme; the recognition-item extension holds windowDays,
//     price (Money, CNY), specimen, minGrade and eqa;
//   - a Membership → OrganizationAffiliation: code the programme,
//     participatingOrganization, period;
//   - an EQA result → Basic (code eqa-result, subject the Organization,
//     created the date; the recognition-eqa extension: item, year,
//     outcome pass|fail).
func (c *Catalogue) Resources() []map[string]any {
	var out []map[string]any
	for _, p := range c.Programmes {
		out = append(out, programmeResource(p))
		for _, it := range p.Items {
			it.Programme = p.Code
			out = append(out, itemResource(it))
		}
	}
	for _, m := range c.Members {
		out = append(out, MembershipResource(m))
	}
	for _, e := range c.EQA {
		out = append(out, EQAResource(e))
	}
	return out
}

type obj = map[string]any

func coding(sys, code, display string) obj {
	c := obj{"system": sys, "code": code}
	if display != "" {
		c["display"] = display
	}
	return c
}

func programmeResource(p *Programme) obj {
	r := obj{
		"resourceType": "PlanDefinition",
		"id":           "recognition-" + p.Code,
		"url":          base + "recognition/" + p.Code,
		"identifier":   []any{obj{"system": csProg, "value": p.Code}},
		"name":         strings.NewReplacer("-", "_", ".", "_").Replace(p.Code),
		"title":        p.Name,
		"status":       "active",
		"type":         obj{"coding": []any{coding(csKind, "programme", "Recognition programme")}},
	}
	if p.NameEn != "" {
		r["subtitle"] = p.NameEn
	}
	if len(p.Region) > 0 {
		var j []any
		for _, d := range p.Region {
			j = append(j, obj{"coding": []any{coding(base+"CodeSystem/gb-t-2260", d, "")}})
		}
		r["jurisdiction"] = j
	}
	return r
}

func itemID(prog, item string) string {
	id := "recognition-" + prog + "-" + item
	if len(id) > 64 {
		id = "recognition-" + hash(prog, item)
	}
	return id
}

func hash(parts ...string) string {
	h := sha1.Sum([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:12])
}

func itemResource(it *Item) obj {
	codings := []any{coding(csItem, it.Code, it.NameEn)}
	for _, k := range it.Codes {
		sys, code, _ := strings.Cut(k, "|")
		codings = append(codings, coding(sys, code, ""))
	}
	ext := []any{
		obj{"url": "windowDays", "valueInteger": it.WindowDays},
		obj{"url": "price", "valueMoney": obj{"value": it.Price, "currency": "CNY"}},
		obj{"url": "eqa", "valueBoolean": it.EQA},
	}
	if it.Specimen != "" {
		ext = append(ext, obj{"url": "specimen", "valueString": it.Specimen})
	}
	if it.MinGrade != "" {
		ext = append(ext, obj{"url": "minGrade", "valueString": it.MinGrade})
	}
	r := obj{
		"resourceType": "ActivityDefinition",
		"id":           itemID(it.Programme, it.Code),
		"url":          base + "recognition/" + it.Programme + "/" + it.Code,
		"extension":    []any{obj{"url": extItem, "extension": ext}},
		"identifier":   []any{obj{"system": csItem, "value": it.Code}},
		"title":        it.Name,
		"status":       "active",
		"useContext": []any{obj{
			"code":                 coding(usageType, "program", "Program"),
			"valueCodeableConcept": obj{"coding": []any{coding(csProg, it.Programme, "")}},
		}},
		"topic": []any{obj{"coding": []any{coding(csCat, it.Category, "")}}},
		"kind":  "ServiceRequest",
		"code":  obj{"coding": codings, "text": it.Name},
	}
	if it.NameEn != "" {
		r["subtitle"] = it.NameEn
	}
	return r
}

func date(t time.Time) string { return t.Format("2006-01-02") }

// MembershipResource is the OrganizationAffiliation of a membership.
func MembershipResource(m Membership) map[string]any {
	period := obj{"start": date(m.From)}
	if !m.To.IsZero() {
		period["end"] = date(m.To)
	}
	return obj{
		"resourceType":              "OrganizationAffiliation",
		"id":                        "recognition-" + hash("member", m.Programme, m.Organization),
		"active":                    true,
		"period":                    period,
		"participatingOrganization": obj{"reference": "Organization/" + m.Organization},
		"code":                      []any{obj{"coding": []any{coding(csProg, m.Programme, "")}}},
	}
}

// EQAResource is the Basic resource of an EQA result.
func EQAResource(e EQAResult) map[string]any {
	outcome := "fail"
	if e.Passed {
		outcome = "pass"
	}
	return obj{
		"resourceType": "Basic",
		"id":           "recognition-" + hash("eqa", e.Organization, e.Item, strconv.Itoa(e.Year), date(e.Date)),
		"code":         obj{"coding": []any{coding(csKind, "eqa-result", "External quality assessment result")}},
		"subject":      obj{"reference": "Organization/" + e.Organization},
		"created":      date(e.Date),
		"extension": []any{obj{"url": extEQA, "extension": []any{
			obj{"url": "item", "valueCode": e.Item},
			obj{"url": "year", "valueInteger": e.Year},
			obj{"url": "outcome", "valueCode": outcome},
		}}},
	}
}
