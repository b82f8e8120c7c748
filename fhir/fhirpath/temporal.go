package fhirpath

import (
	"strconv"
	"strings"
	"time"
)

type tkind uint8

const (
	kDate tkind = iota + 1
	kDateTime
	kTime
)

// Precision levels of a temporal value, counted in components.
const (
	pYear = iota + 1
	pMonth
	pDay
	pHour
	pMinute
	pSecond
	pMilli
)

// temporal is a FHIRPath Date, DateTime or Time with the precision it was
// written with. Fields beyond the precision are zero.
type temporal struct {
	kind               tkind
	prec               uint8
	fdig               uint8 // fraction digits written (0 when prec < pMilli)
	hasTZ              bool
	y, mo, d, h, mi, s int
	ns                 int
	tzOff              int  // seconds east of UTC
	tzZ                bool // written as Z (rather than +00:00)
}

func atoiN(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, len(s) > 0
}

// parseDatePart parses YYYY[-MM[-DD]].
func parseDatePart(s string, t *temporal) bool {
	if len(s) < 4 {
		return false
	}
	var ok bool
	if t.y, ok = atoiN(s[:4]); !ok {
		return false
	}
	t.prec = pYear
	t.mo, t.d = 1, 1
	s = s[4:]
	if s == "" {
		return true
	}
	if len(s) < 3 || s[0] != '-' {
		return false
	}
	if t.mo, ok = atoiN(s[1:3]); !ok || t.mo < 1 || t.mo > 12 {
		return false
	}
	t.prec = pMonth
	s = s[3:]
	if s == "" {
		return true
	}
	if len(s) != 3 || s[0] != '-' {
		return false
	}
	if t.d, ok = atoiN(s[1:3]); !ok || t.d < 1 || t.d > daysIn(t.y, t.mo) {
		return false
	}
	t.prec = pDay
	return true
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// parseTimePart parses hh[:mm[:ss[.fff]]] and returns the rest.
func parseTimePart(s string, t *temporal) (string, bool) {
	if len(s) < 2 {
		return s, false
	}
	var ok bool
	if t.h, ok = atoiN(s[:2]); !ok || t.h > 23 {
		return s, false
	}
	t.prec = pHour
	s = s[2:]
	if len(s) >= 3 && s[0] == ':' && isDigit(s[1]) {
		if t.mi, ok = atoiN(s[1:3]); !ok || t.mi > 59 {
			return s, false
		}
		t.prec = pMinute
		s = s[3:]
		if len(s) >= 3 && s[0] == ':' && isDigit(s[1]) {
			if t.s, ok = atoiN(s[1:3]); !ok || t.s > 60 {
				return s, false
			}
			t.prec = pSecond
			s = s[3:]
			if len(s) >= 2 && s[0] == '.' && isDigit(s[1]) {
				i := 1
				for i < len(s) && isDigit(s[i]) {
					i++
				}
				frac := s[1:i]
				t.fdig = uint8(min(len(frac), 9))
				f := frac
				if len(f) > 9 {
					f = f[:9]
				}
				n, _ := atoiN(f)
				for j := len(f); j < 9; j++ {
					n *= 10
				}
				t.ns = n
				t.prec = pMilli
				s = s[i:]
			}
		}
	}
	return s, true
}

func parseTZ(s string, t *temporal) bool {
	if s == "" {
		return true
	}
	if s == "Z" {
		t.hasTZ = true
		t.tzZ = true
		return true
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return false
	}
	h, ok1 := atoiN(s[1:3])
	m, ok2 := atoiN(s[4:6])
	if !ok1 || !ok2 || h > 14 || m > 59 {
		return false
	}
	t.hasTZ = true
	t.tzOff = h*3600 + m*60
	if s[0] == '-' {
		t.tzOff = -t.tzOff
	}
	return true
}

func parseDate(s string) (*temporal, bool) {
	t := &temporal{kind: kDate}
	if !parseDatePart(s, t) {
		return nil, false
	}
	return t, true
}

// parseDateTime parses a FHIR dateTime/instant or a FHIRPath DateTime
// literal body (which may end in a bare "T").
func parseDateTime(s string) (*temporal, bool) {
	t := &temporal{kind: kDateTime}
	datePart, rest := s, ""
	if i := strings.IndexByte(s, 'T'); i >= 0 {
		datePart, rest = s[:i], s[i+1:]
		if !parseDatePart(datePart, t) {
			return nil, false
		}
		if rest == "" || rest == "Z" {
			return t, true
		}
		if t.prec != pDay {
			return nil, false
		}
		r, ok := parseTimePart(rest, t)
		if !ok || !parseTZ(r, t) {
			return nil, false
		}
		return t, true
	}
	if !parseDatePart(datePart, t) {
		return nil, false
	}
	return t, true
}

func parseTime(s string) (*temporal, bool) {
	t := &temporal{kind: kTime}
	r, ok := parseTimePart(s, t)
	if !ok || r != "" {
		return nil, false
	}
	return t, true
}

func parseDateValue(s string) (Value, bool) {
	t, ok := parseDate(s)
	if !ok {
		return Value{}, false
	}
	return Value{v: t}, true
}

func parseDateTimeValue(s string) (Value, bool) {
	t, ok := parseDateTime(s)
	if !ok {
		return Value{}, false
	}
	return Value{v: t}, true
}

func parseTimeValue(s string) (Value, bool) {
	t, ok := parseTime(s)
	if !ok {
		return Value{}, false
	}
	return Value{v: t}, true
}

func pad(b []byte, n, w int) []byte {
	s := strconv.Itoa(n)
	for i := len(s); i < w; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func (t *temporal) String() string {
	b := make([]byte, 0, 32)
	if t.kind != kTime {
		b = pad(b, t.y, 4)
		if t.prec >= pMonth {
			b = append(b, '-')
			b = pad(b, t.mo, 2)
		}
		if t.prec >= pDay {
			b = append(b, '-')
			b = pad(b, t.d, 2)
		}
		if t.prec < pHour {
			// a DateTime without a time prints like a Date, as in FHIR
			// JSON; literal() adds the "T"
			return string(b)
		}
		b = append(b, 'T')
	}
	b = pad(b, t.h, 2)
	if t.prec >= pMinute {
		b = append(b, ':')
		b = pad(b, t.mi, 2)
	}
	if t.prec >= pSecond {
		b = append(b, ':')
		b = pad(b, t.s, 2)
	}
	if t.prec >= pMilli {
		fd := int(t.fdig)
		if fd == 0 {
			fd = 3
		}
		f := t.ns
		s := strconv.Itoa(f + 1000000000)[1:]
		b = append(b, '.')
		b = append(b, s[:fd]...)
	}
	if t.kind == kDateTime && t.hasTZ {
		if t.tzOff == 0 && t.tzZ {
			b = append(b, 'Z')
		} else {
			o := t.tzOff
			if o < 0 {
				b = append(b, '-')
				o = -o
			} else {
				b = append(b, '+')
			}
			b = pad(b, o/3600, 2)
			b = append(b, ':')
			b = pad(b, o/60%60, 2)
		}
	}
	return string(b)
}

// literal renders the value as a FHIRPath literal (used by toString of a
// DateTime only through String; kept for the CLI and tests).
func (t *temporal) literal() string {
	s := t.String()
	switch t.kind {
	case kTime:
		return "@T" + s
	case kDateTime:
		if t.prec < pHour {
			return "@" + s + "T"
		}
	}
	return "@" + s
}

func (t *temporal) goTime() time.Time {
	loc := time.UTC
	if t.hasTZ && t.tzOff != 0 {
		loc = time.FixedZone("", t.tzOff)
	}
	return time.Date(t.y, time.Month(t.mo), t.d, t.h, t.mi, t.s, t.ns, loc)
}

// fromGoTime sets the fields from tm, keeping kind, precision and zone.
func (t *temporal) withTime(tm time.Time) *temporal {
	r := *t
	r.y, r.mo, r.d = tm.Year(), int(tm.Month()), tm.Day()
	if t.prec >= pHour || t.kind == kTime {
		r.h, r.mi, r.s, r.ns = tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond()
	}
	r.clearBeyondPrecision()
	return &r
}

func (t *temporal) clearBeyondPrecision() {
	if t.kind != kTime {
		if t.prec < pMonth {
			t.mo = 1
		}
		if t.prec < pDay {
			t.d = 1
		}
	}
	if t.prec < pHour {
		t.h = 0
	}
	if t.prec < pMinute {
		t.mi = 0
	}
	if t.prec < pSecond {
		t.s = 0
	}
	if t.prec < pMilli {
		t.ns = 0
	}
}

// normalized returns the components in UTC when the value has a time part
// and a timezone (or defaultOff when it has none); date-only values are
// compared as written.
func (t *temporal) normalized(defaultOff int) [7]int {
	if t.kind == kDateTime && t.prec >= pHour {
		off := defaultOff
		if t.hasTZ {
			off = t.tzOff
		}
		if off != 0 {
			tm := time.Date(t.y, time.Month(t.mo), t.d, t.h, t.mi, t.s, t.ns, time.UTC).Add(-time.Duration(off) * time.Second)
			return [7]int{tm.Year(), int(tm.Month()), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond()}
		}
	}
	return [7]int{t.y, t.mo, t.d, t.h, t.mi, t.s, t.ns}
}

// compareTemporal compares two values of compatible kinds. ok is false
// when the result is unknown because the precisions differ.
func compareTemporal(a, b *temporal, defaultOff int) (c int, ok bool) {
	if a.kind == kDateTime && b.kind == kDateTime && a.prec >= pHour && b.prec >= pHour && a.hasTZ != b.hasTZ {
		// One value is local time in an unknown zone: the result is known
		// only if it is the same for every offset (-12:00 to +14:00).
		c1, ok1 := compareTemporal1(a, b, 14*3600)
		c2, ok2 := compareTemporal1(a, b, -12*3600)
		if !ok1 || !ok2 || c1 != c2 || c1 == 0 {
			return 0, false
		}
		return c1, true
	}
	return compareTemporal1(a, b, defaultOff)
}

func compareTemporal1(a, b *temporal, defaultOff int) (c int, ok bool) {
	na, nb := a.normalized(defaultOff), b.normalized(defaultOff)
	start := 0
	if a.kind == kTime {
		start = 3
	}
	pa, pb := int(a.prec), int(b.prec)
	if pa == pMilli {
		pa = pSecond
	}
	if pb == pMilli {
		pb = pSecond
	}
	for i := start; i < 6; i++ {
		if i >= pa || i >= pb {
			break
		}
		if i == 5 { // seconds with fraction
			x := int64(na[5])*1e9 + int64(na[6])
			y := int64(nb[5])*1e9 + int64(nb[6])
			if x != y {
				if x < y {
					return -1, true
				}
				return 1, true
			}
			continue
		}
		if na[i] != nb[i] {
			if na[i] < nb[i] {
				return -1, true
			}
			return 1, true
		}
	}
	if pa != pb {
		return 0, false
	}
	return 0, true
}

// addDuration adds n units (calendar unit names) to t. Returns ok=false for
// units that cannot be added.
func (t *temporal) addDuration(n int64, unit string) (*temporal, bool) {
	tm := t.goTime()
	switch unit {
	case "year":
		return t.addMonths(n * 12), true
	case "month":
		if t.prec < pMonth {
			return t.addMonths((n / 12) * 12), true
		}
		return t.addMonths(n), true
	case "week":
		n *= 7
		fallthrough
	case "day":
		if t.kind == kTime {
			return t, true
		}
		if t.prec < pDay {
			// below the value's precision the duration counts in whole
			// months (30 days) or years (365 days)
			if t.prec == pMonth {
				return t.addMonths(n / 30), true
			}
			return t.addMonths(n / 365 * 12), true
		}
		return t.withTime(tm.AddDate(0, 0, int(n))), true
	}
	var d time.Duration
	switch unit {
	case "hour":
		d = time.Hour
	case "minute":
		d = time.Minute
	case "second":
		d = time.Second
	case "millisecond":
		d = time.Millisecond
	default:
		return nil, false
	}
	if t.kind == kDate || t.prec < pHour && t.kind == kDateTime {
		// whole days only
		days := n * int64(d) / int64(24*time.Hour)
		if t.prec < pDay {
			return t.addDuration(days, "day")
		}
		return t.withTime(tm.AddDate(0, 0, int(days))), true
	}
	if n > 1<<40 || n < -(1<<40) {
		return nil, false
	}
	r := t.withTime(tm.Add(time.Duration(n) * d))
	if t.kind == kTime {
		// wrap around the day
		r.y, r.mo, r.d = 0, 1, 1
	}
	return r, true
}

func (t *temporal) addMonths(n int64) *temporal {
	r := *t
	total := int64(t.y)*12 + int64(t.mo-1) + n
	if total < 0 || total > 9999*12+11 {
		return &r
	}
	r.y = int(total / 12)
	r.mo = int(total%12) + 1
	if dm := daysIn(r.y, r.mo); r.d > dm {
		r.d = dm
	}
	return &r
}
