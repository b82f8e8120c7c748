package validate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxString is the longest string FHIR allows: 1 MB (1024*1024 characters).
const maxString = 1024 * 1024

// primitive validates a primitive value: its JSON type, then its format.
func (w *walker) primitive(val any, ki *keyInfo) {
	switch p := ki.prim; p {
	case primBoolean:
		if _, ok := val.(bool); !ok {
			hint := ""
			if s, ok := val.(string); ok && (s == "true" || s == "false") {
				hint = fmt.Sprintf(" (write %s, not \"%s\")", s, s)
			}
			w.errorf(CodeStructure, "expected a JSON boolean (true or false), found %s%s", jsonKind(val), hint)
		}
		return
	case primInteger, primPositiveInt, primUnsignedInt, primDecimal:
		s, ok := numberText(val)
		if !ok {
			hint := ""
			if str, ok := val.(string); ok && validNumber(str) {
				hint = fmt.Sprintf(" (write %s, not \"%s\")", str, str)
			}
			w.errorf(CodeStructure, "expected a JSON number (a %s), found %s%s", ki.typeName, jsonKind(val), hint)
			return
		}
		if why, ok := checkNumber(p, s); !ok {
			w.errorf(CodeValue, "%s is not a valid %s%s", s, ki.typeName, why)
		}
		return
	}
	s, ok := val.(string)
	if !ok {
		w.errorf(CodeStructure, "expected a JSON string (a %s), found %s", ki.typeName, jsonKind(val))
		return
	}
	if s == "" {
		w.errorf(CodeValue, "empty string: FHIR values must not be empty; omit the element instead")
		return
	}
	if len(s) > maxString && utf8.RuneCountInString(s) > maxString {
		w.errorf(CodeTooLong, "string of %d characters is longer than the 1 MB (1,048,576 characters) FHIR allows", utf8.RuneCountInString(s))
		return
	}
	var why string
	valid := true
	switch ki.prim {
	case primString, primMarkdown:
		w.stringHygiene(s)
		return
	case primCode:
		valid, why = checkCode(s)
	case primID:
		valid, why = checkID(s)
	case primURI, primURL, primCanonical:
		valid, why = checkURI(s)
		if valid && s[0] == '#' {
			w.noteLocal(s, false)
		}
	case primOID:
		valid, why = checkOID(s)
	case primUUID:
		valid, why = checkUUID(s)
	case primBase64:
		valid, why = checkBase64(s)
	case primDate:
		valid, why = checkTemporal(s, temporalDate)
	case primDateTime:
		valid, why = checkTemporal(s, temporalDateTime)
	case primInstant:
		valid, why = checkTemporal(s, temporalInstant)
	case primTime:
		valid, why = checkTime(s)
	case primXHTML:
		w.xhtml(s)
		return
	}
	if !valid {
		w.errorf(CodeValue, "%s is not a valid %s%s", quote(s), ki.typeName, why)
		return
	}
	if codes := ki.elem.codes; codes != nil && !ki.underscore && !codes[s] {
		w.errorf(CodeCodeInvalid, "%s is not in the required value set %s %s", quote(s), ki.elem.vs, ki.elem.vsShown)
	}
}

// stringHygiene reports the SHOULD rules of string: some non-whitespace
// content, no control characters other than tab, CR and LF.
func (w *walker) stringHygiene(s string) {
	blank := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		case c < 0x20 || c == 0x7f:
			w.warnf(CodeValue, "control character 0x%02x at byte %d: strings SHOULD NOT contain control characters other than tab, CR and LF", c, i)
			return
		default:
			blank = false
		}
	}
	if blank {
		w.warnf(CodeValue, "string is only whitespace: strings SHOULD have non-whitespace content")
	}
}

// quote shows a value in a message, shortened if long.
func quote(s string) string {
	if len(s) > 80 {
		cut := 77
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return "'" + s + "'"
}

func numberText(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return string(n), true
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64), true
	case int:
		return strconv.Itoa(n), true
	case int64:
		return strconv.FormatInt(n, 10), true
	}
	return "", false
}

func checkNumber(p prim, s string) (string, bool) {
	if !validNumber(s) {
		return " (not a JSON number)", false
	}
	if p == primDecimal {
		return "", true
	}
	if strings.ContainsAny(s, ".eE") {
		return " (integers have no fraction or exponent)", false
	}
	if s == "-0" {
		return " (write 0)", false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < -2147483648 || n > 2147483647 {
		return " (outside the 32-bit range -2147483648..2147483647)", false
	}
	switch {
	case p == primPositiveInt && n < 1:
		return " (must be 1 or more)", false
	case p == primUnsignedInt && n < 0:
		return " (must be 0 or more)", false
	}
	return "", true
}

// validNumber reports whether s follows the JSON number grammar, which is
// also FHIR's decimal grammar.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isSpace is \s of the regexes in the specification.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// checkCode: [^\s]+(\s[^\s]+)*
func checkCode(s string) (bool, string) {
	if isSpace(s[0]) || isSpace(s[len(s)-1]) {
		return false, " (no leading or trailing whitespace)"
	}
	for i := 1; i < len(s); i++ {
		if isSpace(s[i]) && isSpace(s[i-1]) {
			return false, " (no consecutive whitespace)"
		}
	}
	return true, ""
}

// checkID: [A-Za-z0-9\-\.]{1,64}
func checkID(s string) (bool, string) {
	if len(s) > 64 {
		return false, fmt.Sprintf(" (%d characters; at most 64 of A-Z, a-z, 0-9, '-' and '.')", len(s))
	}
	for i := 0; i < len(s); i++ {
		if !isIDChar(s[i]) {
			return false, " (only A-Z, a-z, 0-9, '-' and '.' are allowed, 1 to 64 of them)"
		}
	}
	return true, ""
}

func isIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '.'
}

// checkURI: \S*
func checkURI(s string) (bool, string) {
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			return false, " (a URI must not contain whitespace)"
		}
	}
	return true, ""
}

// checkOID: urn:oid:[0-2](\.(0|[1-9][0-9]*))+
func checkOID(s string) (bool, string) {
	const why = " (expected urn:oid: followed by dot-separated numbers starting with 0, 1 or 2, as in urn:oid:1.2.3)"
	rest, ok := strings.CutPrefix(s, "urn:oid:")
	if !ok || len(rest) < 3 || rest[0] < '0' || rest[0] > '2' || rest[1] != '.' {
		return false, why
	}
	for _, part := range strings.Split(rest[2:], ".") {
		if part == "" || len(part) > 1 && part[0] == '0' {
			return false, why
		}
		for i := 0; i < len(part); i++ {
			if !isDigit(part[i]) {
				return false, why
			}
		}
	}
	return true, ""
}

// checkUUID: urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}
func checkUUID(s string) (bool, string) {
	rest, ok := strings.CutPrefix(s, "urn:uuid:")
	if !ok || !isUUID(rest) {
		return false, " (expected urn:uuid: and a lowercase UUID, as in urn:uuid:c757873d-ec9a-4326-a141-556f43239520)"
	}
	return true, ""
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isDigit(c) && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// checkBase64: (\s*([0-9a-zA-Z\+/=]){4}\s*)+ with padding only at the end.
func checkBase64(s string) (bool, string) {
	n, pad := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isSpace(c):
			continue
		case c == '=':
			pad++
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '+' || c == '/':
			if pad > 0 {
				return false, " ('=' padding may only end the data)"
			}
		default:
			return false, fmt.Sprintf(" (character %s is not base64)", strconv.QuoteRune(rune(c)))
		}
		n++
	}
	if n%4 != 0 || pad > 2 {
		return false, fmt.Sprintf(" (%d base64 characters: the count must be a multiple of 4)", n)
	}
	return true, ""
}

type temporal uint8

const (
	temporalDate temporal = iota
	temporalDateTime
	temporalInstant
)

var temporalForms = [...]string{
	temporalDate:     " (expected YYYY, YYYY-MM or YYYY-MM-DD)",
	temporalDateTime: " (expected YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm))",
	temporalInstant:  " (expected YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm))",
}

// checkTemporal checks date, dateTime and instant by hand, with the
// day-of-month rules the regular expressions of the specification leave out.
func checkTemporal(s string, kind temporal) (bool, string) {
	form := temporalForms[kind]
	if len(s) < 4 || !digits(s[:4]) {
		return false, form
	}
	if s[:4] == "0000" {
		return false, " (year 0000 does not exist)"
	}
	if len(s) == 4 {
		return kind != temporalInstant, form
	}
	if len(s) < 7 || s[4] != '-' || !digits(s[5:7]) {
		return false, form
	}
	month := atoi2(s[5:7])
	if month < 1 || month > 12 {
		return false, fmt.Sprintf(" (month %s)", s[5:7])
	}
	if len(s) == 7 {
		return kind != temporalInstant, form
	}
	if len(s) < 10 || s[7] != '-' || !digits(s[8:10]) {
		return false, form
	}
	day := atoi2(s[8:10])
	if day < 1 || day > 31 {
		return false, fmt.Sprintf(" (day %s)", s[8:10])
	}
	if dim := daysIn(atoi4(s[:4]), month); day > dim {
		if month == 2 && day == 29 {
			return false, fmt.Sprintf(" (%s is not a leap year)", s[:4])
		}
		return false, fmt.Sprintf(" (month %s has %d days)", s[5:7], dim)
	}
	if len(s) == 10 {
		return kind == temporalDate || kind == temporalDateTime, form
	}
	if kind == temporalDate || s[10] != 'T' {
		return false, form
	}
	rest := s[11:]
	n, why := timeOfDay(rest)
	if n < 0 {
		return false, why
	}
	zone := rest[n:]
	if zone == "" {
		return false, " (a time needs a time zone: Z, +hh:mm or -hh:mm)"
	}
	if zone == "Z" {
		return true, ""
	}
	if len(zone) != 6 || zone[0] != '+' && zone[0] != '-' || !digits(zone[1:3]) || zone[3] != ':' || !digits(zone[4:6]) {
		return false, form
	}
	h, m := atoi2(zone[1:3]), atoi2(zone[4:6])
	if h > 14 || m > 59 || h == 14 && m != 0 {
		return false, fmt.Sprintf(" (time zone offset %s is outside -14:00..+14:00)", zone)
	}
	return true, ""
}

// checkTime: ([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?
func checkTime(s string) (bool, string) {
	n, why := timeOfDay(s)
	if n < 0 {
		return false, why
	}
	if n != len(s) {
		return false, " (expected hh:mm:ss[.fff], without a time zone)"
	}
	return true, ""
}

// timeOfDay parses hh:mm:ss(.f+)? at the start of s and returns its length,
// or -1 and the reason.
func timeOfDay(s string) (int, string) {
	const form = " (expected hh:mm:ss[.fff] after the date, as in 2020-01-31T13:45:00Z)"
	if len(s) < 8 || !digits(s[0:2]) || s[2] != ':' || !digits(s[3:5]) || s[5] != ':' || !digits(s[6:8]) {
		return -1, form
	}
	if h := atoi2(s[0:2]); h > 23 {
		return -1, fmt.Sprintf(" (hour %s)", s[0:2])
	}
	if m := atoi2(s[3:5]); m > 59 {
		return -1, fmt.Sprintf(" (minute %s)", s[3:5])
	}
	if sec := atoi2(s[6:8]); sec > 60 {
		return -1, fmt.Sprintf(" (second %s)", s[6:8])
	}
	n := 8
	if n < len(s) && s[n] == '.' {
		n++
		start := n
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		if n == start {
			return -1, " (expected digits after the decimal point of the seconds)"
		}
	}
	return n, ""
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }
func atoi4(s string) int { return atoi2(s[:2])*100 + atoi2(s[2:4]) }

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
