package synth

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/identity/match"
)

func small(seed uint64) Dataset {
	return Generate(Config{Seed: seed, Persons: 4000, Records: 10000, Noise: DefaultNoise()})
}

func TestDeterministicBySeed(t *testing.T) {
	a, b := small(7), small(7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different data")
	}
	if reflect.DeepEqual(a.Records[:100], small(8).Records[:100]) {
		t.Fatal("different seeds, same data")
	}
}

// The generated noise matches the documented rates, within sampling error.
func TestNoiseRates(t *testing.T) {
	ds := Generate(Config{Seed: 1, Persons: 20000, Records: 50000, Noise: DefaultNoise()})
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var missingID, legacy, invalid, missingPhone, missingBirth int
	for _, r := range ds.Records {
		switch {
		case r.IDNumber == "":
			missingID++
		case len(r.IDNumber) == 15:
			legacy++
		default:
			if _, err := idnumber.ParseAt(r.IDNumber, now); err != nil {
				invalid++
			}
		}
		if len(r.Phones) == 0 {
			missingPhone++
		}
		if r.Birth.IsZero() {
			missingBirth++
		}
	}
	n := float64(len(ds.Records))
	near := func(name string, got int, want float64) {
		t.Helper()
		if math.Abs(float64(got)/n-want) > 4*math.Sqrt(want*(1-want)/n)+0.002 {
			t.Errorf("%s: rate %.4f, want about %.4f", name, float64(got)/n, want)
		}
	}
	noise := DefaultNoise()
	near("missing ID", missingID, noise.IDMissing)
	// Typos are drawn among records that have a number.
	near("mistyped ID", invalid, (1-noise.IDMissing)*(1-noise.IDOtherPerson)*noise.IDTypo)
	near("missing phone", missingPhone, noise.PhoneMissing)
	near("missing birth date", missingBirth, noise.BirthMissing)
	if legacy == 0 {
		t.Error("no legacy 15-digit numbers")
	}
}

func TestScore(t *testing.T) {
	// Persons 1,1,1,2: three true pairs. Masters 1,1,2,2: pairs (0,1) correct, (2,3) wrong.
	m := Score([]int{1, 1, 1, 2}, []match.MasterID{1, 1, 2, 2})
	if m.TruePairs != 3 || m.PredictedPairs != 2 || m.CorrectPairs != 1 || m.Precision != 0.5 || math.Abs(m.Recall-1.0/3) > 1e-12 {
		t.Errorf("%+v", m)
	}
}
