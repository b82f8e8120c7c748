package console

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/xietong/xietong/search"
)

// The directory: institutions, cooperations, practitioners, expert pools
// and the service finder, all read through the API.

var (
	institutionKinds = []string{"general-hospital", "tcm-hospital", "community-health-centre", "township-health-centre", "cdc", "elderly-care", "independent-lab"}
	hospitalGrades   = []string{"3A", "3B", "2A", "2B", "1A", "1"}
	serviceKinds     = []string{"outpatient", "emergency", "health-check", "lab", "imaging", "remote-consultation", "tcm-clinic", "acupuncture", "tuina", "family-doctor", "vaccination", "elderly-care", "rehabilitation", "disease-control"}
)

type institutionRow struct {
	ID, Name, Kind, Grade, City, District, Phone string
}

func institutionRowOf(o obj) institutionRow {
	addr := firstObject(o["address"])
	district, _ := addressDistrict(addr)
	kind, _ := codingIn(o["type"], csInstitutionKind)
	grade, _ := codingIn(o["type"], csHospitalGrade)
	row := institutionRow{ID: str(o["id"]), Name: str(o["name"]), Kind: kind, Grade: grade, City: str(addr["city"]), District: district}
	for _, t := range list(o["telecom"]) {
		if str(object(t)["system"]) == "phone" {
			row.Phone = str(object(t)["value"])
			break
		}
	}
	return row
}

type institutionsData struct {
	City, Kind, Grade string
	Cities            []string
	Kinds, Grades     []string
	Rows              []institutionRow
}

func (c *Console) handleInstitutions(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "dir.institutions", "directory"
	q := r.URL.Query()
	d := &institutionsData{City: q.Get("city"), Kind: q.Get("kind"), Grade: q.Get("grade"), Kinds: institutionKinds, Grades: hospitalGrades}
	v.Data = d
	if d.Kind != "" && !slices.Contains(institutionKinds, d.Kind) {
		return "", badInput("dir.badfilter")
	}
	if d.Grade != "" && !slices.Contains(hospitalGrades, d.Grade) {
		return "", badInput("dir.badfilter")
	}
	params := url.Values{"type": {csInstitutionKind + "|" + d.Kind}, "_count": {"500"}}
	if d.Grade != "" {
		params.Add("type", csHospitalGrade+"|"+d.Grade)
	}
	if d.City != "" {
		params.Set("address-city:exact", d.City)
	}
	var all, rows []obj
	var err1, err2 error
	var wg sync.WaitGroup
	wg.Go(func() {
		rows, _, _, err1 = c.fhir.search(r.Context(), v.Principal, "Organization", params)
	})
	wg.Go(func() {
		all, _, _, err2 = c.fhir.search(r.Context(), v.Principal, "Organization", url.Values{"type": {csInstitutionKind + "|"}, "_count": {"500"}, "_elements": {"address"}})
	})
	wg.Wait()
	if err1 != nil {
		return "", err1
	}
	if err2 != nil {
		return "", err2
	}
	for _, o := range all {
		if city := str(firstObject(o["address"])["city"]); city != "" && !slices.Contains(d.Cities, city) {
			d.Cities = append(d.Cities, city)
		}
	}
	slices.Sort(d.Cities)
	for _, o := range rows {
		d.Rows = append(d.Rows, institutionRowOf(o))
	}
	slices.SortFunc(d.Rows, func(a, b institutionRow) int {
		return cmp.Or(strings.Compare(a.City, b.City), strings.Compare(a.District, b.District), strings.Compare(a.Name, b.Name))
	})
	return "institutions", nil
}

type institutionData struct {
	Org          institutionRow
	Address      string
	Lat, Lon     float64
	Departments  []string
	Services     []serviceRow
	Memberships  []membershipRow
	Staff        []staffRow
	StaffTotal   int
	Practitioner int
}

type serviceRow struct {
	ID, Name, Kind, Hours, Institution, InstitutionID, District string
	Distance                                                    float64 // km, -1 when unknown
}

type membershipRow struct {
	CooperationID, Cooperation, Role, Start, End string
}

type staffRow struct {
	PractitionerID, Name, Title, Specialty, Registration, Institution string
}

func (c *Console) handleInstitution(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "dir.institution", "directory"
	id := r.PathValue("id")
	if !search.ValidID(id) {
		return "", &pageError{Status: http.StatusNotFound, Key: "error.notfound"}
	}
	ctx := r.Context()
	org, err := c.fhir.get(ctx, v.Principal, "/Organization/"+id, nil)
	if err != nil {
		return "", err
	}
	d := &institutionData{Org: institutionRowOf(org), Address: str(firstObject(org["address"])["text"])}
	v.Data = d
	type call struct {
		typ string
		q   url.Values
		out []obj
		inc map[string]obj
		tot int
		err error
	}
	calls := []*call{
		{typ: "Organization", q: url.Values{"partof": {"Organization/" + id}, "_count": {"200"}, "_elements": {"name"}}},
		{typ: "HealthcareService", q: url.Values{"organization": {"Organization/" + id}, "_count": {"200"}}},
		{typ: "OrganizationAffiliation", q: url.Values{"participating-organization": {"Organization/" + id}, "role": {csAffiliationRole + "|"}, "_count": {"200"}}},
		{typ: "PractitionerRole", q: url.Values{"organization": {"Organization/" + id}, "_count": {"100"}, "_include": {"PractitionerRole:practitioner"}, "_total": {"accurate"}}},
	}
	var wg sync.WaitGroup
	for _, cl := range calls {
		wg.Go(func() { cl.out, cl.inc, cl.tot, cl.err = c.fhir.search(ctx, v.Principal, cl.typ, cl.q) })
	}
	wg.Wait()
	for _, cl := range calls {
		if cl.err != nil {
			return "", cl.err
		}
	}
	for _, dep := range calls[0].out {
		d.Departments = append(d.Departments, str(dep["name"]))
	}
	for _, s := range calls[1].out {
		d.Services = append(d.Services, serviceRowOf(s))
	}
	for _, a := range calls[2].out {
		d.Memberships = append(d.Memberships, membershipRow{
			CooperationID: refID(a["organization"], "Organization"), Cooperation: refDisplay(a["organization"]),
			Role: firstCode(a["code"], csAffiliationRole), Start: str(object(a["period"])["start"]), End: str(object(a["period"])["end"]),
		})
	}
	d.Staff = staffRows(calls[3].out, calls[3].inc)
	d.StaffTotal = calls[3].tot
	return "institution", nil
}

func firstCode(concepts any, system string) string {
	code, _ := codingIn(concepts, system)
	return code
}

func serviceRowOf(s obj) serviceRow {
	row := serviceRow{
		ID: str(s["id"]), Name: str(s["name"]), Kind: firstCode(s["category"], csServiceKind),
		Institution: refDisplay(s["providedBy"]), InstitutionID: refID(s["providedBy"], "Organization"), Distance: -1,
	}
	var hours []string
	for _, at := range list(s["availableTime"]) {
		ao := object(at)
		days := make([]string, 0, 7)
		for _, dd := range list(ao["daysOfWeek"]) {
			days = append(days, str(dd))
		}
		span := "24h"
		if ao["allDay"] != true {
			span = strings.TrimSuffix(str(ao["availableStartTime"]), ":00") + "–" + strings.TrimSuffix(str(ao["availableEndTime"]), ":00")
		}
		hours = append(hours, strings.Join(days, ",")+" "+span)
	}
	row.Hours = strings.Join(hours, "; ")
	return row
}

func staffRows(roles []obj, inc map[string]obj) []staffRow {
	out := make([]staffRow, 0, len(roles))
	for _, pr := range roles {
		pid := refID(pr["practitioner"], "Practitioner")
		row := staffRow{
			PractitionerID: pid, Name: refDisplay(pr["practitioner"]), Specialty: conceptText(firstObject(pr["specialty"])),
			Registration: firstCode(pr["code"], csRegistration), Institution: refDisplay(pr["organization"]),
		}
		if p := inc["Practitioner/"+pid]; p != nil {
			row.Name = humanName(p["name"])
			for _, q := range list(p["qualification"]) {
				if t := conceptText(object(q)["code"]); t != "" {
					row.Title = t
					break
				}
			}
		}
		out = append(out, row)
	}
	return out
}

// --- cooperations ---------------------------------------------------------

type cooperationRow struct {
	ID, Name, Kind string
	Active         bool
	Members        []membershipMember
}

type membershipMember struct {
	ID, Name, Role, Start string
}

func (c *Console) handleCooperations(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "dir.cooperations", "directory"
	coops, inc, _, err := c.fhir.search(r.Context(), v.Principal, "Organization", url.Values{
		"type":        {csCooperationKind + "|"},
		"type:not":    {csCooperationKind + "|regional-collaboration"},
		"_revinclude": {"OrganizationAffiliation:primary-organization"},
		"_count":      {"200"},
	})
	if err != nil {
		return "", err
	}
	byCoop := map[string][]membershipMember{}
	for _, a := range inc {
		if str(a["resourceType"]) != "OrganizationAffiliation" {
			continue
		}
		cid := refID(a["organization"], "Organization")
		byCoop[cid] = append(byCoop[cid], membershipMember{
			ID: refID(a["participatingOrganization"], "Organization"), Name: refDisplay(a["participatingOrganization"]),
			Role: firstCode(a["code"], csAffiliationRole), Start: str(object(a["period"])["start"]),
		})
	}
	var rows []cooperationRow
	for _, co := range coops {
		id := str(co["id"])
		members := byCoop[id]
		slices.SortFunc(members, func(a, b membershipMember) int {
			return cmp.Or(cmp.Compare(roleOrder(a.Role), roleOrder(b.Role)), strings.Compare(a.Name, b.Name))
		})
		active, _ := co["active"].(bool)
		rows = append(rows, cooperationRow{ID: id, Name: str(co["name"]), Kind: firstCode(co["type"], csCooperationKind), Active: active, Members: members})
	}
	slices.SortFunc(rows, func(a, b cooperationRow) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Name, b.Name))
	})
	v.Data = rows
	return "cooperations", nil
}

func roleOrder(role string) int {
	switch role {
	case "lead":
		return 0
	case "supporting":
		return 1
	case "supported":
		return 2
	}
	return 3
}

// --- practitioners and pools ---------------------------------------------

type practitionersData struct {
	Org, Registration string
	Page              int
	Institutions      []option
	Rows              []staffRow
	Total             int
	PrevPage          int
	NextPage          int
}

const practitionersPerPage = 50

func (c *Console) handlePractitioners(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "dir.practitioners", "directory"
	q := r.URL.Query()
	d := &practitionersData{Org: q.Get("org"), Registration: q.Get("registration"), Page: 1}
	v.Data = d
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 10000 {
			return "", badInput("dir.badfilter")
		}
		d.Page = n
	}
	params := url.Values{
		"_include": {"PractitionerRole:practitioner"}, "_count": {strconv.Itoa(practitionersPerPage)},
		"_offset": {strconv.Itoa((d.Page - 1) * practitionersPerPage)}, "_total": {"accurate"}, "_sort": {"_id"},
	}
	if d.Org != "" {
		if !search.ValidID(d.Org) {
			return "", badInput("dir.badfilter")
		}
		params.Set("organization", "Organization/"+d.Org)
	}
	switch d.Registration {
	case "":
	case "primary", "regional":
		params.Set("role", csRegistration+"|"+d.Registration)
	default:
		return "", badInput("dir.badfilter")
	}
	var (
		roles     []obj
		inc       map[string]obj
		err, err2 error
		wg        sync.WaitGroup
	)
	wg.Go(func() { roles, inc, d.Total, err = c.fhir.search(r.Context(), v.Principal, "PractitionerRole", params) })
	wg.Go(func() { d.Institutions, err2 = c.institutionOptions(r, v.Principal) })
	wg.Wait()
	if err != nil {
		return "", err
	}
	if err2 != nil {
		return "", err2
	}
	d.Rows = staffRows(roles, inc)
	if d.Page > 1 {
		d.PrevPage = d.Page - 1
	}
	if d.Page*practitionersPerPage < d.Total {
		d.NextPage = d.Page + 1
	}
	return "practitioners", nil
}

type poolRow struct {
	ID, Name, Kind, Specialty string
	Members                   []string
}

func (c *Console) handlePools(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "dir.pools", "directory"
	groups, _, _, err := c.fhir.search(r.Context(), v.Principal, "Group", url.Values{"type": {"practitioner"}, "_count": {"200"}})
	if err != nil {
		return "", err
	}
	v.Data = poolRows(groups)
	return "pools", nil
}

// poolRows are the expert pools to show, by name: an ended pool
// (active=false, as a directory sync leaves it, decision 032) and its
// ended members (inactive) are left out.
func poolRows(groups []obj) []poolRow {
	slices.SortFunc(groups, func(a, b obj) int { return strings.Compare(str(a["name"]), str(b["name"])) })
	var rows []poolRow
	for _, g := range groups {
		if active, ok := g["active"].(bool); ok && !active {
			continue
		}
		row := poolRow{ID: str(g["id"]), Name: str(g["name"]), Kind: conceptText(g["code"])}
		for _, ch := range list(g["characteristic"]) {
			row.Specialty = conceptText(object(ch)["valueCodeableConcept"])
		}
		for _, m := range list(g["member"]) {
			if inactive, _ := object(m)["inactive"].(bool); inactive {
				continue
			}
			row.Members = append(row.Members, refDisplay(object(m)["entity"]))
		}
		rows = append(rows, row)
	}
	return rows
}

// --- the service finder ----------------------------------------------------

type servicesData struct {
	Kind, From   string
	Kinds        []string
	Institutions []option
	Rows         []serviceRow
}

// handleServices finds the services of a kind, nearest first from the
// chosen institution (by default the user's own).
func (c *Console) handleServices(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "dir.services", "directory"
	q := r.URL.Query()
	d := &servicesData{Kind: q.Get("kind"), From: q.Get("from"), Kinds: serviceKinds}
	v.Data = d
	if d.Kind == "" {
		d.Kind = "tcm-clinic"
	}
	if !slices.Contains(serviceKinds, d.Kind) {
		return "", badInput("dir.badfilter")
	}
	if d.From == "" {
		d.From = v.Principal.Organization
	}
	if d.From != "" && !search.ValidID(d.From) {
		return "", badInput("dir.badfilter")
	}
	ctx := r.Context()
	var (
		origin []obj
		e1, e2 error
		wg     sync.WaitGroup
	)
	if d.From != "" {
		wg.Go(func() {
			origin, _, _, e1 = c.fhir.search(ctx, v.Principal, "Location", url.Values{"organization": {"Organization/" + d.From}, "_count": {"1"}})
		})
	}
	wg.Go(func() { d.Institutions, e2 = c.institutionOptions(r, v.Principal) })
	wg.Wait()
	for _, err := range []error{e1, e2} {
		if err != nil {
			return "", err
		}
	}
	var pos obj
	if len(origin) > 0 {
		pos = object(origin[0]["position"])
	}
	var (
		b   obj
		err error
	)
	if pos != nil {
		// Nearest first, by the directory's finder.
		b, err = c.fhir.get(ctx, v.Principal, "/HealthcareService/$find", url.Values{
			"lat": {jsonText(pos["latitude"])}, "lon": {jsonText(pos["longitude"])}, "type": {d.Kind},
			"radius": {strconv.Itoa(finderRadiusKm)}, "count": {"100"},
		})
	} else {
		// No place to measure from: every service of the kind.
		b, err = c.fhir.get(ctx, v.Principal, "/HealthcareService", url.Values{
			"service-category": {csServiceKind + "|" + d.Kind}, "_include": {"HealthcareService:location"}, "_count": {"500"},
		})
	}
	if err != nil {
		return "", err
	}
	services, inc := entries(b)
	distance := map[string]float64{}
	for _, e := range list(b["entry"]) {
		eo := object(e)
		for _, x := range list(object(eo["search"])["extension"]) {
			if str(object(x)["url"]) == extLocationDistance {
				distance[str(object(eo["resource"])["id"])] = num(object(object(x)["valueDistance"])["value"])
			}
		}
	}
	for _, s := range services {
		if s["active"] == false {
			continue
		}
		row := serviceRowOf(s)
		if km, ok := distance[row.ID]; ok {
			row.Distance = km
		}
		if loc := inc["Location/"+refID(firstObject(s["location"]), "Location")]; loc != nil {
			row.District, _ = addressDistrict(object(loc["address"]))
		}
		d.Rows = append(d.Rows, row)
	}
	if pos == nil {
		slices.SortFunc(d.Rows, func(a, b serviceRow) int {
			return cmp.Or(strings.Compare(a.District, b.District), strings.Compare(a.Name, b.Name))
		})
	}
	return "services", nil
}

// finderRadiusKm covers a city cluster: 通武廊 spans about 100 km.
const finderRadiusKm = 200

// extLocationDistance carries the distance of a near search on a
// searchset entry (R4 location-distance).
const extLocationDistance = "http://hl7.org/fhir/StructureDefinition/location-distance"
