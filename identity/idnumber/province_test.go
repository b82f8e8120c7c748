package idnumber

import "testing"

func TestProvinceOf(t *testing.T) {
	for div, want := range map[string]string{"440106": "广东省", "810000": "香港特别行政区", "191234": "", "830000": "", "4": ""} {
		if got := ProvinceOf(div); got != want {
			t.Errorf("ProvinceOf(%q) = %q, want %q", div, got, want)
		}
	}
}
