package empi

import (
	"strings"
	"time"
	"unicode"

	"github.com/xietong/xietong/identity/chinese"
	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/identity/match"
)

// Identifier systems and extensions the mapping reads (see doc.go).
const (
	SystemResidentID    = "https://xietong.dev/fhir/sid/resident-id"
	SystemResidentIDOID = "urn:oid:2.16.156.10011.1.1"
	ExtAddressDivision  = "https://xietong.dev/fhir/StructureDefinition/address-division"
	ExtMatchGrade       = "http://hl7.org/fhir/StructureDefinition/match-grade"
)

// Record maps a Patient resource (the tree of fhir/fhirjson) to what
// matching knows of it. Source is the Patient's id. See the package
// documentation for the rules.
func Record(p map[string]any) match.Record {
	r := match.Record{Source: str(p["id"])}
	r.Name = patientName(p)
	r.Birth = birthDate(str(p["birthDate"]))
	switch str(p["gender"]) {
	case "male":
		r.Sex = idnumber.Male
	case "female":
		r.Sex = idnumber.Female
	}
	r.IDNumber, r.MRN, r.Institution = identifiers(p)
	if ref := str(obj(p["managingOrganization"])["reference"]); ref != "" {
		r.Institution = ref
	}
	for _, t := range list(p["telecom"]) {
		cp := obj(t)
		switch str(cp["system"]) {
		case "phone", "sms":
		default:
			continue
		}
		if ended(cp["period"]) {
			continue
		}
		if v := strings.TrimSpace(str(cp["value"])); v != "" {
			r.Phones = append(r.Phones, v)
		}
	}
	r.Division, r.Address = address(p)
	return r
}

// patientName picks the official name, else the usual one, else one with
// no use, else any but old, maiden and nickname names; see doc.go.
func patientName(p map[string]any) string {
	rank := func(use string) int {
		switch use {
		case "official":
			return 4
		case "usual":
			return 3
		case "":
			return 2
		case "old", "maiden", "nickname", "anonymous":
			return 0
		}
		return 1 // temp
	}
	best, bestRank := "", 0
	for _, n := range list(p["name"]) {
		hn := obj(n)
		if ended(hn["period"]) {
			continue
		}
		s := nameText(hn)
		if s == "" {
			continue
		}
		if k := rank(str(hn["use"])); k > bestRank {
			best, bestRank = s, k
		}
	}
	return best
}

// nameText renders one HumanName the way Chinese names are written:
// family name first, no space between Han characters.
func nameText(hn map[string]any) string {
	family := strings.TrimSpace(str(hn["family"]))
	var given []string
	for _, g := range list(hn["given"]) {
		if s := strings.TrimSpace(str(g)); s != "" {
			given = append(given, s)
		}
	}
	text := strings.TrimSpace(str(hn["text"]))
	if text != "" && (hasHan(text) || (family == "" && len(given) == 0)) {
		return text
	}
	if family == "" && len(given) == 0 {
		return text
	}
	parts := append([]string{family}, given...)
	if hasHan(family) || (len(given) > 0 && hasHan(given[0])) {
		return strings.Join(parts, "")
	}
	return strings.TrimSpace(strings.Join(parts, " "))
}

func hasHan(s string) bool {
	for _, r := range s {
		if chinese.IsHan(r) || unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// birthDate reads a full date; a partial one (year, year-month) is
// treated as unknown rather than as the first of the month.
func birthDate(s string) time.Time {
	if len(s) != len("2006-01-02") {
		return time.Time{}
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// identifiers returns the resident ID number, the medical record number
// and the system of the latter (the institution when there is no
// managingOrganization).
func identifiers(p map[string]any) (id, mrn, institution string) {
	var typed string
	for _, x := range list(p["identifier"]) {
		ident := obj(x)
		if str(ident["use"]) == "old" || ended(ident["period"]) {
			continue
		}
		v := strings.TrimSpace(str(ident["value"]))
		if v == "" {
			continue
		}
		sys := str(ident["system"])
		codes := typeCodes(ident)
		switch {
		case sys == SystemResidentID || sys == SystemResidentIDOID:
			if id == "" {
				id = v
			}
		case codes["NI"] || codes["NNCHN"]:
			if typed == "" {
				if _, err := idnumber.Parse(strings.ToUpper(v)); err == nil {
					typed = v
				}
			}
		case codes["MR"]:
			if mrn == "" {
				mrn, institution = v, sys
			}
		}
	}
	if id == "" {
		id = typed
	}
	return id, mrn, institution
}

func typeCodes(ident map[string]any) map[string]bool {
	var out map[string]bool
	for _, c := range list(obj(ident["type"])["coding"]) {
		if code := str(obj(c)["code"]); code != "" {
			if out == nil {
				out = map[string]bool{}
			}
			out[code] = true
		}
	}
	return out
}

// address picks the home address (else the first current one that is not
// old or billing) and returns its GB/T 2260 division code and its text.
func address(p map[string]any) (division, text string) {
	var chosen map[string]any
	best := -1
	for _, x := range list(p["address"]) {
		a := obj(x)
		if ended(a["period"]) {
			continue
		}
		k := 1
		switch str(a["use"]) {
		case "home":
			k = 3
		case "":
			k = 2
		case "old", "billing":
			k = 0
		}
		if k > best {
			chosen, best = a, k
		}
	}
	if chosen == nil {
		return "", ""
	}
	for _, e := range list(chosen["extension"]) {
		ext := obj(e)
		if str(ext["url"]) == ExtAddressDivision {
			if code := str(obj(ext["valueCoding"])["code"]); isDivision(code) {
				division = code
				break
			}
		}
	}
	if division == "" {
		if d := strings.TrimSpace(str(chosen["district"])); isDivision(d) {
			division = d
		}
	}
	text = strings.TrimSpace(str(chosen["text"]))
	if text == "" {
		var b strings.Builder
		for _, k := range []string{"state", "city", "district"} {
			if s := strings.TrimSpace(str(chosen[k])); s != "" && !isDivision(s) {
				b.WriteString(s)
			}
		}
		for _, l := range list(chosen["line"]) {
			b.WriteString(strings.TrimSpace(str(l)))
		}
		text = b.String()
	}
	return division, text
}

func isDivision(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ended reports whether a Period has an end in the past.
func ended(v any) bool {
	end := str(obj(v)["end"])
	if end == "" {
		return false
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, end); err == nil {
			return t.Before(time.Now())
		}
	}
	return false
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}
