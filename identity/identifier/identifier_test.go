package identifier

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/identity/idnumber"
)

var now = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func TestValidate(t *testing.T) {
	card := strings.Repeat("a1", 32)
	foreign18 := idnumber.Generate("933100", time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC), 11)
	tests := []struct {
		name            string
		kind            Kind
		assigner, value string
		want            string
		errPart         string
	}{
		{"resident ID, lower-case x", ResidentID, "", "11010519491231002x", "11010519491231002X", ""},
		{"resident ID, legacy", ResidentID, "", "110105491231002", "11010519491231002X", ""},
		{"resident ID, wrong check", ResidentID, "", "110105194912310021", "", "check character"},
		{"health card", HealthCard, "", card, strings.ToUpper(card), ""},
		{"health card from QR text", HealthCard, "", card + ":1", strings.ToUpper(card), ""},
		{"health card too short", HealthCard, "", "ABC", "", "64 hexadecimal"},
		{"health card not hex", HealthCard, "", strings.Repeat("G", 64), "", "64 hexadecimal"},
		{"MRN", MRN, "H110112001", " 0012345 ", "0012345", ""},
		{"MRN without institution", MRN, "", "0012345", "", "institution"},
		{"MRN with control character", MRN, "H1", "12\x0034", "", "control"},
		{"Chinese passport", Passport, "chn", "e12345678", "E12345678", ""},
		{"Chinese passport, new series", Passport, "CHN", "EA1234567", "EA1234567", ""},
		{"Chinese passport, bad", Passport, "CHN", "X12345678", "", "Chinese passport"},
		{"foreign passport", Passport, "DEU", "C01X00T47", "C01X00T47", ""},
		{"passport too short", Passport, "", "A12", "", "5 to 20"},
		{"Hong Kong permit", HKMacaoPermit, "", "H12345678", "H12345678", ""},
		{"Macao permit, full-width", HKMacaoPermit, "", "Ｍ1234567890", "M1234567890", ""},
		{"permit bad letter", HKMacaoPermit, "", "X12345678", "", "H or M"},
		{"Taiwan permit", TaiwanPermit, "", "12345678", "12345678", ""},
		{"Taiwan permit with renewal", TaiwanPermit, "", "12345678-01", "1234567801", ""},
		{"foreign permanent residence, old", ForeignResidence, "", "USA110080101001", "USA110080101001", ""},
		{"foreign permanent residence, new", ForeignResidence, "", foreign18, foreign18, ""},
		{"foreign permanent residence, bad check", ForeignResidence, "", foreign18[:17] + "Y", "", "check character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Validate(tt.kind, tt.assigner, tt.value, now)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("error %v, want one containing %q", err, tt.errPart)
				}
				return
			}
			if err != nil || got.Value != tt.want {
				t.Fatalf("got %+v, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestUnknownKind(t *testing.T) {
	if _, err := Validate("social-security", "", "1", now); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("error %v, want ErrUnknownKind", err)
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("passport", "CHN", "E12345678")
	f.Add("health-card", "", strings.Repeat("0", 64)+":0:20261231")
	f.Fuzz(func(t *testing.T, kind, assigner, value string) {
		id, err := Validate(Kind(kind), assigner, value, now)
		if err != nil {
			return
		}
		again, err := Validate(id.Kind, id.Assigner, id.Value, now)
		if err != nil || again != id {
			t.Fatalf("%+v does not validate to itself: %+v, %v", id, again, err)
		}
	})
}
