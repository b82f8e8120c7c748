package search

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/store"
)

func micros(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMicro()
}

func TestDateRange(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi string
	}{
		{"2024", "2024-01-01T00:00:00Z", "2024-12-31T23:59:59.999999Z"},
		{"2024-02", "2024-02-01T00:00:00Z", "2024-02-29T23:59:59.999999Z"},
		{"2023-02-28", "2023-02-28T00:00:00Z", "2023-02-28T23:59:59.999999Z"},
		{"2024-03-05T10:20", "2024-03-05T10:20:00Z", "2024-03-05T10:20:59.999999Z"},
		{"2024-03-05T10:20:30+08:00", "2024-03-05T02:20:30Z", "2024-03-05T02:20:30.999999Z"},
		{"2024-03-05T10:20:30.5Z", "2024-03-05T10:20:30.5Z", "2024-03-05T10:20:30.599999Z"},
	}
	for _, tt := range tests {
		lo, hi, err := DateRange(tt.in, nil)
		if err != nil {
			t.Errorf("DateRange(%q): %v", tt.in, err)
			continue
		}
		if lo != micros(tt.lo) || hi != micros(tt.hi) {
			t.Errorf("DateRange(%q) = %v..%v, want %s..%s", tt.in, time.UnixMicro(lo).UTC(), time.UnixMicro(hi).UTC(), tt.lo, tt.hi)
		}
	}
	for _, bad := range []string{"", "24", "2024-13", "2023-02-29", "2024-1-05", "2024-03-05 10:20", "2024-03-05T25:00", "abcd", "2024-03-05T10:20+8"} {
		if _, _, err := DateRange(bad, time.UTC); err == nil {
			t.Errorf("DateRange(%q) accepted", bad)
		}
	}
}

func TestNumberRange(t *testing.T) {
	tests := []struct {
		in        string
		v, lo, hi float64
	}{
		{"100", 100, 99.5, 100.5},
		{"1.50", 1.5, 1.495, 1.505},
		{"1e2", 100, 50, 150},
		{"-2.5", -2.5, -2.55, -2.45},
	}
	for _, tt := range tests {
		v, lo, hi, err := NumberRange(tt.in)
		if err != nil || v != tt.v || !near(lo, tt.lo) || !near(hi, tt.hi) {
			t.Errorf("NumberRange(%q) = %v %v %v %v", tt.in, v, lo, hi, err)
		}
	}
	for _, bad := range []string{"", "x", "0x10", "1_000", "NaN", "Inf"} {
		if _, _, _, err := NumberRange(bad); err == nil {
			t.Errorf("NumberRange(%q) accepted", bad)
		}
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }

func TestNormalizeString(t *testing.T) {
	for in, want := range map[string]string{
		"  Élodie   MÜLLER ": "elodie muller",
		"张三":                 "张三",
		"O'Brien\tJr":        "o'brien jr",
		"ＢＥＩＪＩＮＧ　１２３":        "beijing 123",
	} {
		if got := NormalizeString(in); got != want {
			t.Errorf("NormalizeString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	parse := func(typ, q string, strict bool) (*Request, error) {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		return Parse(typ, v, Options{Strict: strict})
	}
	r, err := parse("Observation", "code=http://loinc.org|718-7,|abc,xyz&subject=Patient/1&date=ge2024-01&value-quantity=lt5.4|http://unitsofmeasure.org|g/dL&_count=10&_sort=-date", true)
	if err != nil {
		t.Fatal(err)
	}
	q := r.Query
	if q.Count != 10 || len(q.Sort) != 1 || !q.Sort[0].Desc || q.Sort[0].Param != "date" {
		t.Errorf("count/sort: %+v", q)
	}
	byParam := map[string]store.Clause{}
	for _, c := range q.Where {
		byParam[c[0].Param] = c
	}
	code := byParam["code"]
	if len(code) != 3 || code[0].System != "http://loinc.org" || code[0].Code != "718-7" || code[0].AnySystem ||
		code[1].System != "" || code[1].AnySystem || code[1].Code != "abc" || !code[2].AnySystem {
		t.Errorf("code clause: %+v", code)
	}
	if s := byParam["subject"][0]; s.TargetType != "Patient" || s.TargetID != "1" {
		t.Errorf("subject: %+v", s)
	}
	if d := byParam["date"][0]; d.Prefix != store.PrefixGe || d.DateLow != micros("2024-01-01T00:00:00Z") {
		t.Errorf("date: %+v", d)
	}
	if vq := byParam["value-quantity"][0]; vq.Prefix != store.PrefixLt || !vq.Canonical || vq.Code != "g/L" || vq.NumLow != 54 || vq.System != "http://unitsofmeasure.org" {
		t.Errorf("value-quantity: %+v", vq)
	}

	// Escaped commas are not OR separators.
	r, err = parse("Patient", `family=a\,b`, true)
	if err != nil || len(r.Query.Where[0]) != 1 || r.Query.Where[0][0].String != "a,b" {
		t.Errorf("escaped comma: %+v %v", r, err)
	}

	for _, tc := range []struct{ typ, q string }{
		{"Patient", "nonsense=1"},
		{"Patient", "birthdate=2024-13"},
		{"Patient", "gender:contains=x"},
		{"Patient", "_count=-1"},
		{"Patient", "general-practitioner=Observation/1"},
		{"Patient", "_sort=nonsense"},
		{"Patient", "_summary=maybe"},
		{"Patient", "organization.nonsense=x"},
		{"Patient", "gender.name=x"},
		{"Patient", "_has:Observation:nonsense:code=x"},
		{"Patient", "_has:Observation:patient"},
		{"Patient", "_include=Observation:nonsense"},
		{"Patient", "_include=Observation:patient:Device"},
		{"Patient", "general-practitioner:Observation.name=x"},
	} {
		_, err := parse(tc.typ, tc.q, true)
		oe := outcome.As(err)
		if oe == nil || oe.Status != 400 {
			t.Errorf("%s?%s: got %v, want a 400 OperationOutcome", tc.typ, tc.q, err)
		}
	}
	// Lenient handling ignores unknown parameters but still rejects bad values.
	if r, err := parse("Patient", "nonsense=1&family=x", false); err != nil || len(r.Ignored) != 1 || len(r.Query.Where) != 1 {
		t.Errorf("lenient: %+v %v", r, err)
	}
}

func TestIndexer(t *testing.T) {
	obs := map[string]any{
		"resourceType": "Observation", "id": "o1", "status": "final",
		"code":              map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "718-7", "display": "Hemoglobin"}}, "text": "Hb"},
		"subject":           map[string]any{"reference": "Patient/p1"},
		"effectiveDateTime": "2026-10-01",
		"valueQuantity":     map[string]any{"value": jsonNumber("13.5"), "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"},
	}
	x, err := NewIndexer(nil).Index("Observation", obs)
	if err != nil {
		t.Fatal(err)
	}
	has := func(ok bool, what string) {
		if !ok {
			t.Errorf("missing index entry: %s (index %+v)", what, x)
		}
	}
	found := func(f func() bool) bool { return f() }
	has(found(func() bool {
		for _, e := range x.Tokens {
			if e.Param == "code" && e.System == "http://loinc.org" && e.Code == "718-7" {
				return true
			}
		}
		return false
	}), "code token")
	has(found(func() bool {
		for _, e := range x.References {
			if e.Param == "patient" && e.TargetType == "Patient" && e.TargetID == "p1" {
				return true
			}
		}
		return false
	}), "patient reference (resolve() is Patient)")
	has(found(func() bool {
		for _, e := range x.Dates {
			if e.Param == "date" && e.Low == micros("2026-10-01T00:00:00Z") && e.High == micros("2026-10-01T23:59:59.999999Z") {
				return true
			}
		}
		return false
	}), "date range")
	has(found(func() bool {
		for _, e := range x.Quantities {
			if e.Param == "value-quantity" && e.Code == "g/dL" && e.Low == 13.5 && e.High == 13.5 {
				return true
			}
		}
		return false
	}), "value-quantity")
	has(found(func() bool {
		for _, e := range x.Tokens {
			if e.Param == "status" && e.Code == "final" {
				return true
			}
		}
		return false
	}), "status")
}

func jsonNumber(s string) any { return json.Number(s) }

func TestParseChainsAndIncludes(t *testing.T) {
	v, _ := url.ParseQuery("subject:Patient.organization.name=acme,globex&_include=Observation:patient&_revinclude:iterate=Provenance:target")
	r, err := Parse("Observation", v, Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	v, _ = url.ParseQuery("_has:Observation:patient:code=718-7")
	rp, err := Parse("Patient", v, Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	r.Query.Where = append(r.Query.Where, rp.Query.Where...)
	var chain, has *store.Predicate
	for _, c := range r.Query.Where {
		if c[0].Chain != nil {
			chain = &c[0]
		}
		if c[0].Has != nil {
			has = &c[0]
		}
	}
	if chain == nil || chain.Param != "subject" || len(chain.Chain.Types) != 1 || chain.Chain.Types[0] != "Patient" {
		t.Fatalf("chain: %+v", chain)
	}
	inner := chain.Chain.Where[0][0]
	if inner.Param != "organization" || inner.Chain == nil || inner.Chain.Types[0] != "Organization" {
		t.Fatalf("second level: %+v", inner)
	}
	leaf := inner.Chain.Where[0]
	if len(leaf) != 2 || leaf[0].Param != "name" || leaf[0].String != "acme" || leaf[1].String != "globex" {
		t.Fatalf("leaf: %+v", leaf)
	}
	if has == nil || has.Has.Type != "Observation" || has.Has.Param != "patient" || has.Has.Where[0][0].Code != "718-7" {
		t.Fatalf("_has: %+v", has)
	}
	if len(r.Query.Include) != 1 || r.Query.Include[0].SourceType != "Observation" || r.Query.Include[0].Param != "patient" {
		t.Errorf("include: %+v", r.Query.Include)
	}
	if len(r.Query.RevInclude) != 1 || !r.Query.RevInclude[0].Iterate || r.Query.RevInclude[0].SourceType != "Provenance" {
		t.Errorf("revinclude: %+v", r.Query.RevInclude)
	}
	// Without a type modifier a chain searches every target type that knows
	// the chained parameter: Observation.subject.name reaches Patient and
	// Location (both have name), not Group or Device.
	v, _ = url.ParseQuery("subject.name=x")
	r, err = Parse("Observation", v, Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Query.Where[0][0].Chain.Types; !slices.Equal(got, []string{"Location", "Patient"}) && !slices.Equal(got, []string{"Patient", "Location"}) {
		t.Errorf("chain targets %v", got)
	}
}

func TestDateRangeInZone(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	lo, hi, err := DateRange("2026-01-02", shanghai)
	if err != nil || lo != micros("2026-01-01T16:00:00Z") || hi != micros("2026-01-02T15:59:59.999999Z") {
		t.Errorf("2026-01-02 in +08:00 = %v..%v, %v", time.UnixMicro(lo).UTC(), time.UnixMicro(hi).UTC(), err)
	}
	// An explicit zone wins over the server's.
	lo, _, _ = DateRange("2026-01-02T01:00:00Z", shanghai)
	if lo != micros("2026-01-02T01:00:00Z") {
		t.Errorf("explicit Z ignored: %v", time.UnixMicro(lo).UTC())
	}
	lo, _, _ = DateRange("2026-01-02T01:00:00", shanghai)
	if lo != micros("2026-01-01T17:00:00Z") {
		t.Errorf("zone-less dateTime: %v", time.UnixMicro(lo).UTC())
	}
}

// Parameters defined on Resource (_tag, _profile, _security, _source) are
// evaluated on every type: "Resource.meta.tag" matches a Patient.
func TestIndexerResourceLevelParams(t *testing.T) {
	p := map[string]any{"resourceType": "Patient", "meta": map[string]any{
		"tag":    []any{map[string]any{"system": "urn:t", "code": "vip"}},
		"source": "urn:his:1",
	}}
	x, err := NewIndexer(nil).Index("Patient", p)
	if err != nil {
		t.Fatal(err)
	}
	var tag, source bool
	for _, e := range x.Tokens {
		tag = tag || e.Param == "_tag" && e.System == "urn:t" && e.Code == "vip"
	}
	for _, e := range x.URIs {
		source = source || e.Param == "_source" && e.URI == "urn:his:1"
	}
	if !tag || !source {
		t.Errorf("_tag indexed: %v, _source indexed: %v (%+v)", tag, source, x)
	}
}
