package server_test

import (
	"fmt"
	"slices"
	"testing"
)

// identifier=system| finds the resources with an identifier of exactly
// that system, whatever its value; |value those with a value and no
// system. Checked on both stores.
func TestTrialIdentifierBySystemAlone(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		ids := map[string]string{}
		for _, p := range []struct{ name, idents string }{
			{"a1", `[{"system":"urn:sys:a","value":"1"}]`},
			{"a2", `[{"system":"urn:sys:b","value":"9"},{"system":"urn:sys:a","value":"2"}]`},
			{"ab", `[{"system":"urn:sys:ab","value":"1"}]`},           // a longer system with the same prefix
			{"A", `[{"system":"urn:sys:A","value":"1"}]`},             // systems are case-sensitive
			{"nosys", `[{"value":"1"}]`},                              // a value without a system
			{"other", `[{"system":"urn:sys:b","value":"urn:sys:a"}]`}, // the system as a value
		} {
			r := do(t, "POST", base+"/Patient", fj, fmt.Sprintf(`{"resourceType":"Patient","name":[{"family":%q}],"identifier":%s}`, p.name, p.idents)).wantStatus(t, 201)
			ids[r.str("id")] = p.name
		}
		names := func(q string) []string {
			var out []string
			for _, id := range entryIDs(do(t, "GET", base+"/Patient?"+q, "", "").wantStatus(t, 200)) {
				if n, ok := ids[id[len("Patient/"):]]; ok { // not the EMPI's master records
					out = append(out, n)
				}
			}
			slices.Sort(out)
			return out
		}
		for q, want := range map[string][]string{
			"identifier=urn:sys:a|":            {"a1", "a2"},
			"identifier=urn:sys:a|,urn:sys:A|": {"A", "a1", "a2"},
			"identifier=urn:sys:a|1":           {"a1"},
			"identifier=|1":                    {"nosys"},
			"identifier=1":                     {"A", "a1", "ab", "nosys"},
			"identifier=urn:sys:a":             {"other"}, // no bar: a value
			"identifier:not=urn:sys:a|":        {"A", "ab", "nosys", "other"},
		} {
			if got := names(q + "&_count=50"); !slices.Equal(got, want) {
				t.Errorf("%s: %v, want %v", q, got, want)
			}
		}
	})
}
