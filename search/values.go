package search

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// NormalizeString folds a string for the default and :contains string
// matches: case-insensitive, accent-insensitive, width-insensitive (全角
// ＢＥＩＪＩＮＧ１２３ matches beijing123), white space collapsed. Both index
// extraction and query parsing use it, so they always agree.
func NormalizeString(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r): // combining marks: é -> e
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// DateRange parses a FHIR date, dateTime or instant (or a partial one:
// 2024, 2024-03, 2024-03-05T10:20) and returns the closed range of Unix
// microseconds it covers at its precision. Values without a time zone
// (dates, and dateTimes written without one) are taken in zone, the
// server's local time zone as the specification asks (nil means UTC): in
// China, 2026-01-02 is the day that starts at 2026-01-01T16:00:00Z. Index
// extraction and query parsing must use the same zone.
func DateRange(s string, zone *time.Location) (low, high int64, err error) {
	if zone == nil {
		zone = time.UTC
	}
	bad := func(why string) (int64, int64, error) {
		return 0, 0, fmt.Errorf("%q is not a valid FHIR date or dateTime: %s", s, why)
	}
	if len(s) < 4 {
		return bad("expected at least a four-digit year")
	}
	year, err := strconv.Atoi(s[:4])
	if err != nil || s[0] < '0' || s[0] > '9' {
		return bad("the year must be four digits")
	}
	rest := s[4:]
	month, day := 1, 1
	var start time.Time
	var end func(time.Time) time.Time
	switch {
	case rest == "":
		start = time.Date(year, 1, 1, 0, 0, 0, 0, zone)
		end = func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }
	case len(rest) == 3 && rest[0] == '-':
		if month, err = atoiRange(rest[1:3], 1, 12); err != nil {
			return bad("the month must be 01 to 12")
		}
		start = time.Date(year, time.Month(month), 1, 0, 0, 0, 0, zone)
		end = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	case len(rest) >= 6 && rest[0] == '-' && rest[3] == '-':
		if month, err = atoiRange(rest[1:3], 1, 12); err != nil {
			return bad("the month must be 01 to 12")
		}
		if day, err = atoiRange(rest[4:6], 1, daysIn(year, month)); err != nil {
			return bad(fmt.Sprintf("the day must be 01 to %02d in that month", daysIn(year, month)))
		}
		if len(rest) == 6 {
			start = time.Date(year, time.Month(month), day, 0, 0, 0, 0, zone)
			end = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
			break
		}
		if rest[6] != 'T' {
			return bad("expected 'T' before the time")
		}
		t, prec, err := parseTime(year, month, day, rest[7:], zone)
		if err != nil {
			return bad(err.Error())
		}
		start = t
		end = func(t time.Time) time.Time { return t.Add(prec) }
	default:
		return bad("expected YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm]")
	}
	return start.UnixMicro(), end(start).UnixMicro() - 1, nil
}

// parseTime parses hh:mm[:ss[.f+]][zone] and returns the instant and the
// length of the period its precision implies.
func parseTime(year, month, day int, s string, zone *time.Location) (time.Time, time.Duration, error) {
	if len(s) < 5 || s[2] != ':' {
		return time.Time{}, 0, fmt.Errorf("expected hh:mm after 'T'")
	}
	hour, err := atoiRange(s[0:2], 0, 23)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("the hour must be 00 to 23")
	}
	minute, err := atoiRange(s[3:5], 0, 59)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("the minutes must be 00 to 59")
	}
	s = s[5:]
	prec := time.Minute
	sec, nanos := 0, 0
	if len(s) >= 3 && s[0] == ':' {
		if sec, err = atoiRange(s[1:3], 0, 59); err != nil {
			return time.Time{}, 0, fmt.Errorf("the seconds must be 00 to 59")
		}
		s = s[3:]
		prec = time.Second
		if len(s) > 1 && s[0] == '.' {
			i := 1
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			if i == 1 {
				return time.Time{}, 0, fmt.Errorf("expected digits after '.'")
			}
			frac := s[1:i]
			digits := len(frac)
			if digits > 9 {
				frac, digits = frac[:9], 9
			}
			n, _ := strconv.Atoi(frac)
			nanos = n * int(math.Pow10(9-digits))
			prec = time.Duration(math.Pow10(9 - digits))
			if prec < time.Microsecond {
				prec = time.Microsecond
			}
			s = s[i:]
		}
	}
	loc := zone
	switch {
	case s == "Z":
		loc = time.UTC
	case s == "":
	case len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':':
		zh, err1 := atoiRange(s[1:3], 0, 14)
		zm, err2 := atoiRange(s[4:6], 0, 59)
		if err1 != nil || err2 != nil {
			return time.Time{}, 0, fmt.Errorf("the time zone must be Z or +hh:mm / -hh:mm")
		}
		off := zh*3600 + zm*60
		if s[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	default:
		return time.Time{}, 0, fmt.Errorf("the time zone must be Z or +hh:mm / -hh:mm")
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nanos, loc).UTC(), prec, nil
}

func atoiRange(s string, lo, hi int) (int, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, strconv.ErrRange
	}
	return n, nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// NumberRange parses a FHIR decimal and returns its value and the range its
// precision implies: 100 gives [99.5, 100.5], 1.50 gives [1.495, 1.505],
// 1e2 gives [50, 150] (one significant digit).
func NumberRange(s string) (value, low, high float64, err error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || strings.ContainsAny(s, "xXpP_") {
		return 0, 0, 0, fmt.Errorf("%q is not a valid number", s)
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		exp, _ = strconv.Atoi(s[i+1:])
	}
	decimals := 0
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		decimals = len(mant) - i - 1
	}
	half := 0.5 * math.Pow10(exp-decimals)
	return v, v - half, v + half, nil
}
