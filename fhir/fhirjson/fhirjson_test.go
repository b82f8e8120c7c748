package fhirjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func mustDecode(t testing.TB, s string) map[string]any {
	t.Helper()
	v, err := Decode([]byte(s), Limits{})
	if err != nil {
		t.Fatalf("Decode(%.80q): %v", s, err)
	}
	return v
}

func TestDecodeValues(t *testing.T) {
	v := mustDecode(t, `{"resourceType":"Observation","valueQuantity":{"value":1.50,"unit":"mg"},
		"note":[{"text":"a\"b\\c\/d\n\u00e9\ud83d\ude00 <b>"}],"x":[true,false,null,-0.0e+5]}`)
	if got := v["valueQuantity"].(map[string]any)["value"]; got != json.Number("1.50") {
		t.Errorf("value = %#v, want json.Number(\"1.50\")", got)
	}
	if got := v["note"].([]any)[0].(map[string]any)["text"]; got != "a\"b\\c/d\né😀 <b>" {
		t.Errorf("text = %q", got)
	}
	if got := v["x"]; !reflect.DeepEqual(got, []any{true, false, nil, json.Number("-0.0e+5")}) {
		t.Errorf("x = %#v", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in  string
		msg, path string
		line, col int
	}{
		{"empty", ``, "empty document", "", 1, 1},
		{"array", `[{"resourceType":"Patient"}]`, "must be a JSON object, found an array", "", 1, 1},
		{"string", ` "Patient"`, "found a string", "", 1, 2},
		{"number", `12`, "found a number", "", 1, 1},
		{"null", `null`, "found null", "", 1, 1},
		{"garbage", `<Patient/>`, "invalid character '<'", "", 1, 1},
		{"byte order mark", "\xef\xbb\xbf{\"resourceType\":\"Patient\"}", "byte order mark", "", 1, 1},
		{"trailing", `{"resourceType":"Patient"} {}`, "unexpected data after the resource", "", 1, 28},
		{"trailing comma", `{"resourceType":"Patient",}`, "expected a quoted property name", "", 1, 27},
		{"missing colon", `{"resourceType" "Patient"}`, "expected ':'", "", 1, 17},
		{"unterminated", `{"resourceType":"Patient`, "unterminated string", "resourceType", 1, 17},
		{"eof in object", "{\"resourceType\":\"Patient\",\n\"active\":true", "unexpected end of document", "", 2, 14},
		{"eof in array", `{"resourceType":"Patient","name":[{"family":"x"}`, "unexpected end of document inside the array", "Patient.name", 1, 49},
		{"bad literal", `{"resourceType":"Patient","active":tru}`, "expected true", "Patient.active", 1, 36},
		{"bad number", `{"resourceType":"Patient","x":01}`, "expected ',' or '}'", "", 1, 32},
		{"bad fraction", `{"resourceType":"Patient","x":1.}`, "after the decimal point", "Patient.x", 1, 33},
		{"bad exponent", `{"resourceType":"Patient","x":1e}`, "in the exponent", "Patient.x", 1, 33},
		{"plus number", `{"resourceType":"Patient","x":+1}`, "invalid character '+'", "Patient.x", 1, 31},
		{"duplicate key", "{\"resourceType\":\"Patient\",\n  \"name\":[{\"family\":\"a\",\"family\":\"b\"}]}", `duplicate property "family"`, "Patient.name[0].family", 2, 25},
		{"duplicate resourceType", `{"resourceType":"Patient","resourceType":"Patient"}`, `duplicate property "resourceType"`, "Patient.resourceType", 1, 27},
		{"invalid utf8", "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"M\xfcller\"}]}", "invalid UTF-8", "Patient.name[0].family", 1, 47},
		{"invalid utf8 in key", "{\"resourceType\":\"Patient\",\"f\xff\":1}", "invalid UTF-8", "", 1, 29},
		{"control char", "{\"resourceType\":\"Patient\",\"x\":\"a\tb\"}", "control character 0x09", "Patient.x", 1, 33},
		{"bad escape", `{"resourceType":"Patient","x":"a\qb"}`, `invalid escape "\\q"`, "Patient.x", 1, 33},
		{"short unicode escape", `{"resourceType":"Patient","x":"\u12"}`, `invalid \u escape`, "Patient.x", 1, 32},
		{"lone surrogate", `{"resourceType":"Patient","x":"\ud800x"}`, "lone UTF-16 surrogate", "Patient.x", 1, 32},
		{"missing resourceType", `{"id":"a"}`, "missing resourceType", "", 1, 1},
		{"numeric resourceType", `{"resourceType":1}`, "resourceType must be a non-empty string", "", 1, 17},
		{"empty resourceType", `{"resourceType":""}`, "resourceType must be a non-empty string", "", 1, 17},
		{"deep", `{"resourceType":"Patient","x":` + strings.Repeat("[", 70), "nesting deeper than 64 levels", "Patient.x" + strings.Repeat("[0]", 63), 1, 94},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in), Limits{})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Decode(%q) = %v, want a *SyntaxError", tt.in, err)
			}
			if !strings.Contains(se.Msg, tt.msg) || se.Path != tt.path || se.Line != tt.line || se.Column != tt.col {
				t.Errorf("Decode(%q):\n got %d:%d path %q: %s\nwant %d:%d path %q: ...%s...", tt.in, se.Line, se.Column, se.Path, se.Msg, tt.line, tt.col, tt.path, tt.msg)
			}
		})
	}
}

func TestDecodeHugeNestingDoesNotOverflow(t *testing.T) {
	for _, open := range []string{"[", `{"a":`} {
		in := `{"resourceType":"Patient","x":` + strings.Repeat(open, 1_000_000)
		_, err := Decode([]byte(in), Limits{})
		if err == nil || !strings.Contains(err.Error(), "nesting deeper than 64") {
			t.Errorf("Decode(1e6 × %q) = %v, want a nesting error", open, err)
		}
	}
	if _, err := Decode([]byte(`{"resourceType":"Patient","x":[[[]]]}`), Limits{MaxDepth: 3}); err == nil {
		t.Errorf("MaxDepth 3 accepted 4 levels")
	}
	if _, err := Decode([]byte(`{"resourceType":"Patient","x":[[]]}`), Limits{MaxDepth: 3}); err != nil {
		t.Errorf("MaxDepth 3 rejected 3 levels: %v", err)
	}
}

func TestDecodeMaxBytes(t *testing.T) {
	_, err := Decode([]byte(`{"resourceType":"Patient"}`), Limits{MaxBytes: 10})
	if err == nil || !strings.Contains(err.Error(), "larger than the limit of 10") {
		t.Errorf("got %v", err)
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := Decode([]byte("{\"resourceType\":\"Patient\",\n \"name\":[{\"given\":[\"a\",\"b\"],\"given\":[]}]}"), Limits{})
	want := `fhirjson: line 2, column 29 (byte 55), at Patient.name[0].given: duplicate property "given": FHIR forbids repeating a property in one object`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestMarshalOrder(t *testing.T) {
	in := `{"gender":"female","_birthDate":{"extension":[{"valueDateTime":"1970-01-01T10:00:00+01:00","url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime"}]},
		"birthDate":"1970-01-01","zzz":{"b":1,"a":[{"d":1,"c":2}]},"name":[{"given":["A","B"],"_given":[null,{"id":"x"}],"family":"<Müller> & Co","use":"official"}],
		"id":"p1","resourceType":"Patient","meta":{"versionId":"1","lastUpdated":"2020-01-01T00:00:00Z"},"aaa":true,
		"contact":[{"gender":"male","relationship":[{"text":"x","coding":[{"code":"C","system":"s"}]}]}],
		"contained":[{"status":"active","resourceType":"Organization","name":"O","id":"o","active":true}],
		"text":{"div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>","status":"generated"},"deceasedBoolean":false}`
	want := `{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":"2020-01-01T00:00:00Z"},` +
		`"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},` +
		`"contained":[{"resourceType":"Organization","id":"o","active":true,"name":"O","status":"active"}],` +
		`"name":[{"use":"official","family":"<Müller> & Co","given":["A","B"],"_given":[null,{"id":"x"}]}],` +
		`"gender":"female","birthDate":"1970-01-01","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1970-01-01T10:00:00+01:00"}]},` +
		`"deceasedBoolean":false,"contact":[{"relationship":[{"coding":[{"system":"s","code":"C"}],"text":"x"}],"gender":"male"}],` +
		`"aaa":true,"zzz":{"a":[{"c":2,"d":1}],"b":1}}`
	got, err := Marshal(mustDecode(t, in))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Marshal:\n got %s\nwant %s", got, want)
	}
}

func TestMarshalValues(t *testing.T) {
	res := map[string]any{
		"resourceType":  "Observation",
		"valueQuantity": map[string]any{"value": 1.5, "unit": "\x01\"\\\n\r\t\u2028"},
		"component":     []map[string]any{{"valueInteger": 3}, {"valueInteger": int64(-4)}},
		"category":      []any{map[string]any{"text": "a"}},
		"x":             []string{"s"},
	}
	got, err := Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Observation","category":[{"text":"a"}],"valueQuantity":{"value":1.5,"unit":"\u0001\"\\\n\r\t` + "\u2028" + `"},"component":[{"valueInteger":3},{"valueInteger":-4}],"x":["s"]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !json.Valid(got) {
		t.Errorf("output is not valid JSON")
	}
}

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		res  map[string]any
		want string
	}{
		{"no resourceType", map[string]any{"id": "x"}, "no string resourceType"},
		{"bad utf8", map[string]any{"resourceType": "Patient", "name": []any{map[string]any{"family": "\xff"}}}, "Patient.name[0].family: invalid UTF-8"},
		{"bad number", map[string]any{"resourceType": "Patient", "x": json.Number("1.")}, `Patient.x: "1." is not a valid JSON number`},
		{"nan", map[string]any{"resourceType": "Patient", "x": []any{nilFloat()}}, "Patient.x[0]: NaN"},
		{"chan", map[string]any{"resourceType": "Patient", "x": make(chan int)}, "Patient.x: cannot write a value of Go type chan int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Marshal(tt.res)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ...%s...", err, tt.want)
			}
		})
	}
}

func nilFloat() float64 { var z float64; return z / z }

// TestRoundTripExamples: every official R4 example decodes, marshals to
// valid JSON, and decodes back to the same tree; marshalling is stable.
func TestRoundTripExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedDir(t), "fhir", "r4", "examples", "*.json"))
	if len(files) != 731 {
		t.Fatalf("found %d examples, want 731", len(files))
	}
	for _, f := range files {
		data := readFile(t, f)
		v, err := Decode(data, Limits{})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		out, err := Marshal(v)
		if err != nil {
			t.Errorf("%s: Marshal: %v", filepath.Base(f), err)
			continue
		}
		back, err := Decode(out, Limits{})
		if err != nil {
			t.Errorf("%s: Decode(Marshal): %v", filepath.Base(f), err)
			continue
		}
		if !reflect.DeepEqual(v, back) {
			t.Errorf("%s: Decode(Marshal(x)) differs from x", filepath.Base(f))
		}
		// Same tree as encoding/json reads.
		var ref any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&ref); err != nil {
			t.Fatalf("%s: encoding/json: %v", f, err)
		}
		if !reflect.DeepEqual(any(v), ref) {
			t.Errorf("%s: Decode differs from encoding/json", filepath.Base(f))
		}
		again, _ := Marshal(back)
		if !bytes.Equal(out, again) {
			t.Errorf("%s: Marshal is not stable", filepath.Base(f))
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient","name":[{"given":["a"],"_given":[{"id":"x"}]}]}`,
		`{"resourceType":"Observation","valueQuantity":{"value":1.0e2},"x":[null,true,"\u00e9"]}`,
		`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","contained":[{"resourceType":"X"}]}}]}`,
		`[1]`, `{"a":"\ud83d\ude00"}`, `{"resourceType":"Patient","a":{"a":{"a":[[[]]]}}}`,
	} {
		f.Add([]byte(s))
	}
	for _, b := range exampleSeeds(25) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data, Limits{})
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error is %T, want *SyntaxError", err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Decode accepted invalid JSON %q", data)
		}
		out, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal of a decoded tree: %v", err)
		}
		back, err := Decode(out, Limits{})
		if err != nil {
			t.Fatalf("Decode(Marshal(x)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(v, back) {
			t.Fatalf("round trip differs:\n in %q\nout %s", data, out)
		}
	})
}

// TestDecodeDoesNotAliasInput: the caller may reuse its buffer.
func TestDecodeDoesNotAliasInput(t *testing.T) {
	data := []byte(`{"resourceType":"Patient","id":"a","unknownKey":"b","x":1.5}`)
	v := mustDecode(t, string(data))
	v2, err := Decode(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = ' '
	}
	if !reflect.DeepEqual(v, v2) {
		t.Errorf("tree changed with the input buffer: %v", v2)
	}
}

// TestRoundTripSynthea: every Synthea bundle decodes like encoding/json
// reads it and survives Marshal and Decode unchanged.
func TestRoundTripSynthea(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 119 MB of bundles")
	}
	files, _ := filepath.Glob(filepath.Join(sharedDir(t), "synthea", "r4", "*.json"))
	if len(files) == 0 {
		t.Fatal("no Synthea bundles found")
	}
	for _, f := range files {
		data := readFile(t, f)
		v, err := Decode(data, Limits{})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		var ref any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&ref); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(any(v), ref) {
			t.Errorf("%s: Decode differs from encoding/json", filepath.Base(f))
		}
		out, err := Marshal(v)
		if err != nil {
			t.Errorf("%s: Marshal: %v", filepath.Base(f), err)
			continue
		}
		back, err := Decode(out, Limits{})
		if err != nil || !reflect.DeepEqual(v, back) {
			t.Errorf("%s: Decode(Marshal(x)) differs from x (%v)", filepath.Base(f), err)
		}
	}
}

// TestMarshalErrorDoesNotPinTheTree: a Marshal that fails leaves no key of
// the caller's tree in the pooled encoder (its error path), so a pooled
// encoder does not keep a decoded tree's key, and the block of text it was
// carved from, alive until the pool is emptied.
func TestMarshalErrorDoesNotPinTheTree(t *testing.T) {
	tree := mustDecode(t, `{"resourceType":"Patient","contained":[{"resourceType":"Basic","notAnElement":{"alsoUnknown":1}}]}`)
	tree["contained"].([]any)[0].(map[string]any)["notAnElement"].(map[string]any)["alsoUnknown"] = make(chan int)
	for try := 0; try < 100; try++ {
		if _, err := Marshal(tree); err == nil || !strings.Contains(err.Error(), "Patient.contained[0].notAnElement.alsoUnknown:") {
			t.Fatalf("Marshal error %v", err)
		}
		e := encPool.Get().(*encoder)
		if cap(e.errPath) == 0 {
			continue // a fresh encoder (the pool may drop one under -race): try again
		}
		for _, s := range e.errPath[:cap(e.errPath)] {
			if s.key != "" {
				t.Fatalf("the pooled encoder still holds the key %q of the tree it failed to write", s.key)
			}
		}
		encPool.Put(e)
		return
	}
	t.Skip("the pool never handed back the encoder that failed")
}
