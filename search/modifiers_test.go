package search

import (
	"slices"
	"testing"
)

func TestURIParents(t *testing.T) {
	got := uriParents("http://acme.org/fhir/ValueSet/123")
	want := []string{"http://acme.org/fhir/ValueSet/123", "http://acme.org/fhir/ValueSet/", "http://acme.org/fhir/ValueSet",
		"http://acme.org/fhir/", "http://acme.org/fhir", "http://acme.org/", "http://acme.org"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := uriParents("urn:oid:1.2.3"); !slices.Equal(got, []string{"urn:oid:1.2.3"}) {
		t.Errorf("urn: %q", got)
	}
	if got := uriParents("http://acme.org"); !slices.Equal(got, []string{"http://acme.org"}) {
		t.Errorf("authority only: %q", got)
	}
}

func TestParseNear(t *testing.T) {
	for v, km := range map[string]float64{
		"39.9|116.6":           DefaultNearKm,
		"39.9|116.6|5":         5,
		"39.9|116.6|5|km":      5,
		"39.9|116.6|2|mi":      2 * 1.609344,
		"39.9|116.6|500|m":     0.5,
		"-33.9|151.2|1|[mi_i]": 1.609344,
	} {
		n, err := parseNear(v)
		if err != nil || n.Km != km {
			t.Errorf("%s: %+v %v, want %g km", v, n, err, km)
		}
	}
	for _, v := range []string{"", "39.9", "x|1", "95|0", "0|181", "1|2|-3", "1|2|3|ly", "1|2|3|km|x"} {
		if _, err := parseNear(v); err == nil {
			t.Errorf("%q: no error", v)
		}
	}
}
