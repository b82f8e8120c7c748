package fhirjson

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"testing"
)

// sameAsReference decodes data with Decode and with refDecode (the decoder
// of main at 5c820ed) and fails unless both give the same tree, or the same
// error to the byte (message, line, column, offset and path).
func sameAsReference(t testing.TB, name string, data []byte, limits Limits) {
	t.Helper()
	want, werr := refDecode(data, limits)
	got, gerr := Decode(data, limits)
	switch {
	case (gerr == nil) != (werr == nil):
		t.Fatalf("%s: Decode error %v, reference error %v", name, gerr, werr)
	case gerr != nil && gerr.Error() != werr.Error():
		t.Fatalf("%s:\n  Decode    %v\n reference %v", name, gerr, werr)
	case gerr != nil:
		if got != nil {
			t.Fatalf("%s: Decode returned a tree with its error", name)
		}
	case !reflect.DeepEqual(got, want):
		t.Fatalf("%s: Decode and the reference give different trees", name)
	}
}

// mutants are the bytes the differential test writes over each position
// of a document: JSON's structural characters, escapes, control and
// non-ASCII bytes, the start of each literal, and digits.
var mutants = []byte{'"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\n', 0, 0x1f, 0x7f, 0x80, 0xc3, 0xe2, 0xff, 't', 'n', '-', '0', '9', '.', 'e', 'u', '/'}

// TestDecodeMatchesReference holds the new decoder to the old one over
// every official R4 example and every Synthea bundle (whole, as a
// transaction arrives, and for ten of them each resource alone, compact as
// stored), and over broken
// variants of a sample of them: every byte of a document in turn replaced
// by two of mutants (a different pair at each byte), truncations, and
// depth limits that bite.
func TestDecodeMatchesReference(t *testing.T) {
	dir := sharedDir(t)
	examples, _ := filepath.Glob(filepath.Join(dir, "fhir", "r4", "examples", "*.json"))
	bundles, _ := filepath.Glob(filepath.Join(dir, "synthea", "r4", "*.json"))
	if len(examples) != 731 || len(bundles) == 0 {
		t.Fatalf("found %d examples and %d Synthea bundles", len(examples), len(bundles))
	}
	if testing.Short() {
		bundles = bundles[:3]
	}
	var small [][]byte // documents for the mutations
	for i, f := range examples {
		data := readFile(t, f)
		sameAsReference(t, filepath.Base(f), data, Limits{})
		sameAsReference(t, filepath.Base(f)+" (MaxDepth 4)", data, Limits{MaxDepth: 4})
		if i%30 == 0 && len(data) < 6000 {
			small = append(small, data)
		}
	}
	for n, f := range bundles {
		data := readFile(t, f)
		sameAsReference(t, filepath.Base(f), data, Limits{})
		if n >= 10 {
			continue // every resource is in its Bundle; alone, compact, for ten
		}
		bundle, err := refDecode(data, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range bundle["entry"].([]any) {
			res, err := Marshal(e.(map[string]any)["resource"].(map[string]any))
			if err != nil {
				t.Fatal(err)
			}
			sameAsReference(t, filepath.Base(f)+" resource "+strconv.Itoa(i), res, Limits{})
			if len(small) < 40 && i%50 == 7 {
				small = append(small, res)
			}
		}
	}
	mutated := 0
	for n, data := range small {
		buf := make([]byte, len(data))
		for i := range data {
			// Two of the mutants at each byte, a different pair at the next.
			for _, c := range []byte{mutants[i%len(mutants)], mutants[(i*7+n+3)%len(mutants)]} {
				if data[i] == c {
					continue
				}
				copy(buf, data)
				buf[i] = c
				sameAsReference(t, "document "+strconv.Itoa(n)+" with "+quoteByte(c)+" at byte "+strconv.Itoa(i), buf, Limits{})
				mutated++
			}
			if i%7 == 0 {
				sameAsReference(t, "document "+strconv.Itoa(n)+" cut at byte "+strconv.Itoa(i), data[:i], Limits{})
			}
		}
		for depth := 1; depth < 8; depth++ {
			sameAsReference(t, "document "+strconv.Itoa(n)+" at MaxDepth "+strconv.Itoa(depth), data, Limits{MaxDepth: depth})
		}
	}
	t.Logf("%d examples, %d bundles, %d mutated documents", len(examples), len(bundles), mutated)
}

// FuzzDecodeMatchesReference: for any input, the same tree or the same
// error as the reference decoder.
func FuzzDecodeMatchesReference(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient","name":[{"given":["a"],"_given":[{"id":"x"}]}]}`,
		`{"resourceType":"Observation","valueQuantity":{"value":1.0e2},"x":[null,true,"\u00e9\ud83d\ude00"]}`,
		`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","contained":[{"resourceType":"X"}]}}]}`,
		`[1]`, `{"a":"\ud83d\ude00"}`, `{"resourceType":"Patient","a":{"a":{"a":[[[]]]}}}`,
		"{\"resourceType\":\"Patient\",\"text\":\"\xe4\xb8\xad\xe6\x96\x87 \\\"q\\\" and a long run of plain ASCII text\"}",
	} {
		f.Add([]byte(s), uint8(0))
	}
	for _, b := range exampleSeeds(25) {
		f.Add(b, uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, depth uint8) {
		sameAsReference(t, "input", data, Limits{MaxDepth: int(depth % 16)})
	})
}

// TestTreeOutlivesInputAndCollections: the tree owns its strings,
// numbers and arrays. The input is overwritten and the garbage collector
// runs (several cycles, with the decoder reused for other documents in
// between) before the tree is compared with a copy decoded by the
// reference; a string or number that still pointed into the input, or
// into memory the decoder reused, would differ.
func TestTreeOutlivesInputAndCollections(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedDir(t), "fhir", "r4", "examples", "*.json"))
	type kept struct {
		tree, want map[string]any
		name       string
	}
	var trees []kept
	for i, f := range files {
		if i%10 != 0 {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := refDecode(bytes.Clone(data), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		tree, err := Decode(data, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for j := range data {
			data[j] = '#'
		}
		trees = append(trees, kept{tree, want, filepath.Base(f)})
		if i%50 == 0 {
			runtime.GC()
		}
	}
	runtime.GC()
	runtime.GC()
	for _, k := range trees {
		if !reflect.DeepEqual(k.tree, k.want) {
			t.Errorf("%s: the tree changed after its input was overwritten", k.name)
		}
	}
}

// sameMarshal fails unless Marshal and refMarshal (main at 5c820ed) give
// the same bytes, or the same error.
func sameMarshal(t testing.TB, name string, tree map[string]any) {
	t.Helper()
	want, werr := refMarshal(tree)
	got, gerr := Marshal(tree)
	switch {
	case (gerr == nil) != (werr == nil):
		t.Fatalf("%s: Marshal error %v, reference error %v", name, gerr, werr)
	case gerr != nil && gerr.Error() != werr.Error():
		t.Fatalf("%s:\n  Marshal   %v\n reference %v", name, gerr, werr)
	case !bytes.Equal(got, want):
		t.Fatalf("%s:\n  Marshal   %s\n reference %s", name, got, want)
	}
}

// TestMarshalMatchesReference: the same bytes as the old encoder for every
// official example, every Synthea bundle (and each resource alone for ten
// of them), trees
// with many keys the definitions do not know (sorted by name after the
// known ones), and the same errors, with the same paths, for trees it
// cannot write.
func TestMarshalMatchesReference(t *testing.T) {
	dir := sharedDir(t)
	examples, _ := filepath.Glob(filepath.Join(dir, "fhir", "r4", "examples", "*.json"))
	bundles, _ := filepath.Glob(filepath.Join(dir, "synthea", "r4", "*.json"))
	if testing.Short() {
		bundles = bundles[:3]
	}
	for n, f := range append(examples, bundles...) {
		tree, err := Decode(readFile(t, f), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		sameMarshal(t, filepath.Base(f), tree)
		// Every resource is in its Bundle; alone for the first ten.
		if entries, ok := tree["entry"].([]any); ok && n < len(examples)+10 {
			for i, e := range entries {
				if r, ok := e.(map[string]any)["resource"].(map[string]any); ok {
					sameMarshal(t, filepath.Base(f)+" resource "+strconv.Itoa(i), r)
				}
			}
		}
	}
	unknown := func(n int, v any) map[string]any {
		m := map[string]any{}
		for i := 0; i < n; i++ {
			m[string(rune('z'-i%26))+strconv.Itoa(i)] = v
		}
		return m
	}
	deep := map[string]any{"resourceType": "Basic"}
	for m, i := deep, 0; i < maxMarshalDepth+1; i++ {
		next := map[string]any{}
		m["extension"] = []any{next}
		m = next
	}
	trees := map[string]map[string]any{
		"unknown keys, few":  {"resourceType": "Patient", "zeta": 1, "alpha": true, "id": "a", "mid": unknown(3, "x")},
		"unknown keys, many": {"resourceType": "Patient", "active": true, "extra": unknown(40, json.Number("1")), "name": []any{unknown(15, nil)}},
		"unknown type":       {"resourceType": "NotAType", "b": 1, "a": []any{map[string]any{"y": 1, "x": 2}}},
		"known and unknown":  {"resourceType": "Observation", "status": "final", "valueQuantity": map[string]any{"zz": 1, "value": 2, "aa": 3, "unit": "u", "code": "c", "system": "s", "comparator": "<"}},
		"resourceType deep":  {"resourceType": "Bundle", "entry": []any{map[string]any{"resource": map[string]any{"status": "x", "resourceType": "Observation"}, "resourceType": "odd"}}},
		"Go slices":          {"resourceType": "Patient", "name": []map[string]any{{"given": []string{"a", "b"}, "family": "f"}}, "x": []string{}},
		"bad key":            {"resourceType": "Patient", "name": []any{map[string]any{"a\xff": 1}}},
		"bad string":         {"resourceType": "Patient", "name": []any{map[string]any{"given": []any{"a", "\xfe"}}}},
		"bad []string":       {"resourceType": "Patient", "name": []map[string]any{{"given": []string{"a", "\xfe"}}}},
		"bad number":         {"resourceType": "Patient", "contained": []any{map[string]any{"resourceType": "Basic", "x": json.Number("01")}}},
		"NaN":                {"resourceType": "Patient", "x": map[string]any{"y": []any{1.5, nilFloat()}}},
		"chan":               {"resourceType": "Patient", "name": []any{map[string]any{"family": make(chan int)}}},
		"no resourceType":    {"id": "x"},
		"too deep":           deep,
	}
	for name, tree := range trees {
		sameMarshal(t, name, tree)
	}
}

// FuzzMarshalMatchesReference: whatever Decode accepts, Marshal writes as
// the old encoder did.
func FuzzMarshalMatchesReference(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","b":1,"a":{"d":[1,{"c":2,"b":3}]},"name":[{"given":["x"]}]}`))
	for _, b := range exampleSeeds(25) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := Decode(data, Limits{})
		if err != nil {
			return
		}
		sameMarshal(t, "input", tree)
	})
}
