package recognition

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/internal/sharedtest"
	"github.com/xietong/xietong/store"
)

func TestDefaultCatalogue(t *testing.T) {
	c := Default()
	if len(c.Programmes) != 2 || len(c.Programmes[0].Items) != 51 || len(c.Programmes[1].Items) != 12 {
		t.Fatalf("default catalogue: %d programmes", len(c.Programmes))
	}
	// Synthea's codes (marked † in the regional facts) are covered.
	s := newState()
	for _, r := range c.Resources() {
		switch r["resourceType"] {
		case "PlanDefinition":
			s.rawProg[r["id"].(string)] = parseProgramme(r)
		case "ActivityDefinition":
			it := parseItem(r)
			if it == nil {
				t.Fatalf("item %v does not parse back", r["id"])
			}
			s.rawItem[r["id"].(string)] = it
		}
	}
	s.rebuild()
	for code, item := range map[string]string{"6298-4": "K", "2947-0": "Na", "38483-4": "Cre", "6299-2": "Urea", "4548-4": "HbA1c", "18262-6": "LDL-C", "24627-2": "CT-CHEST", "1975-2": "TBIL"} {
		its := s.byCode["http://loinc.org|"+code]
		if len(its) != 1 || its[0].Code != item {
			t.Errorf("LOINC %s covers %v, want item %s", code, its, item)
		}
	}
	if k := s.byCode["K"][0]; k.WindowDays != 7 || !k.EQA || len(k.Codes) != 3 || k.Price != 5 {
		t.Errorf("K round trip: %+v", k)
	}
}

func TestParseCatalogueErrors(t *testing.T) {
	for name, c := range map[string]struct{ data, format, want string }{
		"unknown field":   {`{"programmes":[],"x":1}`, "json", "unknown field"},
		"bad item code":   {`{"programmes":[{"code":"p","name":"P","items":[{"code":"β","name":"b","category":"c","codes":["http://loinc.org|1"],"windowDays":1}]}]}`, "json", "item code"},
		"bare code":       {`{"programmes":[{"code":"p","name":"P","items":[{"code":"b","name":"b","category":"c","codes":["2823-3"],"windowDays":1}]}]}`, "json", "system|code"},
		"no window":       {`{"programmes":[{"code":"p","name":"P","items":[{"code":"b","name":"b","category":"c","codes":["http://loinc.org|1"]}]}]}`, "json", "windowDays"},
		"csv header":      {"programme,item\n", "csv", "header"},
		"csv window":      {csvHeader + "\np,P,K,钾,Potassium,biochemistry,http://loinc.org|6298-4,serum,seven,5,,true\n", "csv", "windowDays"},
		"format":          {"", "xml", "format"},
		"member no date":  {`{"programmes":[],"members":[{"programme":"p","organization":"o"}]}`, "json", "from date"},
		"member reversed": {`{"programmes":[],"members":[{"programme":"p","organization":"o","from":"2026-01-02T00:00:00Z","to":"2026-01-01T00:00:00Z"}]}`, "json", "ends before"},
	} {
		_, err := ParseCatalogue([]byte(c.data), c.format)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one with %q", name, err, c.want)
		}
	}
	c, err := ParseCatalogue([]byte(csvHeader+"\np,P,K,钾,Potassium,biochemistry,http://loinc.org|6298-4 https://x.example/local|K,serum,7,5,,true\n"), "csv")
	if err != nil || len(c.Programmes[0].Items[0].Codes) != 2 {
		t.Fatalf("CSV: %v %+v", err, c)
	}
}

func TestParseCode(t *testing.T) {
	for in, ok := range map[string]bool{"K": true, "http://loinc.org|6298-4": true, "6298-4": true, "http://loinc.org|": false, "|x": false, "a b": false, "": false, "loinc|1": false} {
		if _, err := ParseCode(in); (err == nil) != ok {
			t.Errorf("ParseCode(%q): %v", in, err)
		}
	}
}

func TestIssuerReason(t *testing.T) {
	d := func(s string) time.Time { t, _ := time.Parse("2006-01-02", s); return t }
	s := newState()
	s.rawProg["p"] = &Programme{Code: "p", Name: "P"}
	s.rawItem["i"] = &Item{Programme: "p", Code: "K", Codes: []string{"http://loinc.org|6298-4"}, WindowDays: 7, EQA: true, MinGrade: "2"}
	s.rawMember["m"] = Membership{Programme: "p", Organization: "a", From: d("2025-01-01"), To: d("2026-06-30")}
	s.rawEQA["e1"] = EQAResult{Organization: "a", Item: "K", Year: 2026, Date: d("2026-03-01"), Passed: true}
	s.rawEQA["e2"] = EQAResult{Organization: "a", Item: "K", Year: 2026, Date: d("2026-05-01"), Passed: false}
	s.orgs["a"] = orgInfo{Grade: "3A"}
	s.orgs["b"] = orgInfo{Grade: "1A"}
	s.rebuild()
	it := s.byCode["K"][0]
	for _, c := range []struct{ issuer, eff, at, want string }{
		{"a", "2026-04-01", "2026-04-30", ""},
		{"a", "2026-04-01", "2026-05-01", WhyEQAFailed},       // withdrawn from the failure date
		{"a", "2026-06-30", "2026-06-30", WhyEQAFailed},       // issued while withdrawn
		{"a", "2026-07-01", "2026-07-01", WhyIssuerNotMember}, // after leaving
		{"a", "2024-12-31", "2025-01-05", WhyIssuerNotMember}, // before joining
		{"a", "2025-02-01", "2025-02-05", WhyEQAMissing},      // no pass for 2025 or 2024 known then
		{"b", "2026-04-01", "2026-04-02", WhyIssuerNotMember},
		{"", "2026-04-01", "2026-04-02", WhyIssuerUnknown},
	} {
		if got := s.issuerReason(it, c.issuer, d(c.eff), d(c.at)); got != c.want {
			t.Errorf("%s on %s checked %s: %q, want %q", c.issuer, c.eff, c.at, got, c.want)
		}
	}
	s.rawMember["mb"] = Membership{Programme: "p", Organization: "b", From: d("2025-01-01")}
	s.rebuild()
	if got := s.issuerReason(it, "b", d("2026-04-01"), d("2026-04-02")); got != WhyIssuerGrade {
		t.Errorf("grade: %q", got)
	}
}

func TestNumberPlaceholders(t *testing.T) {
	if got := store.NumberPlaceholders("a = ? AND b IN (?, ?)"); got != "a = $1 AND b IN ($2, $3)" {
		t.Errorf("%s", got)
	}
}

func FuzzParseCatalogue(f *testing.F) {
	f.Add([]byte(`{"programmes":[{"code":"p","name":"P","items":[]}]}`), true)
	f.Add([]byte(csvHeader+"\np,P,K,钾,K,b,http://loinc.org|1,s,7,5,,true\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, json bool) {
		format := "csv"
		if json {
			format = "json"
		}
		c, err := ParseCatalogue(data, format)
		if err == nil {
			if err := c.Validate(); err != nil {
				t.Fatalf("parsed but invalid: %v", err)
			}
			_ = c.Resources()
		}
	})
}

// Every candidate LOINC code of the regional facts (the 京津冀 list's
// items) is covered by the default catalogue.
func TestDefaultCatalogueCoversTheFactsCodes(t *testing.T) {
	facts := string(sharedtest.ReadFile(t, sharedtest.Path(t, "domain", "REGIONAL-HEALTH-FACTS.md")))
	start, end := strings.Index(facts, "Candidate LOINC codes"), strings.Index(facts, "## 3.")
	if start < 0 || end < start {
		t.Fatal("the facts file has no list of candidate LOINC codes before section 3")
	}
	covered := map[string]bool{}
	for _, p := range Default().Programmes {
		for _, it := range p.Items {
			for _, c := range it.Codes {
				covered[c] = true
			}
		}
	}
	codes := regexp.MustCompile(`\b\d{3,6}-\d\b`).FindAllString(facts[start:end], -1)
	if len(codes) < 50 {
		t.Fatalf("found only %d codes in the facts file", len(codes))
	}
	for _, c := range codes {
		if !covered["http://loinc.org|"+c] {
			t.Errorf("LOINC %s of the regional facts is in no item of the default catalogue", c)
		}
	}
}
