package directory

import (
	"net/url"
	"strings"
	"testing"
)

// $find refuses a parameter it does not have, naming the ones it has: a
// new user's _count=3 or distance=5 was silently ignored.
func TestTrialFindRefusesUnknownParameters(t *testing.T) {
	for _, q := range []string{"lat=39.9&lon=116.6&_count=3", "lat=39.9&lon=116.6&distance=5", "lat=39.9&lon=116.6&near=1"} {
		v, _ := url.ParseQuery(q)
		_, err := parseFind(v)
		if err == nil || !strings.Contains(err.Error(), "its parameters are lat, lon") {
			t.Errorf("%s: %v", q, err)
		}
	}
	v, _ := url.ParseQuery("lat=39.9&lon=116.6&type=tcm-clinic&specialty=x&city=1101&kind=tcm-hospital&radius=5&count=3&_format=json")
	if q, err := parseFind(v); err != nil || q.Count != 3 || q.RadiusKm != 5 {
		t.Errorf("every documented parameter: %+v %v", q, err)
	}
}
