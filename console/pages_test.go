package console_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPagesNeedADemoRole(t *testing.T) {
	b := newBrowser(t)
	for _, path := range []string{"/", "/patients?q=x", "/commission"} {
		status, _, resp := b.get(path)
		if status != http.StatusSeeOther || resp.Header.Get("Location") != "/role?next="+url.QueryEscape(path) {
			t.Errorf("GET %s without a role: %d → %q, want 303 to the role page", path, status, resp.Header.Get("Location"))
		}
	}
	d := b.page("/role")
	if n := len(d.all("#role-form input[name=role]")); n != 5 {
		t.Errorf("role form offers %d roles, want 5", n)
	}
	// every institution of the region, and no department or cooperation
	if got, want := len(d.all("select#org option"))-1, apiTotal(t, "/Organization?type=https://xietong.dev/fhir/CodeSystem/institution-kind|&_summary=count"); got != want {
		t.Errorf("role form lists %d institutions, want %d", got, want)
	}
}

func TestChooseRole(t *testing.T) {
	b := newBrowser(t)
	if resp := b.post("/role", url.Values{"role": {"superuser"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown role: %d, want 400", resp.StatusCode)
	}
	if resp := b.post("/role", url.Values{"role": {"clinician"}, "org": {"demo-org-nowhere"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown institution: %d, want 404", resp.StatusCode)
	}
	if resp := b.post("/role", url.Values{"role": {"clinician"}, "next": {"//evil.example/"}}); resp.Header.Get("Location") != "/" {
		t.Errorf("off-site next: redirected to %q, want /", resp.Header.Get("Location"))
	}
	b.as("commission", "demo-org-131003001")
	d := b.page("/")
	if got := text(d.one(t, "#current-role")); got != "卫健委工作人员" {
		t.Errorf("banner role %q", got)
	}
	if got := text(d.one(t, "#current-org")); got != "廊坊市第一人民医院" {
		t.Errorf("banner institution %q", got)
	}
	if len(d.all("#demo-banner")) != 1 {
		t.Error("no demo banner")
	}
	// commission staff see the dashboard in the menu, not the clinician workspace
	if len(d.all("nav a[href=/commission]")) != 1 || len(d.all("nav a[href=/patients]")) != 0 {
		t.Error("menu does not follow the role")
	}
}

func TestHomeCountsComeFromTheAPI(t *testing.T) {
	b := newBrowser(t).as("clinician", "demo-org-110112001")
	d := b.page("/")
	want := map[string]int{
		"home.institutions":  apiTotal(t, "/Organization?type=https://xietong.dev/fhir/CodeSystem/institution-kind|&_summary=count"),
		"home.patients":      apiTotal(t, "/Patient?_summary=count"),
		"home.practitioners": apiTotal(t, "/Practitioner?_summary=count"),
	}
	// (a scanned card at a new institution adds that institution's record)
	if want["home.patients"] < smallRegion.Patients {
		t.Fatalf("region has %d patients, want at least %d", want["home.patients"], smallRegion.Patients)
	}
	for key, n := range want {
		card := d.one(t, "#counts .count[data-key="+key+"] .value")
		if got := text(card); got != formatted(n) {
			t.Errorf("%s: page shows %s, API counts %d", key, got, n)
		}
	}
}

func formatted(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// patient1 is the first demo patient as the API has it, with the card
// the demo loader put on its EMPI master.
func patient1(t *testing.T) (id, idNumber, card, name, master string) {
	p := api(t, "/Patient/demo-pat-000001")
	for _, i := range p["identifier"].([]any) {
		if io := i.(map[string]any); io["system"] == "https://xietong.dev/fhir/sid/resident-id" {
			idNumber = io["value"].(string)
		}
	}
	for _, l := range p["link"].([]any) {
		if lo := l.(map[string]any); lo["type"] == "refer" {
			master = strings.TrimPrefix(lo["other"].(map[string]any)["reference"].(string), "Patient/")
		}
	}
	m := api(t, "/Patient/"+master)
	for _, i := range m["identifier"].([]any) {
		if io := i.(map[string]any); io["system"] == "https://xietong.dev/fhir/sid/ehc" {
			card = io["value"].(string)
		}
	}
	if card == "" {
		t.Fatalf("the master %s of demo-pat-000001 has no e-health card", master)
	}
	name = p["name"].([]any)[0].(map[string]any)["text"].(string)
	return "demo-pat-000001", idNumber, card, name, master
}

func TestFindPatient(t *testing.T) {
	b := newBrowser(t).as("clinician", "demo-org-110112001")
	_, idNumber, card, name, master := patient1(t)
	for _, tc := range []struct{ name, q, want string }{
		// the person's page: the master, where all their records are
		{"ID number", idNumber, master},
		{"ID number, lower-case x and spaces", "  " + strings.ToLower(idNumber) + " ", master},
		{"scanned e-health-card text", "ehc://v1?code=" + strings.ToLower(card) + "&t=20261122", master},
		{"bare card code", card, master},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, resp := b.get("/patients?q=" + url.QueryEscape(tc.q))
			if status != http.StatusSeeOther || resp.Header.Get("Location") != "/patients/"+tc.want {
				t.Fatalf("status %d → %q, want 303 to the patient\n%.1000s", status, resp.Header.Get("Location"), body)
			}
		})
	}
	t.Run("name", func(t *testing.T) {
		d := b.page("/patients?q=" + url.QueryEscape(name))
		rows := d.all("#patient-results tbody tr")
		if len(rows) == 0 {
			t.Fatal("no result rows")
		}
		found := false
		for _, r := range rows {
			found = found || strings.Contains(text(r), name)
			if !strings.HasPrefix(text(r), string([]rune(name)[0])) {
				t.Errorf("row %q does not match the name %s", text(r), name)
			}
		}
		if !found {
			t.Errorf("%s not among the results", name)
		}
		// ID numbers are masked on screen
		if strings.Contains(text(d.one(t, "#patient-results")), idNumber) {
			t.Error("an ID number is shown unmasked")
		}
	})
	t.Run("nobody", func(t *testing.T) {
		d := b.page("/patients?q=" + url.QueryEscape("110101190001010000"))
		d.one(t, "#no-results")
	})
}

func TestPatientTimeline(t *testing.T) {
	b := newBrowser(t).as("clinician", "demo-org-110112001")
	id, _, _, name, _ := patient1(t)
	d := b.page("/patients/" + id)
	if got := text(d.one(t, "#patient-name")); !strings.HasPrefix(got, name) {
		t.Errorf("heading %q, want the name %s", got, name)
	}
	reports := apiTotal(t, "/DiagnosticReport?patient="+id+"&_summary=count")
	encounters := apiTotal(t, "/Encounter?patient="+id+"&_summary=count")
	if got := len(d.all("#timeline .report")); got != reports {
		t.Errorf("timeline shows %d reports, the API has %d", got, reports)
	}
	if got := len(d.all("#timeline li.event")); got != encounters {
		t.Errorf("timeline shows %d encounters, the API has %d", got, encounters)
	}
	// newest first
	var prev string
	for _, w := range d.all("#timeline li.event .when") {
		if prev != "" && text(w) > prev {
			t.Errorf("timeline out of order: %s after %s", text(w), prev)
		}
		prev = text(w)
	}
	// records from more than one institution (the point of the region)
	insts := map[string]bool{}
	for _, h := range d.all("#timeline li.event h3") {
		insts[strings.Fields(text(h))[0]] = true
	}
	if len(insts) < 2 {
		t.Errorf("records from %d institutions, want at least 2", len(insts))
	}
	// the imaging filter keeps only imaging reports
	di := b.page("/patients/" + id + "?show=imaging")
	if n := len(di.all("#timeline .report.lab")); n != 0 {
		t.Errorf("imaging filter shows %d lab reports", n)
	}
	if got, want := len(di.all("#timeline .report.imaging")), apiTotal(t, "/DiagnosticReport?patient="+id+"&category=RAD&_summary=count"); got != want {
		t.Errorf("imaging filter shows %d reports, the API has %d", got, want)
	}
}

func TestInstitutionFilters(t *testing.T) {
	b := newBrowser(t).as("commission", "")
	all := b.page("/directory")
	total := len(all.all("#institutions tbody tr"))
	if want := apiTotal(t, "/Organization?type=https://xietong.dev/fhir/CodeSystem/institution-kind|&_summary=count"); total != want {
		t.Fatalf("directory lists %d institutions, want %d", total, want)
	}
	tcm := b.page("/directory?kind=tcm-hospital")
	rows := tcm.all("#institutions tbody tr")
	if len(rows) == 0 || len(rows) >= total {
		t.Fatalf("TCM filter: %d rows of %d", len(rows), total)
	}
	for _, r := range rows {
		if !strings.Contains(text(r), "中医医院") {
			t.Errorf("TCM filter lets through %q", text(r))
		}
	}
	city := b.page("/directory?city=" + url.QueryEscape("廊坊市") + "&grade=3A")
	for _, r := range city.all("#institutions tbody tr") {
		if !strings.Contains(text(r), "廊坊市") || !strings.Contains(text(r), "三级甲等") {
			t.Errorf("city and level filter lets through %q", text(r))
		}
	}
	if status, _, _ := b.get("/directory?kind=castle"); status != http.StatusBadRequest {
		t.Errorf("unknown kind: %d, want 400", status)
	}
}

func TestCooperationsAndPools(t *testing.T) {
	b := newBrowser(t).as("viewer", "")
	d := b.page("/directory/cooperations")
	coops := d.all("#cooperations section.coop")
	if want := apiTotal(t, "/OrganizationAffiliation?role=https://xietong.dev/fhir/CodeSystem/affiliation-role|&_summary=count"); want == 0 || len(coops) == 0 {
		t.Fatal("no cooperations")
	}
	members := len(d.all("#cooperations ul.members li"))
	if want := apiTotal(t, "/OrganizationAffiliation?role=https://xietong.dev/fhir/CodeSystem/affiliation-role|&_summary=count"); members != want {
		t.Errorf("%d members shown, %d affiliations in the API", members, want)
	}
	for _, c := range coops {
		id, _ := attr(c, "id")
		lis := doc{c}.all("ul.members li")
		if len(lis) < 2 {
			t.Errorf("cooperation %s has %d members", id, len(lis))
		}
	}
	p := b.page("/directory/pools")
	if len(p.all("#pools section.coop")) == 0 || len(p.all("#pools ul.members li")) == 0 {
		t.Error("no expert pools with members")
	}
}

func TestServiceFinderByDistance(t *testing.T) {
	b := newBrowser(t).as("clinician", "demo-org-110112001")
	d := b.page("/directory/services?kind=tcm-clinic")
	rows := d.all("#service-results tbody tr")
	if len(rows) < 3 {
		t.Fatalf("%d TCM clinics", len(rows))
	}
	prev := -1.0
	for _, r := range rows {
		f := strings.Fields(text(r))
		km, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("row %q has no distance", text(r))
		}
		if km < prev {
			t.Errorf("not nearest first: %.1f after %.1f", km, prev)
		}
		prev = km
	}
	// the user's own hospital has a TCM clinic: it comes first, at 0 km
	if first := text(rows[0]); !strings.HasPrefix(first, "0.0 km 北京运河医院") {
		t.Errorf("first row %q, want the user's own hospital at 0.0 km", first)
	}
}

func TestCommissionDashboard(t *testing.T) {
	b := newBrowser(t).as("commission", "")
	d := b.page("/commission")
	if svg := d.one(t, "svg#chart-participation"); len(doc{svg}.all("rect")) < 4 {
		t.Errorf("participation chart has no bars")
	}
	a := b.ready("/commission/activity?to=2026-10")
	if svg := a.one(t, "svg#chart-activity"); len(doc{svg}.all("rect title")) != 2*18 {
		t.Errorf("activity chart has %d bars, want 36", len(doc{svg}.all("rect title")))
	}
	total := d.one(t, "#participation tr.total")
	institutions := apiTotal(t, "/Organization?type=https://xietong.dev/fhir/CodeSystem/institution-kind|&_summary=count")
	if f := strings.Fields(text(total)); f[1] != strconv.Itoa(institutions) {
		t.Errorf("participation total %q, want %d institutions", text(total), institutions)
	}
	// the monthly activity adds up to the lab reports in the API
	status, body, resp := b.get("/commission/activity.csv?to=2026-10")
	if status != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(body, "\uFEFF") {
		t.Fatalf("activity.csv: %d %s", status, resp.Header.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(body, "\uFEFF")), "\n")
	if lines[0] != "月份,检验报告,影像报告" || len(lines) != 19 {
		t.Fatalf("activity.csv: header %q, %d lines", lines[0], len(lines))
	}
	sum := 0
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		n, _ := strconv.Atoi(f[1])
		sum += n
	}
	from, to := lines[1][:7], lines[len(lines)-1][:7]
	if want := apiTotal(t, "/DiagnosticReport?category=LAB&date=ge"+from+"&date=le"+to+"&_summary=count"); sum != want || sum == 0 {
		t.Errorf("monthly lab reports add up to %d, the API has %d", sum, want)
	}
	if status, _, _ := b.get("/commission/activity?to=26-10"); status != http.StatusBadRequest {
		t.Errorf("bad month: %d, want 400", status)
	}
	if status, _, _ := b.get("/commission/secrets.csv"); status != http.StatusNotFound {
		t.Errorf("unknown table: %d, want 404", status)
	}
}

func TestEnglish(t *testing.T) {
	b := newBrowser(t).as("clinician", "demo-org-110112001")
	d := b.page("/directory?lang=en")
	if lang, _ := attr(d.one(t, "html"), "lang"); lang != "en" {
		t.Errorf("html lang %q", lang)
	}
	if got := text(d.one(t, "header nav a[href=/directory]")); got != "Directory" {
		t.Errorf("menu item %q, want Directory", got)
	}
	// the choice is remembered
	d = b.page("/")
	if got := text(d.one(t, "#lang-zh")); got != "中文" {
		t.Errorf("language switch %q", got)
	}
	if strings.Contains(text(d.one(t, "main")), "机构") {
		t.Error("English page with Chinese UI text")
	}
}

func TestBadInputIsExplainedNotFailed(t *testing.T) {
	b := newBrowser(t).as("clinician", "demo-org-110112001")
	for path, want := range map[string]int{
		"/patients/no$such$id":                    404,
		"/patients/demo-pat-999999":               404,
		"/directory/institutions/demo-org-000":    404,
		"/directory/practitioners?page=-1":        400,
		"/directory/services?kind=teleportation":  400,
		"/patients?q=" + strings.Repeat("张", 600): 400,
	} {
		status, body, _ := b.get(path)
		if status != want {
			t.Errorf("GET %s: %d, want %d", path, status, want)
			continue
		}
		parseHTML(t, body).one(t, "#error")
	}
}

func TestConsoleAccessIsAudited(t *testing.T) {
	b := newBrowser(t).as("cdc", "demo-org-110112003")
	b.page("/patients/demo-pat-000002")
	// The trail is appended in batches; wait for it.
	found := false
	for i := 0; i < 50 && !found; i++ {
		trail := api(t, "/$audit?subject=console-demo-cdc&entity=Patient/demo-pat-000002")
		entries, _ := trail["entry"].([]any)
		for _, e := range entries {
			s, _ := json2(e.(map[string]any)["resource"])
			found = found || (strings.Contains(s, `"address":"console"`) && strings.Contains(s, "Organization/demo-org-110112003"))
		}
		if !found {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !found {
		t.Errorf("the console's read of the patient is not in the audit trail as the cdc user at their institution")
	}
}

// The timeline shows the recognition mark on marked results (the engine's
// meta.tag), the institution's city, an imaging report's conclusion and
// study, and the links to its images.
func TestTimelineMarks(t *testing.T) {
	b := newBrowser(t).as("clinician", "demo-org-110112001")
	first := func(path string) map[string]any {
		t.Helper()
		entries, _ := api(t, path)["entry"].([]any)
		if len(entries) == 0 {
			t.Fatalf("nothing at %s", path)
		}
		return entries[0].(map[string]any)["resource"].(map[string]any)
	}
	subject := func(r map[string]any) string {
		return strings.TrimPrefix(r["subject"].(map[string]any)["reference"].(string), "Patient/")
	}

	lab := first("/DiagnosticReport?_tag=https://xietong.dev/fhir/CodeSystem/recognition-mark|HR&category=http://terminology.hl7.org/CodeSystem/v2-0074|LAB&_count=1")
	d := b.page("/patients/" + subject(lab))
	rep := "#dr-" + lab["id"].(string)
	d.one(t, rep+"[data-mark=HR] h4 span.tag.hr.mark")
	if len(d.all(rep+" tr.obs[data-mark=HR] span.mark")) == 0 {
		t.Error("no marked result row under a marked report")
	}
	for _, h := range d.all("#timeline li.event h3") {
		if len((doc{h}).all("span.city")) == 0 {
			t.Errorf("record without a city: %q", text(h))
		}
	}
	// an unmarked result shows no mark
	var unmarked map[string]any
	for _, e := range api(t, "/DiagnosticReport?patient="+subject(lab)+"&_count=200")["entry"].([]any) {
		r := e.(map[string]any)["resource"].(map[string]any)
		tags, _ := r["meta"].(map[string]any)["tag"].([]any)
		if len(tags) == 0 {
			unmarked = r
			break
		}
	}
	if unmarked != nil && len(d.all("#dr-"+unmarked["id"].(string)+" h4 span.mark")) != 0 {
		t.Errorf("the unmarked report %s shows a mark", unmarked["id"])
	}

	img := first("/DiagnosticReport?category=http://terminology.hl7.org/CodeSystem/v2-0074|RAD&_count=1")
	pid := subject(img)
	media := apiPost(t, "/Media", `{"resourceType":"Media","status":"completed","subject":{"reference":"Patient/`+pid+`"},"content":{"contentType":"image/jpeg","url":"https://pacs.example.org/wado/key-image-1.jpg","title":"关键图像 key image"}}`)
	img["media"] = []any{map[string]any{"link": map[string]any{"reference": "Media/" + media["id"].(string)}}}
	apiPut(t, "/DiagnosticReport/"+img["id"].(string), img)
	d = b.page("/patients/" + pid + "?show=imaging")
	rep = "#dr-" + img["id"].(string)
	if got := text(d.one(t, rep+" p.conclusion")); !strings.Contains(got, img["conclusion"].(string)) {
		t.Errorf("conclusion %q, want %q", got, img["conclusion"])
	}
	d.one(t, rep+" p.study")
	a := d.one(t, rep+" p.images a")
	if href, _ := attr(a, "href"); href != "https://pacs.example.org/wado/key-image-1.jpg" || text(a) != "关键图像 key image" {
		t.Errorf("image link %q %q", href, text(a))
	}
}

// A master record (where a scanned card leads) shows the resident's ID
// number and every institution's record number, read from its sources.
func TestMasterShowsItsSourcesNumbers(t *testing.T) {
	_, idNumber, _, _, master := patient1(t)
	d := newBrowser(t).as("clinician", "demo-org-110112001").page("/patients/" + master)
	facts := text(d.one(t, "#patient-head dl.facts"))
	if !strings.Contains(facts, idNumber[:6]) || !strings.Contains(facts, idNumber[14:]) {
		t.Errorf("the master's facts %q lack the masked ID number of %s", facts, idNumber)
	}
	src := api(t, "/Patient/demo-pat-000001")
	for _, i := range src["identifier"].([]any) {
		io := i.(map[string]any)
		if strings.HasPrefix(io["system"].(string), "https://xietong.dev/fhir/sid/mrn/") && !strings.Contains(facts, io["value"].(string)) {
			t.Errorf("the master's facts lack the record number %s", io["value"])
		}
	}
}

// A fresh demo has recognition decisions (recorded by the loader where
// the engine's check found a recognisable prior result), so the
// dashboard's recognition figures are not empty.
func TestDemoHasRecognitionDecisions(t *testing.T) {
	n := apiTotal(t, "/Task?code=https://xietong.dev/fhir/CodeSystem/recognition|decision&_summary=count")
	if n == 0 {
		t.Fatal("the demo recorded no recognition decisions")
	}
	d := newBrowser(t).as("commission", "").page("/commission")
	got, _ := strconv.Atoi(strings.ReplaceAll(text(d.one(t, "#recog-avoided")), ",", ""))
	if got == 0 {
		t.Errorf("the dashboard shows %q recognised with %d decisions in the demo", text(d.one(t, "#recog-avoided")), n)
	}
}

// A mistyped address is an explained page in the console's language, not
// the mux's plain text.
func TestUnknownPageIsExplained(t *testing.T) {
	b := newBrowser(t).as("viewer", "")
	status, body, resp := b.get("/no/such/page?lang=en")
	if status != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d %s", status, resp.Header.Get("Content-Type"))
	}
	d := parseHTML(t, body)
	if got := text(d.one(t, "#error p.lead")); !strings.Contains(got, "no such page") {
		t.Errorf("explanation %q", got)
	}
}
