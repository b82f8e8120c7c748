package search

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/internal/cputime"
	"github.com/xietong/xietong/internal/sharedtest"
)

func TestPathRoots(t *testing.T) {
	cases := []struct {
		rt, expr string
		want     []string
	}{
		{"Observation", "Observation.code", []string{"code"}},
		{"Observation", "Observation.code | Observation.component.code", []string{"code", "component"}},
		{"Observation", "(Observation.value as Quantity) | (Observation.value as SampledData)", []string{"value"}},
		{"Observation", "(Observation.value as CodeableConcept).text", []string{"value"}},
		{"Observation", "Observation.subject.where(resolve() is Patient)", []string{"subject"}},
		{"Observation", "Resource.meta.tag", []string{"meta"}},
		{"ActivityDefinition", "ActivityDefinition.relatedArtifact.where(type='depends-on').resource | ActivityDefinition.library", []string{"relatedArtifact", "library"}},
		{"Patient", "Patient.extension.where(url = 'a|b)').value.as(Reference)", []string{"extension"}},
		// Evaluated always: they can yield values without their root.
		{"Patient", "Patient.deceased.exists() and Patient.deceased != false", nil},
		{"Observation", "Observation", nil},
		{"Observation", "Observation | Observation.component", nil},
		{"Bundle", "Bundle.entry[0].resource", nil},
		{"Patient", "name | alias", nil},
		{"Patient", "Patient.name.first()", nil},
		{"Patient", "Encounter.subject", nil},
		{"Patient", "Patient.link.where(type = 'a'", nil},
	}
	for _, c := range cases {
		if got := pathRoots(c.rt, c.expr); !slices.Equal(got, c.want) {
			t.Errorf("pathRoots(%s, %q) = %q, want %q", c.rt, c.expr, got, c.want)
		}
	}
	res := map[string]any{"resourceType": "Observation", "valueQuantity": map[string]any{}, "_status": map[string]any{}, "serviceProvider": "x"}
	for _, c := range []struct {
		roots []string
		want  bool
	}{
		{[]string{"value"}, true}, {[]string{"status"}, true}, {[]string{"code", "value"}, true},
		{[]string{"code"}, false}, {[]string{"val"}, false}, {[]string{"service"}, true}, {[]string{"valueQuantityX"}, false},
	} {
		if got := hasAnyRoot(res, altNames(nil, res), c.roots); got != c.want {
			t.Errorf("hasAnyRoot(%q) = %v, want %v", c.roots, got, c.want)
		}
	}
}

// syntheaResources are the resources of the first n Synthea bundles,
// decoded as the server decodes them.
func syntheaResources(tb testing.TB, bundles int) []map[string]any {
	dir := sharedtest.Dir(tb)
	files, _ := filepath.Glob(filepath.Join(dir, "synthea", "r4", "*.json"))
	if len(files) == 0 {
		tb.Fatal("no Synthea bundles in ../shared/synthea/r4")
	}
	var out []map[string]any
	for _, f := range files[:min(bundles, len(files))] {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var b struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			tb.Fatal(err)
		}
		for _, e := range b.Entry {
			if m, err := fhirjson.Decode(e.Resource, fhirjson.Limits{}); err == nil {
				out = append(out, m)
			}
		}
	}
	return out
}

// TestIndexSkipsOnlyAbsentPaths: skipping the parameters whose root
// element a resource lacks changes no entry, on every Synthea resource of
// 20 bundles and every official example of every type.
func TestIndexSkipsOnlyAbsentPaths(t *testing.T) {
	res := syntheaResources(t, 20)
	for _, raw := range sharedtest.ExampleSeeds(1) { // every official example
		if m, err := fhirjson.Decode(raw, fhirjson.Limits{}); err == nil {
			res = append(res, m)
		}
	}
	zone := time.FixedZone("CST", 8*3600)
	skip, all := NewIndexer(zone), NewIndexer(zone)
	types, skipped := map[string]bool{}, 0
	for _, r := range res {
		rt, _ := r["resourceType"].(string)
		if !types[rt] {
			types[rt] = true
			p := all.plan(rt)
			for i := range p.params {
				p.params[i].roots = nil
			}
		}
		for _, cp := range skip.plan(rt).params {
			if cp.roots != nil && !hasAnyRoot(r, altNames(nil, r), cp.roots) {
				skipped++
			}
		}
		got, err1 := skip.Index(rt, r)
		want, err2 := all.Index(rt, r)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%s/%v: error %v, without skipping %v", rt, r["id"], err1, err2)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s/%v: entries differ when absent paths are skipped:\n got %+v\nwant %+v", rt, r["id"], got, want)
		}
	}
	if len(types) < 100 || skipped == 0 {
		t.Fatalf("%d types, %d parameters skipped: the test covers too little", len(types), skipped)
	}
	t.Logf("%d resources of %d types, %d parameter evaluations skipped", len(res), len(types), skipped)
}

// BenchmarkIndex: the search-index entries of every resource of 10 Synthea
// bundles (3,168 resources); cpu-ns/resource is the process's CPU.
//
//	go test -run '^$' -bench BenchmarkIndex -benchtime 5x -count 3 ./search
func BenchmarkIndex(b *testing.B) {
	res := syntheaResources(b, 10)
	ix := NewIndexer(nil)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	for range b.N {
		for _, r := range res {
			if _, err := ix.Index(r["resourceType"].(string), r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(b.N*len(res)), "cpu-ns/resource")
}

// A composite's parts keep no token text and no canonical quantity, so
// they are extracted without them (compiledParam.part); the composite
// entries must be exactly those made from fully extracted components, on
// every resource of 20 Synthea bundles and of the official examples.
func TestCompositePartsNeedNoTextOrCanonical(t *testing.T) {
	res := syntheaResources(t, 20)
	for _, raw := range sharedtest.ExampleSeeds(1) { // every official example
		if m, err := fhirjson.Decode(raw, fhirjson.Limits{}); err == nil {
			res = append(res, m)
		}
	}
	fast, full := NewIndexer(nil), NewIndexer(nil)
	whole := map[string]bool{} // types whose plan in full extracts parts fully
	composites := 0
	for _, r := range res {
		rt := r["resourceType"].(string)
		if p := full.plan(rt); p.err == nil && !whole[rt] {
			q := plan{err: p.err}
			q.params = slices.Clone(p.params)
			for i := range q.params {
				q.params[i].components = slices.Clone(q.params[i].components)
				for j := range q.params[i].components {
					q.params[i].components[j].part = false
				}
			}
			whole[rt] = true
			full.plans[rt] = &q
		}
		got, err1 := fast.Index(rt, r)
		want, err2 := full.Index(rt, r)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%s/%v: %v against %v", rt, r["id"], err1, err2)
		}
		if !reflect.DeepEqual(got.Composites, want.Composites) {
			t.Fatalf("%s/%v: composite entries differ:\n got %+v\nwant %+v", rt, r["id"], got.Composites, want.Composites)
		}
		composites += len(got.Composites)
	}
	if composites < 1000 {
		t.Fatalf("only %d composite entries: the test covers too little", composites)
	}
	t.Logf("%d resources, %d composite entries", len(res), composites)
}

// Index starts each resource's slices at the entry counts of the last
// resource of its type, bounded by maxSizeHint, and the entries are the
// same whatever the hint (the tests above compare them).
func TestIndexPresizesFromLastResource(t *testing.T) {
	ix := NewIndexer(nil)
	small := map[string]any{"resourceType": "Patient", "id": "a",
		"identifier": []any{map[string]any{"system": "urn:s", "value": "1"}}}
	first, err := ix.Index("Patient", small)
	if err != nil {
		t.Fatal(err)
	}
	var ids []any
	for i := range 300 {
		ids = append(ids, map[string]any{"system": "urn:s", "value": strconv.Itoa(i)})
	}
	big := map[string]any{"resourceType": "Patient", "id": "b", "identifier": ids}
	if x, err := ix.Index("Patient", big); err != nil || len(x.Tokens) < 300 {
		t.Fatalf("big: %d tokens, %v", len(x.Tokens), err)
	}
	after, err := ix.Index("Patient", small)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, first) {
		t.Errorf("entries depend on the resource indexed before:\n%+v\n%+v", after, first)
	}
	if c := cap(after.Tokens); c != maxSizeHint {
		t.Errorf("after a resource with 300 tokens the next starts with capacity %d, want the bound %d", c, maxSizeHint)
	}
	again, _ := ix.Index("Patient", small)
	if c := cap(again.Tokens); c != len(after.Tokens) {
		t.Errorf("capacity %d, want the last Patient's %d tokens", c, len(after.Tokens))
	}
}
