package directory

import (
	"math"
	"testing"
)

func TestHaversine(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		km                     float64
	}{
		{"Beijing–Shanghai", 39.9042, 116.4074, 31.2304, 121.4737, 1067.3},
		{"same point", 30, 104, 30, 104, 0},
		{"one degree of latitude", 0, 0, 1, 0, 111.2},
		{"antipodes", 0, 0, 0, 180, 20015.1},
	} {
		if got := HaversineKm(tc.lat1, tc.lon1, tc.lat2, tc.lon2); math.Abs(got-tc.km) > 0.5 {
			t.Errorf("%s: %.1f km, want %.1f", tc.name, got, tc.km)
		}
	}
}
