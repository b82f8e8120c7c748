// Package identifier validates and normalises the identifiers a patient
// record carries besides a name: the resident ID number (through
// identity/idnumber), the e-health card id, an institution's medical record
// number, passports and the mainland travel permits of Hong Kong, Macao
// and Taiwan residents, and foreigners' permanent residence cards.
//
// Normalised values are what matching and the EMPI compare and index; the
// errors say what is wrong in words a registration clerk can act on.
//
// The package depends on the standard library and identity/idnumber only.
package identifier

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/xietong/xietong/identity/idnumber"
)

// Kind is a kind of identifier.
type Kind string

const (
	ResidentID       Kind = "resident-id"     // 居民身份证号码, GB 11643
	HealthCard       Kind = "health-card"     // 电子健康卡 id: 64 hexadecimal characters
	MRN              Kind = "mrn"             // an institution's medical record number (病案号/就诊号)
	Passport         Kind = "passport"        // any country's passport number
	HKMacaoPermit    Kind = "hk-macao-permit" // 港澳居民来往内地通行证: H or M + 8 or 10 digits
	TaiwanPermit     Kind = "taiwan-permit"   // 台湾居民来往大陆通行证: 8 digits (10 with a renewal suffix)
	ForeignResidence Kind = "foreign-permanent-residence"
)

// Error says why a value is not a valid identifier of its kind.
type Error struct {
	Kind  Kind
	Value string
	Msg   string
}

func (e *Error) Error() string { return fmt.Sprintf("%s %q: %s", e.Kind, e.Value, e.Msg) }

// ErrUnknownKind is returned for a Kind this package does not know.
var ErrUnknownKind = errors.New("unknown identifier kind")

// Identifier is a validated, normalised identifier. Assigner is the
// institution code for an MRN, the issuing country (ISO 3166 alpha-3) for
// a passport, and empty otherwise.
type Identifier struct {
	Kind     Kind
	Assigner string
	Value    string
}

// Validate checks value as an identifier of kind (assigner as for
// Identifier) and returns it normalised: spaces and hyphens removed where
// the format has none, letters upper-cased, full-width forms folded.
// A resident ID number is upgraded from 15 digits; its errors are those of
// idnumber.Parse (*idnumber.Error).
func Validate(kind Kind, assigner, value string, now time.Time) (Identifier, error) {
	id := Identifier{Kind: kind, Assigner: strings.TrimSpace(assigner)}
	v := fold(value)
	fail := func(format string, args ...any) (Identifier, error) {
		return Identifier{}, &Error{Kind: kind, Value: value, Msg: fmt.Sprintf(format, args...)}
	}
	switch kind {
	case ResidentID:
		n, err := idnumber.ParseAt(v, now)
		if err != nil {
			return Identifier{}, err
		}
		id.Value = n.Value
	case HealthCard:
		v = compact(v)
		// A QR code's plain text is "<id>:<type>[:<valid until>]".
		if i := strings.IndexByte(v, ':'); i >= 0 {
			v = v[:i]
		}
		if len(v) != 64 || !all(v, isHex) {
			return fail("an e-health card id is 64 hexadecimal characters (got %d characters)", len(v))
		}
		id.Value = v
	case MRN:
		if id.Assigner == "" {
			return fail("a medical record number needs the code of the institution that assigned it")
		}
		v = strings.TrimSpace(v)
		switch {
		case v == "":
			return fail("empty")
		case len(v) > 64:
			return fail("longer than 64 bytes")
		case strings.IndexFunc(v, unicode.IsControl) >= 0:
			return fail("contains control characters")
		}
		id.Value = v
	case Passport:
		v = compact(v)
		if id.Assigner != "" {
			id.Assigner = strings.ToUpper(id.Assigner)
		}
		if len(v) < 5 || len(v) > 20 || !all(v, isAlnum) {
			return fail("a passport number is 5 to 20 letters and digits")
		}
		if id.Assigner == "CHN" && !chinesePassport(v) {
			return fail("a Chinese passport number is E and 8 digits, E, a letter and 7 digits, or (older) G, P, S or D and 8 digits")
		}
		id.Value = v
	case HKMacaoPermit:
		v = compact(v)
		if len(v) != 9 && len(v) != 11 || (v[0] != 'H' && v[0] != 'M') || !all(v[1:], isDigit) {
			return fail("a Hong Kong or Macao residents' permit number is H or M followed by 8 or 10 digits")
		}
		id.Value = v
	case TaiwanPermit:
		v = compact(v)
		if len(v) != 8 && len(v) != 10 || !all(v[:8], isDigit) {
			return fail("a Taiwan residents' permit number is 8 digits (10 with its renewal count)")
		}
		id.Value = v
	case ForeignResidence:
		v = compact(v)
		switch {
		case len(v) == 15 && all(v[:3], isUpper) && all(v[3:], isDigit):
			// Cards of 2004–2023: country letters and 12 digits.
		case len(v) == 18 && v[0] == '9':
			// Cards since December 2023: GB 11643 layout starting with 9,
			// with the same check character.
			if _, err := idnumber.CheckChar(v[:17]); err != nil {
				return fail("not 17 digits and a check character")
			}
			if c, _ := idnumber.CheckChar(v[:17]); c != v[17] {
				return fail("check character does not match: the number is mistyped")
			}
		default:
			return fail("a permanent residence card number is 3 letters and 12 digits, or 18 characters starting with 9")
		}
		id.Value = v
	default:
		return Identifier{}, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	return id, nil
}

func chinesePassport(v string) bool {
	if len(v) != 9 {
		return false
	}
	switch v[0] {
	case 'E':
		return all(v[1:], isDigit) || (isUpper(rune(v[1])) && all(v[2:], isDigit))
	case 'G', 'P', 'S', 'D':
		return all(v[1:], isDigit)
	}
	return false
}

// fold maps full-width ASCII to ASCII.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case r == 0x3000:
			return ' '
		}
		return r
	}, s)
}

// compact removes spaces and hyphens and upper-cases.
func compact(s string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s))
}

func all(s string, f func(rune) bool) bool {
	for _, r := range s {
		if !f(r) {
			return false
		}
	}
	return s != ""
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }
func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }
func isAlnum(r rune) bool { return isDigit(r) || isUpper(r) }
func isHex(r rune) bool   { return isDigit(r) || (r >= 'A' && r <= 'F') }
