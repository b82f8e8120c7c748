package demo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/demo"
	"github.com/xietong/xietong/fhir/validate"
	"github.com/xietong/xietong/internal/cputime"
	"github.com/xietong/xietong/server"
)

type obj = map[string]any

// region is a generated region held in memory for inspection.
type region struct {
	bundles []obj
	byType  map[string][]obj
	byRef   map[string]obj // "Type/id" → resource
	dups    []obj          // near-duplicate Patients (demo-dup-*)
}

var small *region

func smallRegion(t testing.TB) *region {
	t.Helper()
	if small == nil {
		small = generate(t, demo.Small())
	}
	return small
}

func generate(t testing.TB, cfg demo.Config) *region {
	t.Helper()
	g := &region{byType: map[string][]obj{}, byRef: map[string]obj{}}
	err := demo.Generate(cfg, func(b map[string]any) error {
		g.bundles = append(g.bundles, b)
		for _, e := range b["entry"].([]any) {
			res := e.(obj)["resource"].(obj)
			typ := res["resourceType"].(string)
			if typ == "Patient" && strings.HasPrefix(res["id"].(string), "demo-dup-") {
				g.dups = append(g.dups, res) // the near-duplicates, tested on their own
			} else {
				g.byType[typ] = append(g.byType[typ], res)
			}
			key := typ + "/" + res["id"].(string)
			if _, dup := g.byRef[key]; dup {
				return fmt.Errorf("duplicate resource %s", key)
			}
			g.byRef[key] = res
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func digest(t *testing.T, cfg demo.Config) [32]byte {
	t.Helper()
	h := sha256.New()
	err := demo.Generate(cfg, func(b map[string]any) error {
		data, err := demo.MarshalBundle(b)
		h.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	cfg := demo.Small()
	a, b := digest(t, cfg), digest(t, cfg)
	if a != b {
		t.Fatal("two runs with the same seed differ")
	}
	cfg.Seed++
	if digest(t, cfg) == a {
		t.Fatal("another seed gives the same region")
	}
}

// Groups of patients are generated in parallel: the output must not
// depend on how many run at once.
func TestDeterministicInParallel(t *testing.T) {
	cfg := demo.Small()
	cfg.Patients = 600 // three groups
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	one := digest(t, cfg)
	runtime.GOMAXPROCS(4)
	if digest(t, cfg) != one {
		t.Fatal("the region depends on GOMAXPROCS")
	}
}

// A patient is the same whatever the size of the region, so a small
// region is a prefix of a large one.
func TestPatientsIndependentOfSize(t *testing.T) {
	first := func(n int) string {
		cfg := demo.Small()
		cfg.Patients = n
		var out []byte
		demo.Generate(cfg, func(b map[string]any) error {
			if out == nil && strings.HasPrefix(b["id"].(string), "demo-patients-") {
				out, _ = demo.MarshalBundle(obj{"entry": b["entry"].([]any)[:10]})
			}
			return nil
		})
		return string(out)
	}
	if first(10) != first(600) {
		t.Error("the first ten patients differ between a region of 10 and of 600")
	}
}

func TestBundles(t *testing.T) {
	g := smallRegion(t)
	names := map[string]bool{}
	for i, b := range g.bundles {
		if b["type"] != "transaction" {
			t.Errorf("bundle %d: type %v", i, b["type"])
		}
		entries := b["entry"].([]any)
		if n := len(entries); n == 0 || n > demo.MaxEntries {
			t.Errorf("bundle %v: %d entries", b["id"], n)
		}
		for _, e := range entries {
			e := e.(obj)
			res := e["resource"].(obj)
			url := res["resourceType"].(string) + "/" + res["id"].(string)
			req := e["request"].(obj)
			if req["method"] != "PUT" || req["url"] != url || !strings.HasPrefix(e["fullUrl"].(string), "urn:uuid:") {
				t.Fatalf("entry %s: request %v, fullUrl %v", url, req, e["fullUrl"])
			}
			if !strings.HasPrefix(res["id"].(string), "demo-") {
				t.Errorf("%s: ids of the demo start with demo-", url)
			}
		}
		names[demo.BundleFileName(i+1, b)] = true
	}
	for _, want := range []string{"0001-directory-0001.json", "0004-practitioners-0001.json", "0005-patients-0001.json", "0006-results-0001.json"} {
		if !names[want] {
			t.Errorf("no bundle file %s among %v", want, names)
		}
	}
}

func TestValid(t *testing.T) {
	g := smallRegion(t)
	v := validate.New()
	for _, b := range g.bundles {
		issues := v.Resource(b)
		if validate.HasErrors(issues) {
			for i, is := range issues {
				if i == 10 {
					break
				}
				t.Errorf("%v: %s", b["id"], is)
			}
		}
	}
}

// walkRefs calls fn for every Reference.reference in v.
func walkRefs(v any, fn func(string)) {
	switch x := v.(type) {
	case obj:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "reference" {
				fn(s)
				continue
			}
			walkRefs(e, fn)
		}
	case []any:
		for _, e := range x {
			walkRefs(e, fn)
		}
	}
}

func TestReferencesResolve(t *testing.T) {
	g := smallRegion(t)
	n := 0
	for key, res := range g.byRef {
		walkRefs(res, func(ref string) {
			n++
			if _, ok := g.byRef[ref]; !ok {
				t.Errorf("%s: reference %s does not resolve in the region", key, ref)
			}
		})
	}
	if n < 10000 {
		t.Errorf("only %d references", n)
	}
}

var idWeights = []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// gb11643 checks an ID number independently of the package's own code.
func gb11643(s string) bool {
	if len(s) != 18 {
		return false
	}
	sum := 0
	for i, w := range idWeights {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		sum += int(s[i]-'0') * w
	}
	if _, err := time.Parse("20060102", s[6:14]); err != nil {
		return false
	}
	return s[17] == "10X98765432"[sum%11]
}

func identifiers(res obj, system string) []string {
	var out []string
	ids, _ := res["identifier"].([]any)
	for _, x := range ids {
		x := x.(obj)
		if x["system"] == system {
			out = append(out, x["value"].(string))
		}
	}
	return out
}

func TestPeople(t *testing.T) {
	g := smallRegion(t)
	const residentID = "https://xietong.dev/fhir/sid/resident-id"
	ehcs := map[string]bool{}
	for _, typ := range []string{"Patient", "Practitioner"} {
		for _, res := range g.byType[typ] {
			ids := identifiers(res, residentID)
			if len(ids) != 1 || !gb11643(ids[0]) {
				t.Fatalf("%s/%s: resident ID %v fails GB 11643", typ, res["id"], ids)
			}
			id := ids[0]
			if want := map[bool]string{true: "male", false: "female"}[(id[16]-'0')%2 == 1]; res["gender"] != want {
				t.Errorf("%s/%s: gender %v, ID says %s", typ, res["id"], res["gender"], want)
			}
			if bd := strings.ReplaceAll(res["birthDate"].(string), "-", ""); bd != id[6:14] {
				t.Errorf("%s/%s: birthDate %v, ID says %s", typ, res["id"], res["birthDate"], id[6:14])
			}
			name := res["name"].([]any)[0].(obj)
			given := name["given"].([]any)[0].(string)
			if n := len([]rune(given)); n < 1 || n > 2 || name["text"] != name["family"].(string)+given {
				t.Errorf("%s/%s: name %v", typ, res["id"], name)
			}
		}
	}
	for _, p := range g.byType["Patient"] {
		// The card is the person's: the loader puts it on the master.
		if e := identifiers(p, "https://xietong.dev/fhir/sid/ehc"); len(e) != 0 {
			t.Errorf("Patient/%s: a source record carries e-health-card ids %v", p["id"], e)
		}
		card := demo.CardID(demo.Small().Seed, identifiers(p, residentID)[0])
		if len(card) != 64 || ehcs[card] {
			t.Errorf("Patient/%s: e-health-card id %q (64 hex characters, one per person)", p["id"], card)
		}
		ehcs[card] = true
		telecom, _ := p["telecom"].([]any)
		if telecom == nil { // a child: the guardian's phone
			telecom = p["contact"].([]any)[0].(obj)["telecom"].([]any)
		}
		phone := telecom[0].(obj)["value"].(string)
		if len(phone) != 11 || phone[0] != '1' {
			t.Errorf("Patient/%s: phone %s", p["id"], phone)
		}
		addr := p["address"].([]any)[0].(obj)
		code := addr["extension"].([]any)[0].(obj)["valueCoding"].(obj)["code"].(string)
		if !slices.Contains([]string{"110112", "120114", "131002", "131003", "131082", "131028", "131024"}, code) {
			t.Errorf("Patient/%s: address division %s", p["id"], code)
		}
		// One MRN per institution seen, in that institution's system.
		mrns := 0
		for _, x := range p["identifier"].([]any) {
			x := x.(obj)
			if sys := x["system"].(string); strings.HasPrefix(sys, "https://xietong.dev/fhir/sid/mrn/") {
				mrns++
				org := x["assigner"].(obj)["reference"].(string)
				code := identifiers(g.byRef[org], "https://xietong.dev/fhir/sid/institution-code")[0]
				if !strings.HasSuffix(sys, "/"+code) {
					t.Errorf("Patient/%s: MRN system %s assigned by %s (%s)", p["id"], sys, org, code)
				}
			}
		}
		if mrns < 2 {
			t.Errorf("Patient/%s: %d MRNs", p["id"], mrns)
		}
	}
}

func codeIn(res obj, field, system string) []string {
	var out []string
	var visit func(v any)
	visit = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				visit(e)
			}
		case obj:
			if cs, ok := x["coding"].([]any); ok {
				for _, c := range cs {
					if c.(obj)["system"] == system {
						out = append(out, c.(obj)["code"].(string))
					}
				}
			}
		}
	}
	visit(res[field])
	return out
}

func TestDirectory(t *testing.T) {
	g := smallRegion(t)
	const kindSys = "https://xietong.dev/fhir/CodeSystem/institution-kind"
	kinds := map[string]int{}
	cdcByArea := map[string]int{}
	institutions := 0
	for _, o := range g.byType["Organization"] {
		k := codeIn(o, "type", kindSys)
		if len(k) == 0 {
			continue
		}
		institutions++
		kinds[k[0]]++
		usccs := identifiers(o, "https://xietong.dev/fhir/sid/uscc")
		if len(usccs) != 1 || len(usccs[0]) != 18 {
			t.Errorf("Organization/%s: USCC %v", o["id"], usccs)
		}
		if k[0] == "cdc" {
			cdcByArea[o["address"].([]any)[0].(obj)["city"].(string)]++
		}
	}
	t.Logf("institutions %d by kind %v", institutions, kinds)
	if institutions < 35 || institutions > 45 {
		t.Errorf("%d institutions, want about 40", institutions)
	}
	for _, k := range []string{"general-hospital", "tcm-hospital", "community-health-centre", "township-health-centre", "cdc", "elderly-care"} {
		if kinds[k] < 2 {
			t.Errorf("%d institutions of kind %s", kinds[k], k)
		}
	}
	if kinds["independent-lab"] != 1 {
		t.Errorf("%d independent labs, want 1", kinds["independent-lab"])
	}
	for _, city := range []string{"北京市", "天津市", "廊坊市"} {
		if cdcByArea[city] == 0 {
			t.Errorf("no CDC in %s", city)
		}
	}
	coops := map[string]int{}
	for _, o := range g.byType["Organization"] {
		for _, k := range codeIn(o, "type", "https://xietong.dev/fhir/CodeSystem/cooperation-kind") {
			coops[k]++
		}
	}
	for _, k := range []string{"medical-consortium", "county-medical-community", "specialty-alliance", "elderly-care-alliance", "pairing", "trusteeship"} {
		if coops[k] == 0 {
			t.Errorf("no cooperation of kind %s (have %v)", k, coops)
		}
	}
	roles := map[string]int{}
	for _, a := range g.byType["OrganizationAffiliation"] {
		for _, c := range codeIn(a, "code", "https://xietong.dev/fhir/CodeSystem/affiliation-role") {
			roles[c]++
		}
		if a["period"].(obj)["start"] == nil {
			t.Errorf("OrganizationAffiliation/%s has no period start", a["id"])
		}
	}
	for _, r := range []string{"lead", "member", "supporting", "supported"} {
		if roles[r] == 0 {
			t.Errorf("no affiliation with role %s", r)
		}
	}
	// Departments belong to their hospital; locations have coordinates
	// near the region (39.2–40.2 N, 116.4–117.4 E).
	for _, o := range g.byType["Organization"] {
		if len(codeIn(o, "type", "http://terminology.hl7.org/CodeSystem/organization-type")) > 0 && codeIn(o, "type", "http://terminology.hl7.org/CodeSystem/organization-type")[0] == "dept" && o["partOf"] == nil {
			t.Errorf("department %s has no partOf", o["id"])
		}
	}
	for _, l := range g.byType["Location"] {
		pos := l["position"].(obj)
		lat, _ := pos["latitude"].(interface{ Float64() (float64, error) }).Float64()
		lon, _ := pos["longitude"].(interface{ Float64() (float64, error) }).Float64()
		if lat < 39.2 || lat > 40.2 || lon < 116.4 || lon > 117.4 {
			t.Errorf("Location/%s at %v,%v", l["id"], lat, lon)
		}
	}
	tcm := 0
	for _, s := range g.byType["HealthcareService"] {
		if slices.Contains(codeIn(s, "category", "https://xietong.dev/fhir/CodeSystem/service-kind"), "tcm-clinic") {
			tcm++
		}
	}
	if tcm < 10 {
		t.Errorf("%d TCM clinics", tcm)
	}
}

func TestPractitioners(t *testing.T) {
	g := smallRegion(t)
	if n := len(g.byType["Practitioner"]); n != demo.Small().Practitioners {
		t.Errorf("%d practitioners, want %d", n, demo.Small().Practitioners)
	}
	cities := map[string]map[string]bool{} // practitioner → cities of practice
	for _, r := range g.byType["PractitionerRole"] {
		p := r["practitioner"].(obj)["reference"].(string)
		org := g.byRef[r["organization"].(obj)["reference"].(string)]
		city := org["address"].([]any)[0].(obj)["city"].(string)
		if cities[p] == nil {
			cities[p] = map[string]bool{}
		}
		cities[p][city] = true
	}
	multi := 0
	for _, cs := range cities {
		if len(cs) > 1 {
			multi++
		}
	}
	if multi == 0 {
		t.Error("no practitioner practises in two cities (regional registration)")
	}
	pools := 0
	for _, gr := range g.byType["Group"] {
		if m, _ := gr["member"].([]any); len(m) > 0 {
			pools++
		}
	}
	if pools < 3 {
		t.Errorf("%d expert pools with members", pools)
	}
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestResults(t *testing.T) {
	g := smallRegion(t)
	today := time.Date(2026, 11, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	start := today.AddDate(0, -demo.Small().Months, 0)
	type result struct {
		at  time.Time
		org string
	}
	// patient → lab item or imaging procedure → results
	items := map[string]map[string][]result{}
	performers := map[string]map[string]bool{}
	add := func(patient, item, org string, at time.Time) {
		if items[patient] == nil {
			items[patient] = map[string][]result{}
			performers[patient] = map[string]bool{}
		}
		items[patient][item] = append(items[patient][item], result{at, org})
		performers[patient][org] = true
	}
	for _, o := range g.byType["Observation"] {
		at := parseTime(t, o["effectiveDateTime"].(string))
		if at.Before(start) || !at.Before(today) {
			t.Errorf("Observation/%s at %s, outside the window", o["id"], at)
		}
		code := o["code"].(obj)["coding"].([]any)[0].(obj)["code"].(string)
		add(o["subject"].(obj)["reference"].(string), code, o["performer"].([]any)[0].(obj)["reference"].(string), at)
	}
	for _, s := range g.byType["ImagingStudy"] {
		code := s["procedureCode"].([]any)[0].(obj)["coding"].([]any)[0].(obj)["code"].(string)
		add(s["subject"].(obj)["reference"].(string), code, s["location"].(obj)["reference"].(string), parseTime(t, s["started"].(string)))
	}
	patients := len(g.byType["Patient"])
	within, beyond := 0, 0
	for p, byItem := range items {
		if len(performers[p]) < 2 {
			t.Errorf("%s has results from %d institution(s)", p, len(performers[p]))
		}
		w, b := false, false
		for _, rs := range byItem {
			for i := range rs {
				for j := range rs {
					if i == j || rs[i].org == rs[j].org || !rs[i].at.Before(rs[j].at) {
						continue
					}
					if rs[j].at.Sub(rs[i].at) <= 30*24*time.Hour {
						w = true
					} else {
						b = true
					}
				}
			}
		}
		if w {
			within++
		}
		if b {
			beyond++
		}
	}
	if len(items) != patients {
		t.Errorf("%d of %d patients have results", len(items), patients)
	}
	t.Logf("patients with a repeat at another institution: within 30 days %d, beyond %d (of %d)", within, beyond, patients)
	if within < patients/4 {
		t.Errorf("%d patients with a repeat within 30 days, want at least a quarter", within)
	}
	if beyond < patients/10 {
		t.Errorf("%d patients with a repeat beyond 30 days", beyond)
	}
	abnormal := 0
	for _, o := range g.byType["Observation"] {
		c := codeIn(o, "interpretation", "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation")
		if len(c) == 1 && c[0] != "N" && c[0] != "NEG" {
			abnormal++
		}
	}
	if share := float64(abnormal) / float64(len(g.byType["Observation"])); share < 0.03 || share > 0.35 {
		t.Errorf("%.0f%% abnormal results", share*100)
	}
	t.Logf("resources: %d; by type %v", len(g.byRef), counts(g))
}

func counts(g *region) map[string]int {
	m := map[string]int{}
	for k, v := range g.byType {
		m[k] = len(v)
	}
	return m
}

func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	st, err := demo.WriteDirStats(context.Background(), demo.Small(), dir)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != st.Bundles || st.Resources != len(smallRegion(t).byRef) {
		t.Fatalf("%d files, stats %+v", len(files), st)
	}
	var i int
	err = demo.Generate(demo.Small(), func(b map[string]any) error {
		want, _ := demo.MarshalBundle(b)
		i++
		got, err := os.ReadFile(filepath.Join(dir, demo.BundleFileName(i, b)))
		if err != nil || !bytes.Equal(got, want) {
			return fmt.Errorf("file %d differs from the generated bundle (%v)", i, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestIngest loads the small region into a real node.
func TestIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a region into a node")
	}
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DB: filepath.Join(t.TempDir(), "demo.db"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	start := time.Now()
	n := 0
	err = demo.Generate(demo.Small(), func(b map[string]any) error {
		data, err := demo.MarshalBundle(b)
		if err != nil {
			return err
		}
		resp, err := http.Post(hs.URL+"/fhir", "application/fhir+json", bytes.NewReader(data))
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%v: %s: %.2000s", b["id"], resp.Status, body)
		}
		n += len(b["entry"].([]any))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d resources in %v", n, time.Since(start))
	for _, q := range []string{"/fhir/Patient/demo-pat-000001", "/fhir/Observation?subject=Patient/demo-pat-000001&code=http://loinc.org|718-7", "/fhir/Organization?name=运河"} {
		resp, err := http.Get(hs.URL + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", q, resp.Status)
		}
	}
}

// BenchmarkGenerate reports the time to generate the default region of
// issue 7 (20,000 patients) in memory, and BenchmarkWriteDir the time to
// write it as files; cpu-s is process CPU time (user + system), steadier
// than wall time on a shared machine.
func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		cpu := cputime.Process()
		n := 0
		if err := demo.Generate(demo.Default(), func(bundle map[string]any) error {
			n += len(bundle["entry"].([]any))
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric((cputime.Process() - cpu).Seconds(), "cpu-s")
		b.ReportMetric(float64(n), "resources")
	}
}

func BenchmarkWriteDir(b *testing.B) {
	for b.Loop() {
		cpu := cputime.Process()
		st, err := demo.WriteDirStats(context.Background(), demo.Default(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric((cputime.Process() - cpu).Seconds(), "cpu-s")
		b.ReportMetric(float64(st.Resources), "resources")
		b.ReportMetric(float64(st.Bytes)/1e6, "MB")
		b.ReportMetric(float64(st.Bundles), "bundles")
	}
}

// BenchmarkMarshalBundle compares the file encoder with encoding/json on
// one results Bundle of the small region.
func BenchmarkMarshalBundle(b *testing.B) {
	g := smallRegion(b)
	var bundle obj
	for _, x := range g.bundles {
		if strings.HasPrefix(x["id"].(string), "demo-results-") {
			bundle = x
			break
		}
	}
	b.Run("demo", func(b *testing.B) {
		for b.Loop() {
			if _, err := demo.MarshalBundle(bundle); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(bundle); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The recognition programmes' members are the hospitals of grade 2 and
// above and the independent lab, each with a passed EQA for the lab items
// of the demo in demo today's year and the year before.
func TestRecognitionMemberships(t *testing.T) {
	g := smallRegion(t)
	orgs := map[string]obj{}
	for _, o := range g.byType["Organization"] {
		orgs["Organization/"+o["id"].(string)] = o
	}
	members := map[string]map[string]bool{} // programme → organization
	for _, a := range g.byType["OrganizationAffiliation"] {
		for _, p := range codeIn(a, "code", "https://xietong.dev/fhir/CodeSystem/recognition-programme") {
			org := a["participatingOrganization"].(obj)["reference"].(string)
			o := orgs[org]
			kind := codeIn(o, "type", "https://xietong.dev/fhir/CodeSystem/institution-kind")
			grade := codeIn(o, "type", "https://xietong.dev/fhir/CodeSystem/hospital-grade")
			if !(len(kind) == 1 && kind[0] == "independent-lab" && p == "jjj-lab") && (len(grade) == 0 || grade[0] < "2") {
				t.Errorf("%s (%v %v) is a member of %s", org, kind, grade, p)
			}
			if members[p] == nil {
				members[p] = map[string]bool{}
			}
			members[p][org] = true
		}
	}
	if len(members["jjj-lab"]) < 5 || len(members["jjj-imaging"]) < 5 || len(members["jjj-lab"]) != len(members["jjj-imaging"])+1 {
		t.Errorf("programme members: %d lab, %d imaging", len(members["jjj-lab"]), len(members["jjj-imaging"]))
	}
	passes := map[string]int{}
	for _, b := range g.byType["Basic"] {
		if len(codeIn(b, "code", "https://xietong.dev/fhir/CodeSystem/recognition")) != 1 {
			t.Errorf("Basic/%s is not an EQA result", b["id"])
		}
		passes[b["subject"].(obj)["reference"].(string)]++
	}
	for org := range members["jjj-lab"] {
		if passes[org] != 2*27 {
			t.Errorf("%s has %d EQA passes, want 54 (27 items a year, two years)", org, passes[org])
		}
	}
	if len(passes) != len(members["jjj-lab"]) {
		t.Errorf("EQA results for %d institutions, %d lab members", len(passes), len(members["jjj-lab"]))
	}
}
