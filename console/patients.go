package console

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/xietong/xietong/access"
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
	d.Results = people(pats)
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

// people turns the matched records into one row per person: an
// institution's record linked to its master (the EMPI's golden record)
// leads to the master, where all the person's records are; several
// records of one person are one row (their institutions added up); a
// master found itself shows only when none of its records is in the page.
func people(pats []obj) []patientRow {
	var rows []patientRow
	at := map[string]int{} // person id → row
	var masters []obj
	for _, p := range pats {
		if len(linkTargets(p, "seealso")) > 0 {
			masters = append(masters, p)
			continue
		}
		row := patientRowOf(p)
		if m := linkTargets(p, "refer"); len(m) > 0 {
			row.ID = m[0]
		}
		if i, ok := at[row.ID]; ok {
			rows[i].Institutions += row.Institutions
			continue
		}
		at[row.ID] = len(rows)
		rows = append(rows, row)
	}
	for _, m := range masters {
		if _, ok := at[str(m["id"])]; !ok {
			at[str(m["id"])] = len(rows)
			rows = append(rows, patientRowOf(m))
		}
	}
	return rows
}

// linkTargets are the Patient ids of p's links of a type.
func linkTargets(p obj, typ string) []string {
	var out []string
	for _, l := range list(p["link"]) {
		if lo := object(l); str(lo["type"]) == typ {
			if id := refID(lo["other"], "Patient"); id != "" {
				out = append(out, id)
			}
		}
	}
	return out
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
	CheckItems   []checkItem // the recognition catalogue, for the check form
	Decided      string      // accept or retest, after a recorded decision
	ResolvedMRN  string
	HasCard      bool
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
	City        string // of the institution (Organization.address.city)
	Department  string
	Class       string
	EncounterID string
	Reports     []reportView
}

type reportView struct {
	ID, Title, Category, Performer, Issued, Conclusion string
	PerformerCity                                      string
	Marked                                             bool // HR: issued by a qualified institution (decision 011)
	Imaging                                            *imagingView
	Images                                             []imageLink
	Results                                            []obsView
}

type imagingView struct {
	ID, Modality, Description, StudyUID string
	Series, Instances                   int
}

// imageLink is a way to the images of an imaging result: an attachment
// URL of the report or of a Media it links, or an endpoint of the study.
type imageLink struct{ URL, Label string }

type obsView struct {
	Name, Value, Unit, Range, Flag string
	Marked                         bool
}

// csRecMark is the recognition mark (互认标识) the engine puts in meta.tag.
const csRecMark = "https://xietong.dev/fhir/CodeSystem/recognition-mark"

// marked reports whether a result carries the HR mark.
func marked(res obj) bool {
	for _, t := range list(object(res["meta"])["tag"]) {
		if to := object(t); str(to["system"]) == csRecMark && str(to["code"]) == "HR" {
			return true
		}
	}
	return false
}

// recordTypes are the patient's record types the timeline shows (Media:
// the images a report links).
var recordTypes = []string{"Encounter", "DiagnosticReport", "Observation", "ImagingStudy", "Media"}

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
	d := &patientData{Patient: patientRowOf(p), Counts: map[string]int{}, HasCard: hasActiveCard(p)}
	// A source record's card is on its master (the EMPI's golden record,
	// link type refer), where the card service keeps it.
	for _, l := range list(p["link"]) {
		lo := object(l)
		if str(lo["type"]) != "refer" {
			continue
		}
		if mid := refID(lo["other"], "Patient"); mid != "" {
			m, err := c.fhir.get(ctx, v.Principal, "/Patient/"+mid, url.Values{"_elements": {"identifier"}})
			if err != nil {
				return "", err
			}
			d.HasCard = hasActiveCard(m)
		}
		break
	}
	v.Data = d
	for _, t := range list(p["telecom"]) {
		if str(object(t)["system"]) == "phone" {
			d.Phone = str(object(t)["value"])
			break
		}
	}
	d.Address = str(firstObject(p["address"])["text"])
	// A master (the EMPI's golden record) keeps no institution's numbers:
	// they are on its sources, read here; each number once.
	holders := []obj{p}
	if len(ids) > 1 {
		srcs, _, _, err := c.fhir.search(ctx, v.Principal, "Patient", url.Values{"_id": {strings.Join(ids[1:], ",")}, "_elements": {"identifier"}, "_count": {"100"}})
		if err != nil {
			return "", err
		}
		holders = append(holders, srcs...)
	}
	seenNumber := map[string]bool{}
	for _, h := range holders {
		if d.Patient.IDNumber == "" {
			d.Patient.IDNumber = identifier(h, sidResident)
		}
		for _, i := range list(h["identifier"]) {
			io := object(i)
			sys := str(io["system"])
			if strings.HasPrefix(sys, "https://xietong.dev/fhir/sid/mrn/") && !seenNumber[sys+"|"+str(io["value"])] {
				seenNumber[sys+"|"+str(io["value"])] = true
				d.Records = append(d.Records, recordNumber{Institution: refDisplay(io["assigner"]), Value: str(io["value"])})
			}
		}
	}
	// Arriving from a scanned code: the record number at the user's
	// institution (shown as given, it only labels the page).
	d.ResolvedMRN = r.URL.Query().Get("mrn")
	if dec := r.URL.Query().Get("decided"); dec == "accept" || dec == "retest" {
		d.Decided = dec
	}
	if v.Caps.Has("Patient/$recognition-check") && v.Principal.Organization != "" {
		if d.CheckItems, err = c.recognitionItems(r, v); err != nil {
			return "", err
		}
	}
	d.Filter = r.URL.Query().Get("show")
	if d.Filter != "lab" && d.Filter != "imaging" {
		d.Filter = "all"
	}

	// The record types in parallel, each an audited search, and the
	// institutions' cities.
	found := make([][]obj, len(recordTypes))
	errs := make([]error, len(recordTypes)+1)
	var (
		wg     sync.WaitGroup
		cities map[string]string
	)
	for i, typ := range recordTypes {
		wg.Go(func() {
			q := url.Values{"patient": {strings.Join(ids, ",")}, "_count": {strconv.Itoa(maxRecords)}}
			found[i], _, _, errs[i] = c.fhir.search(ctx, v.Principal, typ, q)
			var ae *apiError
			if typ == "Media" && errors.As(errs[i], &ae) && ae.Status != http.StatusForbidden && ae.Status < 500 {
				errs[i] = nil // a node that keeps no Media: no image links
			}
		})
	}
	wg.Go(func() { cities, errs[len(recordTypes)] = c.institutionCities(ctx, v.Principal) })
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return "", err
		}
		if i < len(found) && len(found[i]) >= maxRecords {
			d.Truncated = true
		}
	}
	d.Items = timeline(found[0], found[1], found[2], found[3], found[4], cities, d.Filter)
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

// institutionCities maps institution ids to their city, for the
// timeline's "where".
func (c *Console) institutionCities(ctx context.Context, p access.Principal) (map[string]string, error) {
	orgs, _, _, err := c.fhir.search(ctx, p, "Organization", url.Values{"type": {csInstitutionKind + "|"}, "_count": {"500"}, "_elements": {"address"}})
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(orgs))
	for _, o := range orgs {
		out[str(o["id"])] = str(firstObject(o["address"])["city"])
	}
	return out, nil
}

func isImaging(dr obj) bool {
	code, _ := codingIn(dr["category"], "http://terminology.hl7.org/CodeSystem/v2-0074")
	return code == "RAD" || len(list(dr["imagingStudy"])) > 0
}

// timeline groups reports under their encounters, newest first; a study
// no report names is shown on its own.
func timeline(encounters, reports, observations, studies, media []obj, cities map[string]string, filter string) []timelineItem {
	mediaByID := make(map[string]obj, len(media))
	for _, m := range media {
		mediaByID[str(m["id"])] = m
	}
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
			City:        cities[refID(e["serviceProvider"], "Organization")],
			Department:  conceptText(e["serviceType"]),
			Class:       str(object(e["class"])["code"]),
			EncounterID: str(e["id"]),
		}
		items[it.EncounterID] = it
		order = append(order, it)
	}
	reported := map[string]bool{}
	place := func(encID, date, institution, city string, rv reportView) {
		it := items[encID]
		if it == nil {
			it = &timelineItem{Date: date, Institution: institution, City: city}
			if encID != "" {
				items[encID] = it
			}
			order = append(order, it)
		}
		it.Reports = append(it.Reports, rv)
	}
	for _, dr := range reports {
		img := isImaging(dr)
		if (filter == "lab" && img) || (filter == "imaging" && !img) {
			continue
		}
		perf := firstObject(dr["performer"])
		rv := reportView{
			ID: str(dr["id"]), Title: conceptText(dr["code"]), Performer: refDisplay(perf),
			PerformerCity: cities[refID(perf, "Organization")], Marked: marked(dr),
			Issued: str(dr["issued"]), Conclusion: str(dr["conclusion"]), Category: "lab",
		}
		if img {
			rv.Category = "imaging"
			for _, ref := range list(dr["imagingStudy"]) {
				sid := refID(ref, "ImagingStudy")
				if s := studyByID[sid]; s != nil {
					reported[sid] = true
					rv.Imaging = imagingOf(s)
				}
			}
		}
		rv.Images = imagesOf(dr, mediaByID)
		for _, ref := range list(dr["result"]) {
			if o := obsByID[refID(ref, "Observation")]; o != nil {
				rv.Results = append(rv.Results, obsViewOf(o))
			}
		}
		place(refID(dr["encounter"], "Encounter"), str(dr["effectiveDateTime"]), rv.Performer, rv.PerformerCity, rv)
	}
	if filter != "lab" {
		for _, s := range studies {
			if reported[str(s["id"])] {
				continue
			}
			inst := refDisplay(firstObject(s["referrer"]))
			rv := reportView{ID: str(s["id"]), Title: cmpOr(str(s["description"]), conceptText(firstObject(s["procedureCode"]))), Category: "imaging", Imaging: imagingOf(s)}
			place(refID(s["encounter"], "Encounter"), str(s["started"]), cmpOr(inst, refDisplay(s["location"])), "", rv)
		}
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

// imagingOf describes a study: modalities, counts, its DICOM UID and the
// endpoints that serve its images.
func imagingOf(s obj) *imagingView {
	var mods []string
	for _, m := range list(s["modality"]) { // R4: a list of Coding
		if code := str(object(m)["code"]); code != "" && !slices.Contains(mods, code) {
			mods = append(mods, code)
		}
	}
	iv := &imagingView{ID: str(s["id"]), Modality: strings.Join(mods, "/"), Description: str(s["description"]),
		Series: int(num(s["numberOfSeries"])), Instances: int(num(s["numberOfInstances"]))}
	for _, i := range list(s["identifier"]) {
		if io := object(i); str(io["system"]) == "urn:dicom:uid" {
			iv.StudyUID = strings.TrimPrefix(str(io["value"]), "urn:oid:")
		}
	}
	return iv
}

// imagesOf lists the links to a report's images: its presented forms and
// the content of the Media it links (media.link), when they have a URL
// the browser can open.
func imagesOf(dr obj, media map[string]obj) []imageLink {
	var out []imageLink
	add := func(att obj, fallback string) {
		u := str(att["url"])
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return
		}
		out = append(out, imageLink{URL: u, Label: cmpOr(str(att["title"]), cmpOr(str(att["contentType"]), fallback))})
	}
	for _, pf := range list(dr["presentedForm"]) {
		add(object(pf), "report")
	}
	for _, m := range list(dr["media"]) {
		mo := object(m)
		if md := media[refID(mo["link"], "Media")]; md != nil {
			add(object(md["content"]), cmpOr(str(mo["comment"]), "image"))
		}
	}
	return out
}

func obsViewOf(o obj) obsView {
	ov := obsView{Name: conceptText(o["code"]), Marked: marked(o)}
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
	if !v.Caps.Has("Patient/$resolve-health-card") {
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
	c.agg.drop("onecode") // a new use: the counts shown must include it
	http.Redirect(w, r, "/patients/"+master+"?"+url.Values{"mrn": {mrn}}.Encode(), http.StatusSeeOther)
	return "", nil
}
