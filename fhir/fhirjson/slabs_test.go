package fhirjson

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// TestDecodedArraysDoNotGrowIntoEachOther: arrays share a block, but each
// is cut to its own capacity, so appending to one copies it and leaves the
// next array of the block alone.
func TestDecodedArraysDoNotGrowIntoEachOther(t *testing.T) {
	v := mustDecode(t, `{"resourceType":"Patient","a":[1,2],"b":["x","y"],"c":[{"d":[true]}]}`)
	a, b := v["a"].([]any), v["b"].([]any)
	if cap(a) != len(a) || cap(b) != len(b) {
		t.Fatalf("cap(a) = %d, cap(b) = %d: want the lengths", cap(a), cap(b))
	}
	a = append(a, "grown")
	a[0] = "changed"
	if !reflect.DeepEqual(v["b"], []any{"x", "y"}) {
		t.Errorf("b = %#v after appending to a", v["b"])
	}
	if !reflect.DeepEqual(v["c"], []any{map[string]any{"d": []any{true}}}) {
		t.Errorf("c = %#v after appending to a", v["c"])
	}
}

// TestKnownKeysAreShared: a property name the definitions know is the
// same string in every decoded tree (no copy of its own); another name is
// a copy owned by its tree.
func TestKnownKeysAreShared(t *testing.T) {
	key := func(m map[string]any, name string) *byte {
		for k := range m {
			if k == name {
				return unsafe.StringData(k)
			}
		}
		t.Fatalf("no key %q", name)
		return nil
	}
	in := `{"resourceType":"Patient","birthDate":"2000-01-01","notAnElement":1}`
	v1, v2 := mustDecode(t, in), mustDecode(t, in)
	if key(v1, "birthDate") != key(v2, "birthDate") || key(v1, "resourceType") != key(v2, "resourceType") {
		t.Errorf("known keys are copied per tree")
	}
	if key(v1, "notAnElement") == key(v2, "notAnElement") {
		t.Errorf("an unknown key is shared between trees")
	}
}

// TestDecodeAllocations: decoding allocates the maps (which no block can
// hold) and a few blocks, not one allocation per string, number or array:
// a document of 3,000 such values in one object costs a few dozen
// allocations, and a Synthea resource a handful beyond what building its
// maps alone costs (mapAllocs: the same maps, keys and size hints).
func TestDecodeAllocations(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Basic","s":[`)
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, `"s%d",`, i)
	}
	b.WriteString(`""],"n":[`)
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, `[%d],`, i)
	}
	b.WriteString(`[]]}`)
	doc := []byte(b.String())
	n := testing.AllocsPerRun(20, func() {
		if _, err := Decode(doc, Limits{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%d bytes, 3,004 values: %.0f allocations", len(doc), n)
	if n > 50 {
		t.Errorf("Decode of 1,001 strings, 1,000 numbers and 1,003 arrays made %.0f allocations, want at most 50", n)
	}

	bundle := mustDecodeFile(t, filepath.Join(sharedDir(t), "synthea", "r4", "Abdul_Koepp_e925b0f3-8006-43f6-aa31-94bd215e55e7.json"))
	var total, maps, values float64
	n = 0
	for _, e := range bundle["entry"].([]any) {
		res := e.(map[string]any)["resource"].(map[string]any)
		data, err := Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		total += testing.AllocsPerRun(20, func() {
			if _, err := Decode(data, Limits{}); err != nil {
				t.Fatal(err)
			}
		})
		maps += testing.AllocsPerRun(20, func() { rebuildMaps(res) })
		values += float64(countValues(res))
		n++
	}
	t.Logf("per resource: %.1f allocations, %.1f for the maps alone, %.1f strings, numbers and arrays", total/n, maps/n, values/n)
	if total > maps+8*n {
		t.Errorf("Decode made %.1f allocations per resource: more than its maps' %.1f and eight blocks", total/n, maps/n)
	}
}

func mustDecodeFile(t *testing.T, path string) map[string]any {
	t.Helper()
	v, err := Decode(readFile(t, path), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// rebuildMaps makes a map like each object of v, with the same keys and
// size hint as Decode, and nothing else.
func rebuildMaps(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = rebuildMaps(x)
		}
		return m
	case []any:
		for _, x := range v {
			rebuildMaps(x)
		}
	}
	return nil
}

func countValues(v any) int {
	switch v := v.(type) {
	case map[string]any:
		n := 0
		for _, x := range v {
			n += countValues(x)
		}
		return n
	case []any:
		n := 1
		for _, x := range v {
			n += countValues(x)
		}
		return n
	case string:
		return 1
	}
	if _, ok := v.(interface{ String() string }); ok { // json.Number
		return 1
	}
	return 0
}
