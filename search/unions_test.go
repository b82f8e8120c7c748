package search

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/fhir/model"
	"github.com/xietong/xietong/internal/sharedtest"
	"github.com/xietong/xietong/store"
)

// TestUnionsAreUnions: every parameter of unions is, by its definition,
// the union of its two parts (the same type, the branches of its
// expression exactly theirs, a composite's components the same), and on
// real resources (20 Synthea bundles and every official example) its
// entries are exactly its parts' entries; the Indexer writes none for it.
func TestUnionsAreUnions(t *testing.T) {
	branches := func(sp *model.SearchParam, rt string) []string {
		var out []string
		for _, b := range splitTop(sp.ExpressionFor(rt)) {
			out = append(out, strings.TrimSpace(b))
		}
		slices.Sort(out)
		return out
	}
	components := func(sp *model.SearchParam) []string {
		var out []string
		for _, c := range sp.Components {
			out = append(out, c.Expression)
		}
		return out
	}
	for rt, us := range unions {
		sps := model.SearchParams(rt)
		for code, parts := range us {
			sp, a, b := sps[code], sps[parts[0]], sps[parts[1]]
			if sp == nil || a == nil || b == nil {
				t.Fatalf("%s.%s: %v: not all defined", rt, code, parts)
			}
			if sp.Type != a.Type || sp.Type != b.Type {
				t.Errorf("%s.%s is a %s, its parts %s and %s", rt, code, sp.Type, a.Type, b.Type)
			}
			want := append(branches(a, rt), branches(b, rt)...)
			slices.Sort(want)
			if got := branches(sp, rt); !slices.Equal(got, want) {
				t.Errorf("%s.%s: branches %q, its parts' %q", rt, code, got, want)
			}
			if c := components(sp); !slices.Equal(c, components(a)) || !slices.Equal(c, components(b)) {
				t.Errorf("%s.%s: components %q, its parts' %q and %q", rt, code, c, components(a), components(b))
			}
			if got := unionParts(sp, code); !slices.Equal(got, parts) {
				t.Errorf("%s.%s: unionParts %v", rt, code, got)
			}
		}
	}

	res := syntheaResources(t, 20)
	for _, raw := range sharedtest.ExampleSeeds(1) {
		if m, err := fhirjson.Decode(raw, fhirjson.Limits{}); err == nil {
			res = append(res, m)
		}
	}
	zone := time.FixedZone("CST", 8*3600)
	stored, full := NewIndexer(zone), NewIndexer(zone)
	for rt := range unions {
		full.plans[rt] = compilePlan(rt, true)
	}
	seen := map[string]int{}
	for _, r := range res {
		rt, _ := r["resourceType"].(string)
		us := unions[rt]
		if us == nil {
			continue
		}
		x, err := full.Index(rt, r)
		if err != nil {
			t.Fatal(err)
		}
		y, err := stored.Index(rt, r)
		if err != nil {
			t.Fatal(err)
		}
		for code, parts := range us {
			got, want := entries(&x, []string{code}, code), entries(&x, parts, code)
			if !maps.Equal(got, want) {
				t.Fatalf("%s/%v %s: entries %v, its parts' %v", rt, r["id"], code, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
			}
			if len(got) > 0 {
				seen[code]++
			}
			if n := len(entries(&y, []string{code}, code)); n != 0 {
				t.Errorf("%s/%v: %d entries of %s stored", rt, r["id"], n, code)
			}
		}
	}
	for _, code := range slices.Sorted(maps.Keys(unions["Observation"])) {
		if seen[code] == 0 {
			t.Errorf("no resource has an entry of %s: the test covers too little", code)
		}
	}
	t.Logf("resources with entries: %v", seen)
}

// entries is the set of x's entries of the parameters params, each
// written as if it were of parameter as.
func entries(x *store.Index, params []string, as string) map[string]bool {
	out := map[string]bool{}
	v := reflect.ValueOf(*x)
	for i := range v.NumField() { // Strings, Tokens, ...: slices of entries with a Param
		for j := range v.Field(i).Len() {
			e := v.Field(i).Index(j)
			if param := e.FieldByName("Param").String(); slices.Contains(params, param) {
				out[strings.Replace(fmt.Sprintf("%+v", e.Interface()), "Param:"+param+" ", "Param:"+as+" ", 1)] = true
			}
		}
	}
	return out
}
