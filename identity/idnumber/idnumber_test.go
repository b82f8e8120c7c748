package idnumber

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var today = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestParseValid(t *testing.T) {
	tests := []struct {
		name, in, want string
		birth          time.Time
		sex            Sex
		legacy         bool
	}{
		{"standard example", "11010519491231002X", "11010519491231002X", date(1949, 12, 31), Female, false},
		{"lower-case x", "11010519491231002x", "11010519491231002X", date(1949, 12, 31), Female, false},
		{"surrounding spaces", " " + Generate("110112", date(1980, 1, 1), 123) + " ", Generate("110112", date(1980, 1, 1), 123), date(1980, 1, 1), Male, false},
		{"legacy 15 digits upgraded", "110105491231002", "11010519491231002X", date(1949, 12, 31), Female, true},
		{"Hong Kong residence permit", Generate("810000", date(1990, 5, 6), 7), Generate("810000", date(1990, 5, 6), 7), date(1990, 5, 6), Male, false},
		{"29 February", Generate("120114", date(2000, 2, 29), 10), Generate("120114", date(2000, 2, 29), 10), date(2000, 2, 29), Female, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseAt(tt.in, today)
			if err != nil {
				t.Fatal(err)
			}
			if n.Value != tt.want || !n.Birth.Equal(tt.birth) || n.Sex != tt.sex || n.Legacy != tt.legacy {
				t.Errorf("got %+v", n)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	good := Generate("131082", date(1985, 7, 14), 42)
	tests := []struct {
		name, in string
		code     Code
		pos      int
		msg      string
	}{
		{"empty", "", ErrLength, 0, "0 characters"},
		{"17 characters", good[:17], ErrLength, 0, "want 18"},
		{"letter inside", good[:5] + "A" + good[6:], ErrCharacter, 6, `'A' is not a digit`},
		{"wide digit", "１" + good[3:], ErrCharacter, 1, `'１' is not a digit`},
		{"bad last character", good[:17] + "Y", ErrCharacter, 18, "digit or X"},
		{"check character wrong", good[:17] + wrongCheck(good), ErrCheck, 18, "check character does not match"},
		{"one digit mistyped", good[:3] + string('0'+(good[3]-'0'+1)%10) + good[4:], ErrCheck, 18, ""},
		{"two digits transposed", good[:14] + good[15:16] + good[14:15] + good[16:], ErrCheck, 18, ""},
		{"unknown province", "99" + good[2:], ErrDivision, 1, "not a province code"},
		{"province itself", Generate("130000", date(1985, 7, 14), 1), ErrDivision, 3, "whole province"},
		{"30 February", Generate("131082", date(1985, 3, 2), 1)[:6] + "19850230" + "001" + "0", ErrBirthDate, 7, "not a date"},
		{"before 1900", Generate("131082", date(1899, 12, 31), 1), ErrBirthDate, 7, "before 1900"},
		{"in the future", Generate("131082", date(2027, 1, 1), 1), ErrBirthDate, 7, "in the future"},
		{"legacy with a letter", "11010549123100X", ErrCharacter, 15, ""},
		{"legacy impossible date", "110105491331002", ErrBirthDate, 7, "491331"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAt(tt.in, today)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseAt(%q) error = %v, want *Error", tt.in, err)
			}
			if e.Code != tt.code || (tt.pos != 0 && e.Pos != tt.pos) || !strings.Contains(e.Error(), tt.msg) {
				t.Errorf("ParseAt(%q) = code %d pos %d %q; want code %d pos %d containing %q", tt.in, e.Code, e.Pos, e.Error(), tt.code, tt.pos, tt.msg)
			}
		})
	}
}

// The message for a wrong check character must not reveal the right one.
func TestCheckErrorDoesNotSuggestACorrection(t *testing.T) {
	good := Generate("110112", date(1970, 3, 4), 55)
	bad := good[:17] + wrongCheck(good)
	_, err := ParseAt(bad, today)
	msg := strings.ReplaceAll(err.Error(), bad, "")
	if strings.ContainsRune(msg, rune(good[17])) {
		t.Errorf("message %q names the right check character %c", err, good[17])
	}
}

func wrongCheck(good string) string {
	if good[17] == '0' {
		return "1"
	}
	return "0"
}

func TestEverySingleSubstitutionIsDetected(t *testing.T) {
	good := Generate("120114", date(1991, 8, 19), 314)
	for i := range 18 {
		for _, c := range "0123456789X" {
			if byte(c) == good[i] || (c == 'X' && i < 17) {
				continue
			}
			typo := good[:i] + string(c) + good[i+1:]
			if _, err := ParseAt(typo, today); err == nil {
				t.Errorf("typo at %d (%s) accepted", i+1, typo)
			}
		}
	}
}

func TestLegacyRoundTrip(t *testing.T) {
	n18 := Generate("131028", date(1962, 10, 1), 77)
	n, err := ParseAt(Legacy(n18), today)
	if err != nil || n.Value != n18 || !n.Legacy {
		t.Fatalf("legacy %s parsed as %+v, %v; want %s", Legacy(n18), n, err, n18)
	}
	if Legacy(Generate("131028", date(2001, 1, 1), 1)) != "" {
		t.Error("a number of someone born in 2001 has no legacy form")
	}
}

func TestCheckRecord(t *testing.T) {
	n, err := ParseAt(Generate("110112", date(1980, 6, 7), 101), today)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.CheckRecord(date(1980, 6, 7), Male); err != nil {
		t.Errorf("consistent record: %v", err)
	}
	if err := n.CheckRecord(time.Time{}, SexUnknown); err != nil {
		t.Errorf("unknown birth and sex: %v", err)
	}
	err = n.CheckRecord(date(1980, 7, 6), Female)
	var e *Error
	if !errors.As(err, &e) || e.Code != ErrMismatch || !strings.Contains(e.Msg, "1980-06-07") || !strings.Contains(e.Msg, "sex male") {
		t.Errorf("inconsistent record: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "110105491231002", "11010519491231002x", "", "990000190001010000", "1101051949123100２X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseAt(s, today)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Msg == "" {
				t.Fatalf("error %v is not a described *Error", err)
			}
			return
		}
		// A valid number parses to itself, and its check character holds.
		again, err := ParseAt(n.Value, today)
		if err != nil || again.Value != n.Value || again.Legacy {
			t.Fatalf("%q → %q does not reparse: %v", s, n.Value, err)
		}
		if c, _ := CheckChar(n.Value[:17]); c != n.Value[17] {
			t.Fatalf("%q: check character", n.Value)
		}
		if n.Birth.After(today) || n.Birth.Year() < 1900 {
			t.Fatalf("%q: birth %v", n.Value, n.Birth)
		}
	})
}
