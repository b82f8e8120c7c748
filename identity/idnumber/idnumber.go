package idnumber

import (
	"fmt"
	"strings"
	"time"
)

// Sex as encoded by the sequence digit: odd male, even female.
type Sex uint8

const (
	SexUnknown Sex = iota
	Male
	Female
)

func (s Sex) String() string {
	switch s {
	case Male:
		return "male"
	case Female:
		return "female"
	}
	return "unknown"
}

// Number is a parsed, valid identity card number.
type Number struct {
	// Value is the 18-character number, check character upper-case; a
	// legacy 15-digit input is upgraded (century 19, check computed).
	Value string
	// Legacy is true when the input was a 15-digit number.
	Legacy bool
	// Division is the 6-digit administrative division code of first
	// registration (GB/T 2260); the person may live elsewhere now.
	Division string
	// Birth is the date of birth, at 00:00 UTC.
	Birth time.Time
	Sex   Sex
}

// Code classifies an Error.
type Code int

const (
	ErrLength    Code = iota + 1 // neither 15 nor 18 characters
	ErrCharacter                 // a character that is not a digit (or X last)
	ErrDivision                  // division code of an unknown province
	ErrBirthDate                 // not a date, before 1900, or in the future
	ErrCheck                     // check character does not match
	ErrMismatch                  // valid, but disagrees with the record
)

// Error describes why a number is not valid, or (ErrMismatch) why it does
// not belong to the record it came with.
type Error struct {
	Code  Code
	Input string
	// Pos is the 1-based position of the offending character, or 0.
	Pos int
	Msg string
}

func (e *Error) Error() string {
	if e.Pos > 0 {
		return fmt.Sprintf("identity card number %q: character %d: %s", e.Input, e.Pos, e.Msg)
	}
	return fmt.Sprintf("identity card number %q: %s", e.Input, e.Msg)
}

var weights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const checkChars = "10X98765432"

// CheckChar computes the check character of the first 17 digits of a
// number. It is for generating test data and upgrading legacy numbers;
// validation never tells a user which check character would be right.
func CheckChar(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, &Error{Code: ErrLength, Input: first17, Msg: fmt.Sprintf("%d characters, want 17 to compute a check character", len(first17))}
	}
	sum := 0
	for i := range 17 {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, &Error{Code: ErrCharacter, Input: first17, Pos: i + 1, Msg: fmt.Sprintf("%q is not a digit", c)}
		}
		sum += int(c-'0') * weights[i]
	}
	return checkChars[sum%11], nil
}

// Parse validates s as of today's date; see ParseAt.
func Parse(s string) (Number, error) { return ParseAt(s, time.Now()) }

// ParseAt validates s, judging "in the future" against now. Surrounding
// spaces are ignored and a lower-case x is accepted; anything else that is
// not the standard form is an error.
func ParseAt(s string, now time.Time) (Number, error) {
	in := s
	s = strings.TrimSpace(s)
	switch len(s) {
	case 18:
		return parse18(in, s, now)
	case 15:
		for i := range 15 {
			if s[i] < '0' || s[i] > '9' {
				return Number{}, charError(in, s, i)
			}
		}
		n, err := fields(in, s[:6], "19"+s[6:12], s[12:15], 6, now)
		if err != nil {
			return Number{}, err
		}
		body := s[:6] + "19" + s[6:]
		c, _ := CheckChar(body)
		n.Value = body + string(c)
		n.Legacy = true
		return n, nil
	}
	return Number{}, &Error{Code: ErrLength, Input: in, Msg: fmt.Sprintf("%d characters, want 18 (or 15 for a legacy number)", len([]rune(s)))}
}

func parse18(in, s string, now time.Time) (Number, error) {
	for i := range 17 {
		if s[i] < '0' || s[i] > '9' {
			return Number{}, charError(in, s, i)
		}
	}
	last := s[17]
	if last == 'x' {
		last = 'X'
	}
	if (last < '0' || last > '9') && last != 'X' {
		return Number{}, charError(in, s, 17)
	}
	n, err := fields(in, s[:6], s[6:14], s[14:17], 8, now)
	if err != nil {
		return Number{}, err
	}
	if c, _ := CheckChar(s[:17]); c != last {
		return Number{}, &Error{Code: ErrCheck, Input: in, Pos: 18, Msg: "check character does not match the other 17 digits: the number is mistyped or not a real number; ask for the card again rather than correcting it"}
	}
	n.Value = s[:17] + string(last)
	return n, nil
}

func charError(in, s string, i int) *Error {
	what := "a digit"
	if i == 17 {
		what = "a digit or X"
	}
	r := []rune(s[i:])[0]
	return &Error{Code: ErrCharacter, Input: in, Pos: i + 1, Msg: fmt.Sprintf("%q is not %s", r, what)}
}

// fields checks division, birth date (yyyymmdd) and sequence; datePos is the
// 0-based position of the date in the input (6 in either form, but the
// legacy form's year has two digits).
func fields(in, division, yyyymmdd, seq string, dateLen int, now time.Time) (Number, error) {
	if _, ok := provinces[division[:2]]; !ok {
		return Number{}, &Error{Code: ErrDivision, Input: in, Pos: 1, Msg: fmt.Sprintf("division code %s: %s is not a province code of GB/T 2260", division, division[:2])}
	}
	if division[2:] == "0000" && division[:2] != "81" && division[:2] != "82" && division[:2] != "83" {
		// A province itself never issues numbers; its prefectures do.
		return Number{}, &Error{Code: ErrDivision, Input: in, Pos: 3, Msg: fmt.Sprintf("division code %s is a whole province, not a county or city", division)}
	}
	birth, err := time.Parse("20060102", yyyymmdd)
	datePos := 7
	if dateLen == 6 {
		yyyymmdd = yyyymmdd[2:]
	}
	if err != nil {
		return Number{}, &Error{Code: ErrBirthDate, Input: in, Pos: datePos, Msg: fmt.Sprintf("birth date %s is not a date", yyyymmdd)}
	}
	if birth.Year() < 1900 {
		return Number{}, &Error{Code: ErrBirthDate, Input: in, Pos: datePos, Msg: fmt.Sprintf("birth date %s is before 1900", yyyymmdd)}
	}
	if birth.After(now) {
		return Number{}, &Error{Code: ErrBirthDate, Input: in, Pos: datePos, Msg: fmt.Sprintf("birth date %s is in the future", yyyymmdd)}
	}
	sex := Female
	if (seq[2]-'0')%2 == 1 {
		sex = Male
	}
	return Number{Division: division, Birth: birth, Sex: sex}, nil
}

// Generate returns a valid 18-character number for test data: the division
// code, the birth date and a sequence number (0–999; its parity is the sex,
// odd male). It panics on a division that is not 6 digits.
func Generate(division string, birth time.Time, seq int) string {
	if len(division) != 6 {
		panic("idnumber.Generate: division must be 6 digits")
	}
	body := fmt.Sprintf("%s%s%03d", division, birth.Format("20060102"), ((seq%1000)+1000)%1000)
	c, err := CheckChar(body)
	if err != nil {
		panic("idnumber.Generate: " + err.Error())
	}
	return body + string(c)
}

// Legacy returns the 15-digit form of an 18-character number of someone
// born in the 1900s (for test data), or "" when there is none.
func Legacy(number18 string) string {
	if len(number18) != 18 || number18[6:8] != "19" {
		return ""
	}
	return number18[:6] + number18[8:17]
}

// CheckRecord reports whether the number agrees with a record's birth date
// and sex; a zero birth or SexUnknown is not checked. It returns an *Error
// with Code ErrMismatch naming what disagrees.
func (n Number) CheckRecord(birth time.Time, sex Sex) error {
	var bad []string
	if !birth.IsZero() {
		y, m, d := birth.Date()
		if y != n.Birth.Year() || m != n.Birth.Month() || d != n.Birth.Day() {
			bad = append(bad, fmt.Sprintf("birth date %s, the record says %s", n.Birth.Format("2006-01-02"), birth.Format("2006-01-02")))
		}
	}
	if sex != SexUnknown && sex != n.Sex {
		bad = append(bad, fmt.Sprintf("sex %s, the record says %s", n.Sex, sex))
	}
	if bad == nil {
		return nil
	}
	return &Error{Code: ErrMismatch, Input: n.Value, Msg: "the number encodes " + strings.Join(bad, "; ")}
}

// Province returns the name of the province-level division of the number's
// first registration.
func (n Number) Province() string { return provinces[n.Division[:2]] }

// ProvinceOf returns the name of the province-level division of a GB/T
// 2260 division code (its first two digits), or "" when they name none.
// 83, which only residence permits of Taiwan residents carry, is no
// division.
func ProvinceOf(division string) string {
	if len(division) < 2 || division[:2] == "83" {
		return ""
	}
	return provinces[division[:2]]
}

// provinces are the province-level codes of GB/T 2260, and 81–83 for the
// residence permits of Hong Kong, Macao and Taiwan residents.
var provinces = map[string]string{
	"11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
	"21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
	"31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
	"41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "46": "海南省",
	"50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
	"61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
	"71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区", "83": "台湾地区居民居住证",
}
