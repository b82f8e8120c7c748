package fhirpath

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustJSON(t testing.TB, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

const testObservation = `{"resourceType":"Observation","id":"bp","status":"final",
 "code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
 "subject":{"reference":"Patient/123"},
 "effectiveDateTime":"2020-03-04T10:11:12+01:00",
 "valueString":"see components",
 "component":[
  {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120.0,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
  {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
  {"code":{"text":"position"},"valueCodeableConcept":{"text":"sitting"}}
 ],
 "contained":[{"resourceType":"Device","id":"cuff","status":"active"}],
 "device":{"reference":"#cuff"}}`

const testPatient = `{"resourceType":"Patient","id":"p1","active":true,
 "birthDate":"1974-12-25",
 "name":[{"use":"official","family":"Ωmega","given":["Ädam",null,"Jürgen"],"_given":[null,{"extension":[{"url":"http://example.org/x","valueString":"no value"}]},null]}],
 "_gender":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}}`

// render gives a compact, typed view of a result for table tests.
func render(c Collection) string {
	parts := make([]string, len(c))
	for i, v := range c {
		parts[i] = v.String()
	}
	return strings.Join(parts, " | ")
}

func TestEvaluate(t *testing.T) {
	obs := mustJSON(t, testObservation)
	pat := mustJSON(t, testPatient)
	tests := []struct {
		name  string
		input map[string]any
		expr  string
		want  string
	}{
		// navigation and types
		{"choice", obs, "Observation.value", "see components"},
		{"choice is", obs, "Observation.value is string", "true"},
		{"as on many items filters", obs, "(Observation.component.value as Quantity).value", "120.0 | 80"},
		{"as CodeableConcept", obs, "Observation.component.value as CodeableConcept", `{"text":"sitting"}`},
		{"ofType", obs, "component.value.ofType(Quantity).code", "mm[Hg] | mm[Hg]"},
		{"quantity compare across units", obs, "component.value.ofType(Quantity).where($this > 100 'mm[Hg]').value", "120.0"},
		{"type name", obs, "component[2].value.type().name", "CodeableConcept"},
		{"backbone type", obs, "component.first().type().name", "Observation.component"},
		{"resolve contained", obs, "device.resolve().status", "active"},
		{"resolve stub", obs, "subject.where(resolve() is Patient).reference", "Patient/123"},
		{"resource type filter", obs, "Patient.id", ""},
		{"%resource", obs, "component.select(%resource.id)", "bp | bp | bp"},
		{"dateTime keeps zone", obs, "effective.toString()", "2020-03-04T10:11:12+01:00"},
		{"dateTime compare across zones", obs, "effective = @2020-03-04T09:11:12Z", "true"},
		{"dateTime vs date precision", obs, "effective > @2020-03-04", ""},
		{"dateTime vs coarser date", obs, "effective > @2020-03-03", "true"},
		// primitives with extensions
		{"given with only an extension", pat, "name.given.count()", "3"},
		{"hasValue", pat, "name.given.select(hasValue())", "true | false | true"},
		{"extension on a primitive", pat, "name.given[1].extension.value", "no value"},
		{"primitive with only an extension exists", pat, "gender.exists() and gender.hasValue().not()", "true"},
		{"extension()", pat, "gender.extension('http://hl7.org/fhir/StructureDefinition/data-absent-reason').value", "unknown"},
		{"getValue", pat, "name.given.first().getValue().type().name", "String"},
		{"getValue of many", pat, "name.given.getValue()", ""},
		// strings on unicode
		{"length counts characters", pat, "name.family.length()", "5"},
		{"substring", pat, "name.given.first().substring(1, 2)", "da"},
		{"upper", pat, "name.given.last().upper()", "JÜRGEN"},
		{"indexOf", pat, "name.given.last().indexOf('gen')", "3"},
		{"toChars", pat, "name.family.toChars().first()", "Ω"},
		// decimals and quantities
		{"decimal addition keeps precision", nil, "1.10 + 2.205", "3.305"},
		{"decimal equality ignores trailing zeros", nil, "1.50 = 1.5", "true"},
		{"decimal equivalence rounds", nil, "1.50 ~ 1.5049", "true"},
		{"integer division", nil, "7 div 2", "3"},
		{"decimal division", nil, "7 / 2", "3.5"},
		{"division by zero", nil, "7 / 0", ""},
		{"ucum conversion", nil, "1 '[lb_av]' > 453 'g'", "true"},
		{"ucum incomparable", nil, "1 'kg' = 1 'm'", ""},
		{"calendar vs ucum week", nil, "2 weeks = 14 'd'", "true"},
		{"calendar year vs ucum a", nil, "1 year = 1 'a'", ""},
		// dates
		{"add months clamps", nil, "@2020-01-31 + 1 month", "2020-02-29"},
		{"subtract years", nil, "@2020-02-29 - 1 year", "2019-02-28"},
		{"precision kept", nil, "(@2020-01 + 40 days).toString()", "2020-02"},
		{"time arithmetic wraps", nil, "(@T23:30 + 45 minutes).toString()", "00:15"},
		{"ms equal seconds", nil, "@2020-01-01T10:00:00 = @2020-01-01T10:00:00.000", "true"},
		{"tz vs no tz", nil, "@2020-01-01T10:00:00Z = @2020-01-01T10:00:00", ""},
		{"tz vs no tz, decided", nil, "@2020-01-01T10:00:00Z < @2020-01-03T10:00:00", "true"},
		// logic
		{"and with empty", nil, "true and {}", ""},
		{"or short circuit", nil, "true or (1|2).single()", "true"},
		{"implies empty", nil, "{} implies true", "true"},
		{"equality of collections", nil, "(1|2|3) = (1|2|3)", "true"},
		{"equivalence ignores order", nil, "(1|2|3) ~ (3|2|1)", "true"},
		{"string equivalence", nil, "'Hello  World' ~ 'hello world'", "true"},
		{"union dedups", nil, "(1|1|2.0|2).count()", "2"},
		{"combine keeps", nil, "(1|2).combine(1).count()", "3"},
		{"environment", nil, "%`vs-administrative-gender`", "http://hl7.org/fhir/ValueSet/administrative-gender"},
		{"sort desc", nil, "('b'|'c'|'a').sort(-$this)", "c | b | a"},
		{"aggregate", nil, "(1|2|3|4).aggregate($total + $this, 0)", "10"},
		{"defineVariable", pat, "defineVariable('n', 3).select(%n * 2)", "6"},
		{"iif lazy", nil, "iif(true, 1, (1|2).single())", "1"},
		{"repeat", obs, "repeat(component).count()", "3"},
		{"yearOf", pat, "birthDate.yearOf()", "1974"},
		{"dayOf", pat, "birthDate.dayOf()", "25"},
		{"hourOf date", pat, "birthDate.hourOf()", ""},
		{"monthOf partial", nil, "@2012.monthOf()", ""},
		{"hourOf", obs, "effective.hourOf()", "10"},
		{"millisecondOf", nil, "@2012-01-01T10:11:12.345Z.millisecondOf()", "345"},
		{"timezoneOffsetOf", obs, "effective.timezoneOffsetOf()", "1"},
		{"timezoneOffsetOf half", nil, "@2012-01-01T10:11-05:30.timezoneOffsetOf()", "-5.5"},
		{"dateOf", obs, "effective.dateOf()", "2020-03-04"},
		{"timeOf", obs, "effective.timeOf()", "10:11:12"},
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Compile(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			var in any
			if tt.input != nil {
				in = tt.input
			}
			out, err := e.Evaluate(in, &EvalOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if got := render(out); got != tt.want {
				t.Errorf("%s\n got: %s\nwant: %s", tt.expr, got, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	pat := mustJSON(t, testPatient)
	compileErrs := []struct {
		expr string
		kind ErrorKind
		pos  string
	}{
		{"Patient.name.", SyntaxError, "1:14"},
		{"1 +\n  * 2", SyntaxError, "2:3"},
		{"'unterminated", SyntaxError, "1:1"},
		{"name.given.substring()", SemanticError, "1:12"},
		{"name.nosuch()", SemanticError, "1:6"},
		{"name.ofType(NoSuchType)", SemanticError, "1:13"},
		{"@2020-13-01", SyntaxError, "1:1"},
		{"@T10:00Z", SyntaxError, "1:1"},
	}
	for _, tt := range compileErrs {
		_, err := Compile(tt.expr)
		if !IsKind(err, tt.kind) {
			t.Errorf("Compile(%q) = %v, want a %v", tt.expr, err, tt.kind)
			continue
		}
		if !strings.Contains(err.Error(), " at "+tt.pos+":") {
			t.Errorf("Compile(%q) = %v, want position %s", tt.expr, err, tt.pos)
		}
	}
	execErrs := []string{
		"name.given.single()",
		"'a' - 'b'",
		"name.given + 1",
		"1 < 'a'",
		"(1|2).not()",
		"name.as(HumanName) | name.given.as(string)",
		"%undefined",
		"name.select(defineVariable('f', family)).select(%f)",
		"'x'.matches('(')",
		"conformsTo('http://example.org/unknown')",
	}
	for _, src := range execErrs {
		e, err := Compile(src)
		if err != nil {
			t.Errorf("Compile(%q): %v", src, err)
			continue
		}
		if _, err := e.Evaluate(pat, nil); !IsKind(err, ExecutionError) {
			t.Errorf("Evaluate(%q) = %v, want an execution error", src, err)
		}
	}
}

func TestStrict(t *testing.T) {
	pat := mustJSON(t, testPatient)
	for _, src := range []string{"name.given1", "Encounter.status", "Patient.valueQuantity"} {
		e, err := Compile(src, Strict())
		if err == nil {
			_, err = e.Evaluate(pat, nil)
		}
		if err == nil {
			t.Errorf("strict %q: no error", src)
		}
		if out, err := MustCompile(src).Evaluate(pat, nil); len(out) != 0 || err != nil && src != "Patient.valueQuantity" {
			t.Errorf("lenient %q: %v %v, want empty", src, out, err)
		}
	}
}

func TestStrictCompile(t *testing.T) {
	for _, src := range []string{
		"(Observation.value as Period).unit",
		"Patient.children().skip(1)",
		"Patient.descendants()[0]",
		"Patient.name.where(given1 = 'x')",
		"Observation.component.value.ofType(Quantity).display",
	} {
		if _, err := Compile(src, Strict()); !IsKind(err, SemanticError) {
			t.Errorf("Compile(%q, Strict()) = %v, want a semantic error", src, err)
		}
		if _, err := Compile(src); err != nil {
			t.Errorf("Compile(%q) = %v, want no error without Strict", src, err)
		}
	}
	for _, src := range []string{
		"(Observation.value as Quantity).unit",
		"Patient.name.where(use = 'official').given.first()",
		"Questionnaire.item.item.linkId",
		"Bundle.entry.resource.ofType(Patient).name",
		"Patient.children().count()",
	} {
		if _, err := Compile(src, Strict()); err != nil {
			t.Errorf("Compile(%q, Strict()) = %v", src, err)
		}
	}
}

func TestResolveInBundle(t *testing.T) {
	bundle := mustJSON(t, `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"a","name":[{"family":"X"}]}},
	 {"fullUrl":"urn:uuid:2","resource":{"resourceType":"Observation","status":"final","code":{"text":"t"},"subject":{"reference":"urn:uuid:1"}}}]}`)
	out, err := MustCompile("entry.resource.ofType(Observation).subject.resolve().name.family").Evaluate(bundle, nil)
	if err != nil || render(out) != "X" {
		t.Fatalf("got %v %v", render(out), err)
	}
	// evaluating an entry with the bundle as %rootResource
	obs := bundle["entry"].([]any)[1].(map[string]any)["resource"].(map[string]any)
	out, err = MustCompile("subject.where(resolve() is Patient).resolve().id").Evaluate(obs, &EvalOptions{RootResource: bundle})
	if err != nil || render(out) != "a" {
		t.Fatalf("got %v %v", render(out), err)
	}
}

// Compiled expressions are shared by goroutines (run with -race).
func TestConcurrentEvaluate(t *testing.T) {
	obs := mustJSON(t, testObservation)
	e := MustCompile("component.where(value.ofType(Quantity) > 90 'mm[Hg]').code.coding.code | effective.toString() | %resource.id")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				out, err := e.Evaluate(obs, nil)
				if err != nil || render(out) != "8480-6 | 2020-03-04T10:11:12+01:00 | bp" {
					t.Errorf("got %q %v", render(out), err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestTraceAndVariables(t *testing.T) {
	var traced []string
	opts := &EvalOptions{
		Variables: map[string]any{"limit": 2, "names": []any{"a", "b"}},
		Trace:     func(name string, c Collection) { traced = append(traced, name+"="+render(c)) },
	}
	out, err := MustCompile("%names.trace('n').count() = %limit").Evaluate(nil, opts)
	if err != nil || render(out) != "true" {
		t.Fatalf("got %v %v", render(out), err)
	}
	if strings.Join(traced, ";") != "n=a | b" {
		t.Errorf("trace: %v", traced)
	}
}

func TestNewValue(t *testing.T) {
	obs := mustJSON(t, testObservation)
	comp := obs["component"].([]any)[0]
	v, err := NewValue(comp, "Observation.component", nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := MustCompile("value.ofType(Quantity).value > 100 and code.coding.code = '8480-6'").Evaluate(v, nil)
	if err != nil || render(out) != "true" {
		t.Fatalf("got %v %v", render(out), err)
	}
	if _, err := NewValue(comp, "NoSuchType", nil); !IsKind(err, SemanticError) {
		t.Errorf("unknown type: %v", err)
	}
}

// Trees built by hand or decoded without UseNumber hold Go numbers.
func TestGoNumbers(t *testing.T) {
	obs := map[string]any{"resourceType": "Observation", "status": "final", "code": map[string]any{"text": "x"},
		"valueQuantity": map[string]any{"value": 72.5, "code": "kg", "system": "http://unitsofmeasure.org"},
		"component":     []any{map[string]any{"code": map[string]any{"text": "n"}, "valueInteger": 3}},
		"extension":     []any{map[string]any{"url": "u", "valueDecimal": float32(0.1)}}}
	for expr, want := range map[string]string{
		"value.value + 1":             "73.5",
		"value > 70000 'g'":           "true",
		"component.value * 2":         "6",
		"extension.value":             "0.1",
		"%n + 1.5":                    "3.5",
		"%f = 2.25":                   "true",
		"%list.count()":               "3",
		"value.value.type().name":     "decimal",
		"component.value.type().name": "integer",
	} {
		out, err := MustCompile(expr).Evaluate(obs, &EvalOptions{Variables: map[string]any{"n": 2, "f": 2.25, "list": []any{1, 2.5, "x"}}})
		if err != nil || render(out) != want {
			t.Errorf("%s: got %q %v, want %q", expr, render(out), err, want)
		}
	}
}

func TestDistinctLarge(t *testing.T) {
	// 5,000 distinct objects: item sets keep this linear (quadratic
	// comparison would take seconds); see also BenchmarkDistinct
	items := make([]any, 0, 5000)
	for i := 0; i < 5000; i++ {
		items = append(items, map[string]any{"code": strings.Repeat("x", i%7), "n": json.Number("1"), "i": json.Number(string(rune('0' + i%10)))})
	}
	out, err := MustCompile("%items.distinct().count() | (%items | %items).count() | %nums.distinct().count() | (1 | 1.0 | 1 '1' | 2).count()").Evaluate(nil, &EvalOptions{Variables: map[string]any{
		"items": items,
		"nums":  []any{1, 1.0, json.Number("1.00"), 2, "2", json.Number("3")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if render(out) != "70 | 4 | 2" {
		t.Errorf("got %s", render(out))
	}
}

// Evaluate keeps its input, a Value input and %resource in memory of the
// pooled evaluation context; a result that is one of them must be a copy,
// or the next evaluation would change it under the caller.
func TestResultsOutliveThePooledContext(t *testing.T) {
	a := map[string]any{"resourceType": "Patient", "id": "a"}
	b := map[string]any{"resourceType": "Patient", "id": "b"}
	idOf := func(c Collection) any {
		if len(c) != 1 {
			return c
		}
		return c[0].Interface().(map[string]any)["id"]
	}
	for _, tc := range []struct {
		expr      string
		input     func(map[string]any) any
		resourced bool
	}{
		{"$this", func(m map[string]any) any { return m }, false},
		{"$this", func(m map[string]any) any {
			v, err := NewValue(m, "Patient", nil)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}, false},
		{"%resource", func(map[string]any) any { return map[string]any{"resourceType": "Basic"} }, true},
	} {
		e := MustCompile(tc.expr)
		eval := func(m map[string]any) Collection {
			opts := &EvalOptions{}
			if tc.resourced {
				opts.Resource = m
			}
			out, err := e.Evaluate(tc.input(m), opts)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		first := eval(a)
		for range 8 { // the pool may hand out another context first
			eval(b)
		}
		if got := idOf(first); got != "a" {
			t.Errorf("%s: the first result now says %v, want a", tc.expr, got)
		}
	}
}
