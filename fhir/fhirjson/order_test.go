package fhirjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"testing"
)

// tokens lists the JSON tokens of a document in order, keys included.
func tokens(tb testing.TB, data []byte) []string {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%T:%v", tok, tok))
	}
}

// TestMarshalMatchesPublishedOrder: the official examples were written by
// the HL7 publisher in definition order, so Marshal must reproduce their
// token sequence exactly (whitespace aside).
func TestMarshalMatchesPublishedOrder(t *testing.T) {
	// Published with its keys sorted alphabetically, not in definition order.
	unordered := map[string]bool{"Questionnaire-qs1.json": true}
	files, _ := filepath.Glob(filepath.Join(sharedDir(t), "fhir", "r4", "examples", "*.json"))
	same := 0
	for _, f := range files {
		if unordered[filepath.Base(f)] {
			continue
		}
		data := readFile(t, f)
		v, err := Decode(data, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		a, b := tokens(t, data), tokens(t, out)
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		if i == len(a) && i == len(b) {
			same++
			continue
		}
		lo := max(0, i-3)
		t.Errorf("%s: order differs at token %d: published %v, Marshal %v", filepath.Base(f), i, a[lo:min(i+3, len(a))], b[lo:min(i+3, len(b))])
	}
	t.Logf("%d of %d examples in published order (%d published unordered)", same, len(files), len(unordered))
}
