package demo

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestIDNumberCheck(t *testing.T) {
	// The worked example of GB 11643-1999.
	if !validIDNumber("11010519491231002X") {
		t.Error("11010519491231002X should be valid")
	}
	for _, bad := range []string{"110105194912310021", "11010519491331002X", "1101051949123100", "11010519490230002X"} {
		if validIDNumber(bad) {
			t.Errorf("%s should be invalid", bad)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1000; i++ {
		male := i%2 == 0
		birth := time.Date(1930+r.IntN(96), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
		id := idNumber("110112", birth, male, r)
		if !validIDNumber(id) {
			t.Fatalf("generated %s is invalid", id)
		}
		if (id[16]-'0')%2 == 1 != male {
			t.Fatalf("%s: sex digit does not match", id)
		}
		if id[6:14] != birth.Format("20060102") {
			t.Fatalf("%s: birth date does not match %s", id, birth)
		}
	}
}

func TestUSCCCheck(t *testing.T) {
	// A code published as valid in discussions of GB 32100-2015.
	if !validUSCC("91350100M000100Y43") {
		t.Error("91350100M000100Y43 should be valid")
	}
	if validUSCC("91350100M000100Y44") {
		t.Error("a changed check character should be invalid")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		c := uscc("12", "131082", r)
		if !validUSCC(c) {
			t.Fatalf("generated %s is invalid", c)
		}
		if c[2:8] != "131082" {
			t.Fatalf("%s: division not in positions 3-8", c)
		}
	}
}

func TestOrgCodeCheck(t *testing.T) {
	// "M000100Y4" of the USCC above: body M000100Y has letters, so check a
	// digit-only code worked by hand: 12345678 → sum 3+14+27+40+25+48+28+16 = 201,
	// 201 % 11 = 3, 11-3 = 8.
	if got := orgCodeCheck("12345678"); got != '8' {
		t.Errorf("orgCodeCheck(12345678) = %c, want 8", got)
	}
}

func TestUUIDFor(t *testing.T) {
	u := uuidFor("Patient", "demo-pat-000001")
	if len(u) != 36 || u[14] != '5' || (u[19] != '8' && u[19] != '9' && u[19] != 'a' && u[19] != 'b') {
		t.Errorf("uuidFor = %s, want a version-5 RFC 4122 UUID", u)
	}
	if u != uuidFor("Patient", "demo-pat-000001") || u == uuidFor("Patient", "demo-pat-000002") {
		t.Error("uuidFor must be a function of the name")
	}
}
