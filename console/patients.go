package console

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/xietong/xietong/search"
)

// The clinician workspace: find a patient, see their records from every
// institution on one timeline.

type patientsData struct {
	Query   string
	Kind    string // how the query was read: idnumber, onecode, name
	Results []patientRow
	Total   int
}

type patientRow struct {
	ID, Name, Gender, BirthDate, IDNumber, District string
	Institutions                                    int // institutions holding a record number
}

var (
	idNumberRe   = regexp.MustCompile(`^[0-9]{17}[0-9Xx]$`)
	oneCodeRe    = regexp.MustCompile(`[0-9A-Fa-f]{64}`)
	signedCodeRe = regexp.MustCompile(`[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}`)
)

// classify reads what was typed or scanned: a resident ID number, a signed
// e-health-card code (the compact JWS of a QR code), a bare card id (the
// 64 hex characters anywhere in the text), or a name.
func classify(q string) (kind, value string) {
	q = strings.TrimSpace(q)
	switch {
	case idNumberRe.MatchString(q):
		return "idnumber", strings.ToUpper(q)
	case signedCodeRe.MatchString(q):
		return "signedcode", signedCodeRe.FindString(q)
	case oneCodeRe.MatchString(q):
		return "onecode", strings.ToUpper(oneCodeRe.FindString(q))
	}
	return "name", q
}

func (c *Console) handlePatients(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "patients.title", "patients"
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := patientsData{Query: q}
	v.Data = &d
	if q == "" {
		return "patients", nil
	}
	if len([]rune(q)) > 512 {
		return "", badInput("patients.toolong")
	}
	kind, value := classify(q)
	d.Kind = kind
	if kind == "signedcode" {
		return c.resolveCard(w, r, v, value)
	}
	params := url.Values{"_count": {"50"}, "_elements": {"name,gender,birthDate,identifier,address,link"}, "_total": {"accurate"}}
	switch kind {
	case "idnumber":
		params.Set("identifier", sidResident+"|"+value)
	case "onecode":
		params.Set("identifier", sidEHC+"|"+value)
	default:
		params.Set("name", value)
	}
	pats, _, total, err := c.fhir.search(r.Context(), v.Principal, "Patient", params)
	if err != nil {
		return "", err
	}
	d.Total = total
	for _, p := range pats {
		d.Results = append(d.Results, patientRowOf(p))
	}
	// Sorted here (a page of at most 50), not with _sort=name, which the
	// store answers slowly on a large region.
	slices.SortStableFunc(d.Results, func(a, b patientRow) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.BirthDate, b.BirthDate))
	})
	// A scanned code or an ID number names one person: go straight there.
	if kind != "name" && len(d.Results) == 1 {
		http.Redirect(w, r, "/patients/"+d.Results[0].ID, http.StatusSeeOther)
		return "", nil
	}
	return "patients", nil
}

func patientRowOf(p obj) patientRow {
	district, _ := addressDistrict(firstObject(p["address"]))
	n := 0
	for _, i := range list(p["identifier"]) {
		if strings.HasPrefix(str(object(i)["system"]), "https://xietong.dev/fhir/sid/mrn/") {
			n++
		}
	}
	return patientRow{
		ID: str(p["id"]), Name: humanName(p["name"]), Gender: str(p["gender"]), BirthDate: str(p["birthDate"]),
		IDNumber: identifier(p, sidResident), District: district, Institutions: n,
	}
}

// --- one patient ---------------------------------------------------------

type patientData struct {
	ResolvedMRN  string
	Patient      patientRow
	Phone        string
	Address      string
	Records      []recordNumber
	Items        []timelineItem
	Filter       string // all, lab, imaging
	Counts       map[string]int
	Institutions []string
	Truncated    bool
}

type recordNumber struct{ Institution, Value string }

type timelineItem struct {
	Date        string
	Institution string
	Department  string
	Class       string
	EncounterID string
	Reports     []reportView
}

type reportView struct {
	ID, Title, Category, Performer, Issued, Conclusion string
	Imaging                                            *imagingView
	Results                                            []obsView
}

type imagingView struct {
	Modality          string
	Series, Instances int
}

type obsView struct {
	Name, Value, Unit, Range, Flag string
}

// recordTypes are the patient's record types the timeline shows.
var recordTypes = []string{"Encounter", "DiagnosticReport", "Observation", "ImagingStudy"}

// maxRecords bounds each type's search for one patient.
const maxRecords = 1000

func (c *Console) handlePatient(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "patient.title", "patients"
	id := r.PathValue("id")
	if !search.ValidID(id) {
		return "", &pageError{Status: http.StatusNotFound, Key: "error.notfound"}
	}
	ctx := r.Context()
	p, err := c.fhir.get(ctx, v.Principal, "/Patient/"+id, nil)
	if err != nil {
		return "", err
	}
	// The person's other records (linked by the EMPI) are theirs too.
	ids := []string{id}
	for _, l := range list(p["link"]) {
		if other := refID(object(l)["other"], "Patient"); other != "" && !slices.Contains(ids, other) {
			ids = append(ids, other)
		}
	}
	d := &patientData{Patient: patientRowOf(p), Counts: map[string]int{}}
	v.Data = d
	for _, t := range list(p["telecom"]) {
		if str(object(t)["system"]) == "phone" {
			d.Phone = str(object(t)["value"])
			break
		}
	}
	d.Address = str(firstObject(p["address"])["text"])
	for _, i := range list(p["identifier"]) {
		io := object(i)
		if strings.HasPrefix(str(io["system"]), "https://xietong.dev/fhir/sid/mrn/") {
			d.Records = append(d.Records, recordNumber{Institution: refDisplay(io["assigner"]), Value: str(io["value"])})
		}
	}
	// Arriving from a scanned code: the record number at the user's
	// institution (shown as given, it only labels the page).
	d.ResolvedMRN = r.URL.Query().Get("mrn")
	d.Filter = r.URL.Query().Get("show")
	if d.Filter != "lab" && d.Filter != "imaging" {
		d.Filter = "all"
	}

	// The four record types in parallel, each an audited search.
	found := make([][]obj, len(recordTypes))
	errs := make([]error, len(recordTypes))
	var wg sync.WaitGroup
	for i, typ := range recordTypes {
		wg.Go(func() {
			q := url.Values{"patient": {strings.Join(ids, ",")}, "_count": {strconv.Itoa(maxRecords)}}
			found[i], _, _, errs[i] = c.fhir.search(ctx, v.Principal, typ, q)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return "", err
		}
		if len(found[i]) >= maxRecords {
			d.Truncated = true
		}
	}
	d.Items = timeline(found[0], found[1], found[2], found[3], d.Filter)
	d.Counts["encounters"] = len(found[0])
	for _, dr := range found[1] {
		if isImaging(dr) {
			d.Counts["imaging"]++
		} else {
			d.Counts["lab"]++
		}
	}
	seen := map[string]bool{}
	for _, it := range d.Items {
		if it.Institution != "" && !seen[it.Institution] {
			seen[it.Institution] = true
			d.Institutions = append(d.Institutions, it.Institution)
		}
	}
	return "patient", nil
}

func isImaging(dr obj) bool {
	code, _ := codingIn(dr["category"], "http://terminology.hl7.org/CodeSystem/v2-0074")
	return code == "RAD" || len(list(dr["imagingStudy"])) > 0
}

// timeline groups reports under their encounters, newest first.
func timeline(encounters, reports, observations, studies []obj, filter string) []timelineItem {
	obsByID := make(map[string]obj, len(observations))
	for _, o := range observations {
		obsByID[str(o["id"])] = o
	}
	studyByID := make(map[string]obj, len(studies))
	for _, s := range studies {
		studyByID[str(s["id"])] = s
	}
	items := map[string]*timelineItem{}
	var order []*timelineItem
	for _, e := range encounters {
		it := &timelineItem{
			Date:        str(object(e["period"])["start"]),
			Institution: refDisplay(e["serviceProvider"]),
			Department:  conceptText(e["serviceType"]),
			Class:       str(object(e["class"])["code"]),
			EncounterID: str(e["id"]),
		}
		items[it.EncounterID] = it
		order = append(order, it)
	}
	for _, dr := range reports {
		img := isImaging(dr)
		if (filter == "lab" && img) || (filter == "imaging" && !img) {
			continue
		}
		rv := reportView{
			ID: str(dr["id"]), Title: conceptText(dr["code"]), Performer: refDisplay(firstObject(dr["performer"])),
			Issued: str(dr["issued"]), Conclusion: str(dr["conclusion"]), Category: "lab",
		}
		if img {
			rv.Category = "imaging"
			for _, ref := range list(dr["imagingStudy"]) {
				if s := studyByID[refID(ref, "ImagingStudy")]; s != nil {
					var mods []string
					for _, m := range list(s["modality"]) { // R4: a list of Coding
						if code := str(object(m)["code"]); code != "" {
							mods = append(mods, code)
						}
					}
					rv.Imaging = &imagingView{Modality: strings.Join(mods, "/"), Series: int(num(s["numberOfSeries"])), Instances: int(num(s["numberOfInstances"]))}
				}
			}
		}
		for _, ref := range list(dr["result"]) {
			if o := obsByID[refID(ref, "Observation")]; o != nil {
				rv.Results = append(rv.Results, obsViewOf(o))
			}
		}
		encID := refID(dr["encounter"], "Encounter")
		it := items[encID]
		if it == nil {
			it = &timelineItem{Date: str(dr["effectiveDateTime"]), Institution: rv.Performer}
			if encID != "" {
				items[encID] = it
			}
			order = append(order, it)
		}
		it.Reports = append(it.Reports, rv)
	}
	out := make([]timelineItem, 0, len(order))
	for _, it := range order {
		if filter != "all" && len(it.Reports) == 0 {
			continue
		}
		out = append(out, *it)
	}
	slices.SortStableFunc(out, func(a, b timelineItem) int {
		return cmp.Compare(when(b.Date).UnixMilli(), when(a.Date).UnixMilli())
	})
	return out
}

func obsViewOf(o obj) obsView {
	ov := obsView{Name: conceptText(o["code"])}
	switch {
	case o["valueQuantity"] != nil:
		q := object(o["valueQuantity"])
		ov.Value = string(jsonText(q["value"]))
		ov.Unit = str(q["unit"])
	case o["valueCodeableConcept"] != nil:
		ov.Value = conceptText(o["valueCodeableConcept"])
	case o["valueString"] != nil:
		ov.Value = str(o["valueString"])
	}
	rr := firstObject(o["referenceRange"])
	if t := str(rr["text"]); t != "" {
		ov.Range = t
	} else if rr != nil {
		lo, hi := jsonText(object(rr["low"])["value"]), jsonText(object(rr["high"])["value"])
		switch {
		case lo != "" && hi != "":
			ov.Range = lo + "–" + hi
		case hi != "":
			ov.Range = "< " + hi
		case lo != "":
			ov.Range = "> " + lo
		}
	}
	ov.Flag, _ = codingIn(o["interpretation"], "")
	if ov.Flag == "N" || ov.Flag == "NEG" {
		ov.Flag = ""
	}
	return ov
}

// jsonText writes a JSON number or string as it was sent.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case interface{ String() string }:
		return x.String()
	case nil:
		return ""
	}
	return ""
}

// oneCodeChannel is the channel of a scan in the console: the doctor
// workstation (healthcard.Channels).
const oneCodeChannel = "0300"

// resolveCard resolves a scanned e-health-card code at the user's
// institution with the card service's Patient/$resolve-health-card: the
// code is verified, the use recorded (channel doctor workstation, care
// step consultation) and the institution's own record found or created;
// the user goes on to the person's records.
func (c *Console) resolveCard(w http.ResponseWriter, r *http.Request, v *view, code string) (string, error) {
	if !v.Caps.has("Patient/$resolve-health-card") {
		return "", &pageError{Status: http.StatusBadRequest, Key: "patients.nocards"}
	}
	if v.Principal.Organization == "" {
		return "", &pageError{Status: http.StatusBadRequest, Key: "patients.needinstitution"}
	}
	params := obj{"resourceType": "Parameters", "parameter": []any{
		obj{"name": "code", "valueString": code},
		obj{"name": "institution", "valueString": "Organization/" + v.Principal.Organization},
		obj{"name": "channel", "valueString": oneCodeChannel},
		obj{"name": "careStep", "valueString": "consultation"},
	}}
	res, err := c.fhir.do(r.Context(), v.Principal, http.MethodPost, "/Patient/$resolve-health-card", nil, params)
	if err != nil {
		return "", err
	}
	var master, mrn string
	for _, p := range list(res["parameter"]) {
		po := object(p)
		switch str(po["name"]) {
		case "master":
			master = refID(po["valueReference"], "Patient")
		case "mrn":
			mrn = str(object(po["valueIdentifier"])["value"])
		}
	}
	if !search.ValidID(master) {
		return "", fmt.Errorf("$resolve-health-card answered without a master patient")
	}
	http.Redirect(w, r, "/patients/"+master+"?"+url.Values{"mrn": {mrn}}.Encode(), http.StatusSeeOther)
	return "", nil
}
