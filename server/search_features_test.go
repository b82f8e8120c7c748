package server_test

import (
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
)

// searchIDs runs a search and returns the ids of its matches, sorted.
func searchIDs(t *testing.T, base, q string, headers ...string) []string {
	t.Helper()
	r := do(t, "GET", base+"/"+q, "", "", headers...).wantStatus(t, 200)
	var out []string
	for _, id := range ids(r, "match") {
		out = append(out, id[strings.Index(id, "/")+1:])
	}
	sort.Strings(out)
	return out
}

func post(t *testing.T, base, typ, body string) string {
	t.Helper()
	return do(t, "POST", base+"/"+typ, fj, body).wantStatus(t, 201).str("id")
}

func wantIDs(t *testing.T, base, q string, want ...string) {
	t.Helper()
	got := searchIDs(t, base, q)
	sort.Strings(want)
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("%s: got %v, want %v", q, got, want)
	}
}

func TestSearchComposite(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		// Blood pressure: two components; systolic 150 with diastolic 80,
		// and one with systolic 110 and diastolic 95.
		bp := func(sys, dia string) string {
			return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"component":[
			 {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":` + sys + `,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
			 {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":` + dia + `,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`
		}
		high := post(t, base, "Observation", bp("150", "80"))
		low := post(t, base, "Observation", bp("110", "95"))
		hb := post(t, base, "Observation", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]},"valueQuantity":{"value":13.5,"system":"http://unitsofmeasure.org","code":"g/dL"}}`)
		smoker := post(t, base, "Observation", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"72166-2"}]},"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"449868002"}]}}`)

		q := func(param, value string) string { return "Observation?" + param + "=" + url.QueryEscape(value) }
		wantIDs(t, base, q("component-code-value-quantity", "http://loinc.org|8480-6$gt140"), high)
		wantIDs(t, base, q("component-code-value-quantity", "http://loinc.org|8480-6$gt100"), high, low)
		// Both components exist on both resources; only the same
		// component's code and value together count.
		wantIDs(t, base, q("component-code-value-quantity", "http://loinc.org|8462-4$gt140"))
		wantIDs(t, base, q("component-code-value-quantity", "8462-4$ge90|http://unitsofmeasure.org|mm[Hg]"), low)
		wantIDs(t, base, q("component-code-value-quantity", "8462-4$ge90|http://unitsofmeasure.org|g/dL"))
		// OR with commas, AND with repetition.
		wantIDs(t, base, q("component-code-value-quantity", "8480-6$gt140,8462-4$gt90"), high, low)
		wantIDs(t, base, "Observation?component-code-value-quantity=8480-6%24gt140&component-code-value-quantity=8462-4%24gt90")
		wantIDs(t, base, q("code-value-quantity", "http://loinc.org|718-7$13.5"), hb)
		wantIDs(t, base, q("code-value-quantity", "718-7$lt13"))
		// combo: the observation's own code and value, or a component's.
		wantIDs(t, base, q("combo-code-value-quantity", "8480-6$gt140,718-7$gt13"), high, hb)
		wantIDs(t, base, q("code-value-concept", "72166-2$http://snomed.info/sct|449868002"), smoker)
		wantIDs(t, base, q("code-value-concept", "72166-2$http://snomed.info/sct|8517006"))
		wantIDs(t, base, "Observation?code-value-concept:missing=false", smoker)

		do(t, "GET", base+"/"+q("component-code-value-quantity", "8480-6"), "", "").wantStatus(t, 400)
		do(t, "GET", base+"/"+q("component-code-value-quantity", "8480-6$gt1$2"), "", "").wantStatus(t, 400)
		do(t, "GET", base+"/"+q("component-code-value-quantity", "8480-6$high"), "", "").wantStatus(t, 400)
		do(t, "GET", base+"/Observation?component-code-value-quantity:exact=8480-6%24gt1", "", "").wantStatus(t, 400)
	})
}

func TestSearchNear(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		loc := func(name, lat, lon string) string {
			return post(t, base, "Location", `{"resourceType":"Location","name":"`+name+`","position":{"latitude":`+lat+`,"longitude":`+lon+`}}`)
		}
		// Tongzhou district hospital, a clinic 3.6 km east, one in Shanghai
		// (about 1,070 km away), and one without a position.
		tz := loc("通州区人民医院", "39.9075", "116.6565")
		east := loc("社区卫生服务中心", "39.9075", "116.6985")
		sh := loc("上海", "31.2304", "121.4737")
		post(t, base, "Location", `{"resourceType":"Location","name":"无坐标"}`)

		wantIDs(t, base, "Location?near=39.9075|116.6565|1|km", tz)
		wantIDs(t, base, "Location?near=39.9075|116.6565|5|km", tz, east)
		wantIDs(t, base, "Location?near=39.9075|116.6565|3|km", tz)
		wantIDs(t, base, "Location?near=39.9075|116.6565|2.5|mi", tz, east) // 4.0 km
		wantIDs(t, base, "Location?near=39.9075|116.6565|2|mi", tz)         // 3.2 km
		wantIDs(t, base, "Location?near=39.9075|116.6565", tz, east)        // 10 km by default
		wantIDs(t, base, "Location?near=39.9075|116.6565|1100|km", tz, east, sh)
		wantIDs(t, base, "Location?near=39.9075|116.6565|1000|km", tz, east)
		wantIDs(t, base, "Location?near=31.2304|121.4737|1|km&name=上海", sh)
		wantIDs(t, base, "Location?near:missing=false", tz, east, sh)

		for _, bad := range []string{"91|0|1", "39.9|x", "39.9|116.6|5|parsec", "39.9", "39.9|116.6|-1"} {
			do(t, "GET", base+"/Location?near="+url.QueryEscape(bad), "", "").wantStatus(t, 400)
		}
	})
}

func TestSearchURIModifiers(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		vs := func(u string) string {
			return post(t, base, "ValueSet", `{"resourceType":"ValueSet","status":"active","url":"`+u+`"}`)
		}
		a := vs("http://acme.org/fhir/ValueSet/123")
		b := vs("http://acme.org/fhir/ValueSet/124")
		c := vs("http://acme.org/fhir")
		d := vs("http://other.org/fhir/ValueSet/123")
		wantIDs(t, base, "ValueSet?url=http://acme.org/fhir/ValueSet/123", a)
		wantIDs(t, base, "ValueSet?url:below=http://acme.org/fhir/", a, b)
		wantIDs(t, base, "ValueSet?url:below=http://acme.org/fhir", a, b, c)
		wantIDs(t, base, "ValueSet?url:above=http://acme.org/fhir/ValueSet/123/_history/5", a, c)
		wantIDs(t, base, "ValueSet?url:above=http://acme.org/fhir/ValueSet/999", c)
		_ = d
	})
}

func TestSearchTerminologyModifiers(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		const sys = "https://xietong.dev/fhir/CodeSystem/diagnosis"
		// A hierarchy: chronic (nested: diabetes (t1, t2), hypertension),
		// and acute with a child by the parent property.
		post(t, base, "CodeSystem", `{"resourceType":"CodeSystem","status":"active","content":"complete","url":"`+sys+`","concept":[
		 {"code":"chronic","concept":[{"code":"diabetes","concept":[{"code":"t1"},{"code":"t2"}]},{"code":"hypertension"}]},
		 {"code":"acute"},
		 {"code":"flu","property":[{"code":"parent","valueCode":"acute"}]}]}`)
		post(t, base, "ValueSet", `{"resourceType":"ValueSet","status":"active","url":"https://xietong.dev/fhir/ValueSet/metabolic","compose":{
		 "include":[{"system":"`+sys+`","filter":[{"property":"concept","op":"is-a","value":"diabetes"}]},
		            {"system":"http://loinc.org","concept":[{"code":"4548-4"}]}],
		 "exclude":[{"system":"`+sys+`","concept":[{"code":"t1"}]}]}}`)
		post(t, base, "ValueSet", `{"resourceType":"ValueSet","status":"active","url":"https://xietong.dev/fhir/ValueSet/all-diagnoses","compose":{"include":[{"system":"`+sys+`"}]}}`)
		post(t, base, "ValueSet", `{"resourceType":"ValueSet","status":"active","url":"https://xietong.dev/fhir/ValueSet/imported","compose":{"include":[{"valueSet":["https://xietong.dev/fhir/ValueSet/metabolic"]}]}}`)
		cond := func(code string) string {
			return post(t, base, "Condition", `{"resourceType":"Condition","subject":{"reference":"Patient/x"},"code":{"coding":[{"system":"`+sys+`","code":"`+code+`"}]}}`)
		}
		t1, t2, ht, flu := cond("t1"), cond("t2"), cond("hypertension"), cond("flu")
		other := post(t, base, "Condition", `{"resourceType":"Condition","subject":{"reference":"Patient/x"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]}}`)

		wantIDs(t, base, "Condition?code:below="+sys+"|chronic", t1, t2, ht)
		wantIDs(t, base, "Condition?code:below="+sys+"|diabetes", t1, t2)
		wantIDs(t, base, "Condition?code:below="+sys+"|acute", flu)
		wantIDs(t, base, "Condition?code:above="+sys+"|t1", t1) // t1 itself: no condition is coded with its ancestors
		post(t, base, "Condition", `{"resourceType":"Condition","subject":{"reference":"Patient/y"},"code":{"coding":[{"system":"`+sys+`","code":"chronic"}]}}`)
		if got := searchIDs(t, base, "Condition?code:above="+sys+"|t1"); len(got) != 2 {
			t.Errorf("code:above t1: %v, want the t1 and the chronic conditions", got)
		}
		wantIDs(t, base, "Condition?code:in=https://xietong.dev/fhir/ValueSet/metabolic", t2)
		wantIDs(t, base, "Condition?code:in=https://xietong.dev/fhir/ValueSet/imported", t2)
		wantIDs(t, base, "Condition?code:in=https://xietong.dev/fhir/ValueSet/metabolic&subject=Patient/x", t2)
		if got := searchIDs(t, base, "Condition?code:in=https://xietong.dev/fhir/ValueSet/all-diagnoses"); len(got) != 5 {
			t.Errorf(":in a whole code system: %v", got)
		}
		wantIDs(t, base, "Condition?subject=Patient/x&code:not-in=https://xietong.dev/fhir/ValueSet/all-diagnoses", other)
		wantIDs(t, base, "Condition?subject=Patient/x&code:not-in=https://xietong.dev/fhir/ValueSet/metabolic", t1, ht, flu, other)

		do(t, "GET", base+"/Condition?code:in=https://nowhere.example/ValueSet/x", "", "").wantStatus(t, 400)
		do(t, "GET", base+"/Condition?code:below=http://snomed.info/sct|404684003", "", "").wantStatus(t, 400)
		do(t, "GET", base+"/Condition?code:below=chronic", "", "").wantStatus(t, 400)
	})
}

func TestSearchUnsupportedSpecials(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		post(t, base, "Patient", `{"resourceType":"Patient","gender":"male"}`)
		for _, p := range []string{"_text=x", "_content=x", "_filter=name%20eq%20x", "_list=1"} {
			e := do(t, "GET", base+"/Patient?"+p, "", "", "Prefer", "handling=strict").wantStatus(t, 400)
			if name, _, _ := strings.Cut(p, "="); !strings.Contains(e.diagnostics(), name) {
				t.Errorf("%s under strict: %s", p, e.diagnostics())
			}
			// The EMPI's master of the Patient is a Patient too: leave it out.
			if got := searchIDs(t, base, "Patient?gender=male&_tag:not="+masterTag+"&"+p, "Prefer", "handling=lenient"); len(got) != 1 {
				t.Errorf("%s under lenient: %v", p, got)
			}
		}
		// The CapabilityStatement lists what is supported, and only that.
		cs := do(t, "GET", base+"/metadata", "", "").wantStatus(t, 200)
		body := string(cs.body)
		for _, want := range []string{`"component-code-value-quantity"`, `"near"`} {
			if !strings.Contains(body, want) {
				t.Errorf("CapabilityStatement lacks %s", want)
			}
		}
		if strings.Contains(body, `"name":"_text"`) || strings.Contains(body, `"name":"_content"`) {
			t.Error("CapabilityStatement lists _text or _content")
		}
	})
}

func TestEverythingDatesAndAllPatients(t *testing.T) {
	eachStore(t, func(t *testing.T, base string) {
		zhang, li, org := loadClinic(t, base)
		// Observations of zhang: 2026-10-01 and 2026-11-01; of li: 2026-09-15.
		// The EMPI's master Patients link to their sources, so they are in
		// the sources' compartments: these cases leave them out.
		isMaster := map[string]bool{}
		for _, id := range searchIDs(t, base, "Patient?_tag="+masterTag+"&_count=100") {
			isMaster["Patient/"+id] = true
		}
		if len(isMaster) != 2 {
			t.Fatalf("masters of the two patients: %v", isMaster)
		}
		noMasters := func(in []string) (out []string) {
			for _, id := range in {
				if !isMaster[id] {
					out = append(out, id)
				}
			}
			return out
		}
		every := func(q string) (matches, included []string) {
			t.Helper()
			r := do(t, "GET", base+"/"+q, "", "").wantStatus(t, 200)
			return noMasters(ids(r, "match")), ids(r, "include")
		}
		m, _ := every("Patient/" + zhang + "/$everything?start=2026-10-15")
		if len(m) != 2 || m[0] != "Patient/"+zhang {
			t.Errorf("start=2026-10-15: %v, want the patient and the November observation", m)
		}
		m, _ = every("Patient/" + zhang + "/$everything?start=2026-10&end=2026-10")
		if len(m) != 2 {
			t.Errorf("start=end=2026-10: %v", m)
		}
		m, _ = every("Patient/" + zhang + "/$everything?end=2026-09-30")
		if len(m) != 1 {
			t.Errorf("end=2026-09-30: %v, want the patient only", m)
		}
		m, _ = every("Patient/" + zhang + "/$everything?start=2026-01-01&end=2026-12-31")
		if len(m) != 3 {
			t.Errorf("start..end covering all: %v", m)
		}
		// Type level: every patient and everything in their compartments,
		// paged without repeats.
		m, inc := every("Patient/$everything")
		if len(m) != 5 || !slices.Contains(m, "Patient/"+li) || !slices.Contains(m, "Patient/"+zhang) || len(inc) != 1 || inc[0] != "Organization/"+org {
			t.Errorf("Patient/$everything: matches %v, included %v", m, inc)
		}
		seen := map[string]bool{}
		next := base + "/Patient/$everything?_count=2"
		for pages := 0; next != ""; pages++ {
			if pages > 10 {
				t.Fatal("too many pages")
			}
			r := do(t, "GET", next, "", "").wantStatus(t, 200)
			for _, id := range noMasters(ids(r, "match")) {
				if seen[id] {
					t.Errorf("paging repeated %s", id)
				}
				seen[id] = true
			}
			next = ""
			links, _ := r.json["link"].([]any)
			for _, l := range links {
				if lm := l.(map[string]any); lm["relation"] == "next" {
					next = lm["url"].(string)
				}
			}
		}
		if len(seen) != 5 {
			t.Errorf("paged Patient/$everything saw %d, want 5", len(seen))
		}
		m, _ = every("Patient/$everything?start=2026-10-15&_type=Observation")
		if len(m) != 1 {
			t.Errorf("Patient/$everything?start&_type: %v", m)
		}
	})
}
