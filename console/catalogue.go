package console

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/search"
)

// Editing the recognition catalogue and the qualifications (administrators
// only; everyone reads). Every change is a write of the recognition
// engine's own resources through the API (decision 011): an item is an
// ActivityDefinition (window, price, covered codes), a membership of a
// programme an OrganizationAffiliation, an EQA result a Basic. So the API
// validates, the guard decides and the audit trail records each change,
// and the engine re-reads its state and brings the HR marks in line.
//
// The demo access policy lets every role but the viewer write; the
// console offers these forms to administrators only and refuses a post by
// any other role with 403 before calling the API (decision 013).

const (
	extRecEQA    = "https://xietong.dev/fhir/StructureDefinition/recognition-eqa"
	codeEQA      = "eqa-result"
	maxWindow    = 3650
	maxPrice     = 1_000_000
	maxCodeLines = 50
)

var (
	codeSystemRe = regexp.MustCompile(`^(https?://|urn:)[^\s|]{1,200}$`)
	codeValueRe  = regexp.MustCompile(`^[^\s|]{1,64}$`)
	programmeRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$`)
)

// requireAdmin refuses a catalogue change by any role but administrator.
func requireAdmin(v *view) error {
	if !v.Can("edit-catalogue") {
		return &pageError{Status: http.StatusForbidden, Key: "catalogue.adminonly"}
	}
	return nil
}

// --- one item ------------------------------------------------------------------

type itemForm struct {
	ID, Programme, Code, Name, Category string
	WindowDays, Price, Codes            string // as shown or typed
	Errors                              []string
	Saved, CanEdit                      bool
}

func (c *Console) handleItem(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "catalogue.item", "catalogue"
	ad, err := c.readItem(r, v)
	if err != nil {
		return "", err
	}
	f := itemFormOf(ad)
	f.CanEdit = v.Can("edit-catalogue")
	f.Saved = r.URL.Query().Get("saved") == "1"
	v.Data = f
	return "item", nil
}

func (c *Console) readItem(r *http.Request, v *view) (obj, error) {
	id := r.PathValue("id")
	if !search.ValidID(id) {
		return nil, &pageError{Status: http.StatusNotFound, Key: "error.notfound"}
	}
	ad, err := c.fhir.get(r.Context(), v.Principal, "/ActivityDefinition/"+id, nil)
	if err != nil {
		return nil, err
	}
	if code, _ := codingIn(ad["code"], csRecItem); code == "" {
		return nil, &pageError{Status: http.StatusNotFound, Key: "catalogue.notitem"}
	}
	return ad, nil
}

func itemFormOf(ad obj) *itemForm {
	row := catalogueRowOf(ad)
	f := &itemForm{ID: str(ad["id"]), Programme: row.Programme, Code: row.Code, Name: row.Name, Category: row.Category,
		WindowDays: strconv.Itoa(row.WindowDays), Price: strconv.FormatFloat(row.Price, 'f', -1, 64)}
	var lines []string
	for _, cd := range list(object(ad["code"])["coding"]) {
		co := object(cd)
		if str(co["system"]) == csRecItem {
			continue
		}
		lines = append(lines, str(co["system"])+"|"+str(co["code"]))
	}
	f.Codes = strings.Join(lines, "\n")
	return f
}

// handleItemSave changes an item's window, price and covered codes: the
// ActivityDefinition is read, changed and written back with If-Match on
// the version read, so a concurrent change is not overwritten silently.
func (c *Console) handleItemSave(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "catalogue.item", "catalogue"
	if err := requireAdmin(v); err != nil {
		return "", err
	}
	if err := r.ParseForm(); err != nil {
		return "", badInput("error.form")
	}
	ad, err := c.readItem(r, v)
	if err != nil {
		return "", err
	}
	f := itemFormOf(ad)
	f.CanEdit = true
	f.WindowDays, f.Price, f.Codes = strings.TrimSpace(r.PostForm.Get("windowDays")), strings.TrimSpace(r.PostForm.Get("price")), r.PostForm.Get("codes")
	v.Data = f
	window, err := strconv.Atoi(f.WindowDays)
	if err != nil || window < 0 || window > maxWindow {
		f.Errors = append(f.Errors, msg(v.Lang, "catalogue.badwindow", maxWindow))
	}
	price, err := strconv.ParseFloat(f.Price, 64)
	if err != nil || price < 0 || price > maxPrice || strings.ContainsAny(f.Price, "eEnN") {
		f.Errors = append(f.Errors, msg(v.Lang, "catalogue.badprice"))
	}
	codes, bad := parseCodes(f.Codes)
	for _, line := range bad {
		f.Errors = append(f.Errors, msg(v.Lang, "catalogue.badcode", line))
	}
	if len(codes) == 0 && len(bad) == 0 {
		f.Errors = append(f.Errors, msg(v.Lang, "catalogue.nocodes"))
	}
	if len(codes) > maxCodeLines {
		f.Errors = append(f.Errors, msg(v.Lang, "catalogue.toomanycodes", maxCodeLines))
	}
	if len(f.Errors) > 0 {
		v.Status = http.StatusBadRequest
		return "item", nil
	}
	// The item's own coding first, then the covered codes; displays of
	// codes that stay are kept.
	display := map[string]string{}
	var item any
	for _, cd := range list(object(ad["code"])["coding"]) {
		co := object(cd)
		if str(co["system"]) == csRecItem && item == nil {
			item = co
			continue
		}
		display[str(co["system"])+"|"+str(co["code"])] = str(co["display"])
	}
	coding := []any{item}
	for _, sc := range codes {
		cd := obj{"system": sc[0], "code": sc[1]}
		if d := display[sc[0]+"|"+sc[1]]; d != "" {
			cd["display"] = d
		}
		coding = append(coding, cd)
	}
	code := object(ad["code"])
	code["coding"] = coding
	setItemRule(ad, "windowDays", obj{"url": "windowDays", "valueInteger": window})
	setItemRule(ad, "price", obj{"url": "price", "valueMoney": obj{"value": price, "currency": "CNY"}})
	if _, err := c.fhir.write(r.Context(), v.Principal, http.MethodPut, "/ActivityDefinition/"+f.ID, ad, versionOf(ad)); err != nil {
		return c.formFailed(v, err, &f.Errors, "item")
	}
	http.Redirect(w, r, "/recognition/items/"+url.PathEscape(f.ID)+"?saved=1", http.StatusSeeOther)
	return "", nil
}

// formFailed shows a refusal of the API on the form it came from (the
// values kept): 4xx answers with their reason; anything else is an error
// page.
func (c *Console) formFailed(v *view, err error, errs *[]string, page string) (string, error) {
	ae, ok := err.(*apiError)
	if !ok || ae.Status >= 500 {
		return "", err
	}
	if ae.Status == http.StatusForbidden {
		return "", err
	}
	key := "catalogue.refused"
	if ae.Status == http.StatusConflict || ae.Status == http.StatusPreconditionFailed {
		key = "catalogue.conflict"
	}
	*errs = append(*errs, msg(v.Lang, key)+" "+ae.Message)
	v.Status = ae.Status
	return page, nil
}

// parseCodes reads "system|code" lines; blank lines are skipped, repeats
// dropped.
func parseCodes(text string) (codes [][2]string, bad []string) {
	seen := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		sys, code, ok := strings.Cut(line, "|")
		sys, code = strings.TrimSpace(sys), strings.TrimSpace(code)
		if !ok || !codeSystemRe.MatchString(sys) || !codeValueRe.MatchString(code) {
			if len(line) > 80 {
				line = line[:80] + "…"
			}
			bad = append(bad, line)
			continue
		}
		if !seen[sys+"|"+code] {
			seen[sys+"|"+code] = true
			codes = append(codes, [2]string{sys, code})
		}
	}
	return codes, bad
}

// setItemRule replaces (or adds) one part of the item's recognition-item
// extension.
func setItemRule(ad obj, name string, part obj) {
	exts := list(ad["extension"])
	var ext obj
	for _, e := range exts {
		if str(object(e)["url"]) == extRecItem {
			ext = object(e)
		}
	}
	if ext == nil {
		ext = obj{"url": extRecItem}
		ad["extension"] = append(exts, ext)
	}
	parts := list(ext["extension"])
	for i, x := range parts {
		if str(object(x)["url"]) == name {
			parts[i] = part
			ext["extension"] = parts
			return
		}
	}
	ext["extension"] = append(parts, part)
}

func versionOf(res obj) string { return str(object(res["meta"])["versionId"]) }

// --- qualifications --------------------------------------------------------------

type qualData struct {
	Memberships  []progMemberRow
	EQASummary   []eqaSummary // of the chosen institution (one row)
	EQA          []eqaRow     // of the chosen institution
	Org, OrgName string       // the institution whose EQA results are shown
	Institutions []option
	Programmes   []option
	Items        []checkItem
	CanEdit      bool
	Today        string
	Done         string // added, withdrawn or eqa after a change
	Member       memberForm
	Withdraw     withdrawForm
	Result       eqaForm
}

type progMemberRow struct {
	ID, OrgID, Org, Programme, Start, End string
	Current                               bool
}

type eqaSummary struct {
	OrgID, Org   string
	Pass, Fail   int
	LastFail     string // item and year of the latest failure
	LastFailDate string
}

type eqaRow struct {
	ID, Item, Outcome, Date string
	Year                    int
}

type memberForm struct {
	Org, Programme, Start, End string
	Errors                     []string
}

type withdrawForm struct {
	ID, End string
	Errors  []string
}

type eqaForm struct {
	Org, Item, Year, Outcome, Date string
	Errors                         []string
}

func (c *Console) handleQualifications(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "qual.title", "catalogue"
	d, err := c.qualifications(r, v)
	if err != nil {
		return "", err
	}
	switch done := r.URL.Query().Get("done"); done {
	case "added", "withdrawn", "eqa":
		d.Done = done
	}
	return "qualifications", nil
}

// qualifications reads the memberships, the EQA results and the lists the
// forms choose from, in parallel.
func (c *Console) qualifications(r *http.Request, v *view) (*qualData, error) {
	ctx := r.Context()
	d := &qualData{CanEdit: v.Can("edit-catalogue"), Today: time.Now().In(chinaTime).Format("2006-01-02")}
	v.Data = d
	org := r.URL.Query().Get("org")
	if r.Method == http.MethodPost {
		org = r.PostForm.Get("org")
	}
	if org != "" && !search.ValidID(org) {
		return nil, badInput("qual.badorg")
	}
	var (
		affs, eqas, plans []obj
		errs              [5]error
		wg                sync.WaitGroup
	)
	wg.Go(func() {
		affs, _, _, errs[0] = c.fhir.search(ctx, v.Principal, "OrganizationAffiliation", url.Values{"role": {csRecProg + "|"}, "_count": {"1000"}})
	})
	if org == "" {
		org = v.Principal.Organization
	}
	d.Org = org
	if org != "" { // the EQA results of one institution at a time
		wg.Go(func() {
			eqas, _, _, errs[1] = c.fhir.search(ctx, v.Principal, "Basic", url.Values{"code": {csRecognition + "|" + codeEQA}, "subject": {"Organization/" + org}, "_count": {"1000"}, "_elements": {"subject,created,extension"}})
		})
	}
	wg.Go(func() {
		// every PlanDefinition (a handful), filtered here: a search by the
		// identifier system alone scans the identifiers of every resource
		plans, _, _, errs[2] = c.fhir.search(ctx, v.Principal, "PlanDefinition", url.Values{"_count": {"1000"}, "_elements": {"identifier,title,subtitle"}})
	})
	wg.Go(func() { d.Institutions, errs[3] = c.institutionOptions(r, v.Principal) })
	wg.Go(func() { d.Items, errs[4] = c.recognitionItems(r, v) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	names := map[string]string{}
	if org != "" && !slices.ContainsFunc(d.Institutions, func(o option) bool { return o.Value == org }) {
		return nil, badInput("qual.badorg")
	}
	for _, o := range d.Institutions {
		names[o.Value] = o.Label
	}
	d.OrgName = names[org]
	for _, p := range plans {
		code := identifier(p, csRecProg)
		if code == "" {
			continue
		}
		label := str(p["title"])
		if v.Lang == "en" && str(p["subtitle"]) != "" {
			label = str(p["subtitle"])
		}
		d.Programmes = append(d.Programmes, option{Value: code, Label: cmpOr(label, code)})
	}
	slices.SortFunc(d.Programmes, func(a, b option) int { return strings.Compare(a.Value, b.Value) })
	for _, a := range affs {
		prog, _ := codingIn(a["code"], csRecProg)
		if prog == "" {
			continue
		}
		per := object(a["period"])
		row := progMemberRow{ID: str(a["id"]), OrgID: refID(a["participatingOrganization"], "Organization"), Programme: prog,
			Start: str(per["start"]), End: str(per["end"])}
		row.Org = cmpOr(names[row.OrgID], refDisplay(a["participatingOrganization"]))
		row.Current = a["active"] != false && (row.End == "" || row.End >= d.Today) && (row.Start == "" || row.Start <= d.Today)
		d.Memberships = append(d.Memberships, row)
	}
	slices.SortFunc(d.Memberships, func(a, b progMemberRow) int {
		return cmp.Or(strings.Compare(a.Org, b.Org), strings.Compare(a.Programme, b.Programme), strings.Compare(a.Start, b.Start))
	})
	byOrg := map[string]*eqaSummary{}
	for _, b := range eqas {
		oid := refID(b["subject"], "Organization")
		s := byOrg[oid]
		if s == nil {
			s = &eqaSummary{OrgID: oid, Org: cmpOr(names[oid], refDisplay(b["subject"]))}
			byOrg[oid] = s
		}
		row := eqaRow{ID: str(b["id"]), Date: str(b["created"])}
		for _, e := range list(b["extension"]) {
			if str(object(e)["url"]) != extRecEQA {
				continue
			}
			for _, x := range list(object(e)["extension"]) {
				xo := object(x)
				switch str(xo["url"]) {
				case "item":
					row.Item = str(xo["valueCode"])
				case "year":
					row.Year = int(num(xo["valueInteger"]))
				case "outcome":
					row.Outcome = str(xo["valueCode"])
				}
			}
		}
		if row.Outcome == "fail" {
			s.Fail++
			if row.Date >= s.LastFailDate {
				s.LastFailDate, s.LastFail = row.Date, fmt.Sprintf("%s %d", row.Item, row.Year)
			}
		} else {
			s.Pass++
		}
		if oid == org {
			d.EQA = append(d.EQA, row)
		}
	}
	for _, s := range byOrg {
		d.EQASummary = append(d.EQASummary, *s)
	}
	slices.SortFunc(d.EQASummary, func(a, b eqaSummary) int { return strings.Compare(a.Org, b.Org) })
	slices.SortFunc(d.EQA, func(a, b eqaRow) int {
		return cmp.Or(strings.Compare(b.Date, a.Date), strings.Compare(a.Item, b.Item))
	})
	d.Member.Start, d.Result.Date, d.Result.Year, d.Result.Outcome = d.Today, d.Today, d.Today[:4], "pass"
	d.Result.Org = org
	return d, nil
}

func validDate(s string) bool {
	t, err := time.Parse("2006-01-02", s)
	return err == nil && t.Year() >= 1990 && t.Year() <= 2100
}

func (d *qualData) hasOrg(id string) bool {
	return slices.ContainsFunc(d.Institutions, func(o option) bool { return o.Value == id })
}

func (d *qualData) hasProgramme(code string) bool {
	return slices.ContainsFunc(d.Programmes, func(o option) bool { return o.Value == code })
}

// qualForm starts handling a post of a qualifications form: only for
// administrators; the page's data, for showing the form again.
func (c *Console) qualForm(r *http.Request, v *view) (*qualData, error) {
	v.Title, v.Section = "qual.title", "catalogue"
	if err := requireAdmin(v); err != nil {
		return nil, err
	}
	if err := r.ParseForm(); err != nil {
		return nil, badInput("error.form")
	}
	return c.qualifications(r, v)
}

// handleMemberAdd adds an institution to a programme from a date (and
// until one, if given): a new OrganizationAffiliation.
func (c *Console) handleMemberAdd(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	d, err := c.qualForm(r, v)
	if err != nil {
		return "", err
	}
	f := &d.Member
	f.Org, f.Programme = r.PostForm.Get("org"), r.PostForm.Get("programme")
	f.Start, f.End = strings.TrimSpace(r.PostForm.Get("start")), strings.TrimSpace(r.PostForm.Get("end"))
	if !d.hasOrg(f.Org) {
		f.Errors = append(f.Errors, msg(v.Lang, "qual.needorg"))
	}
	if !programmeRe.MatchString(f.Programme) || !d.hasProgramme(f.Programme) {
		f.Errors = append(f.Errors, msg(v.Lang, "qual.needprogramme"))
	}
	if !validDate(f.Start) {
		f.Errors = append(f.Errors, msg(v.Lang, "qual.baddate", f.Start))
	}
	if f.End != "" && (!validDate(f.End) || f.End < f.Start) {
		f.Errors = append(f.Errors, msg(v.Lang, "qual.badend"))
	}
	if len(f.Errors) > 0 {
		v.Status = http.StatusBadRequest
		return "qualifications", nil
	}
	name := ""
	for _, o := range d.Institutions {
		if o.Value == f.Org {
			name = o.Label
		}
	}
	progName := f.Programme
	for _, o := range d.Programmes {
		if o.Value == f.Programme {
			progName = o.Label
		}
	}
	period := obj{"start": f.Start}
	if f.End != "" {
		period["end"] = f.End
	}
	oa := obj{
		"resourceType":              "OrganizationAffiliation",
		"active":                    true,
		"period":                    period,
		"participatingOrganization": obj{"reference": "Organization/" + f.Org, "display": name},
		"code":                      []any{obj{"coding": []any{obj{"system": csRecProg, "code": f.Programme, "display": progName}}, "text": progName}},
	}
	if _, err := c.fhir.write(r.Context(), v.Principal, http.MethodPost, "/OrganizationAffiliation", oa, ""); err != nil {
		return c.formFailed(v, err, &f.Errors, "qualifications")
	}
	http.Redirect(w, r, "/recognition/qualifications?done=added", http.StatusSeeOther)
	return "", nil
}

// handleMemberWithdraw ends a membership on a date (the last day it
// counts): the affiliation's period.end, written with If-Match.
func (c *Console) handleMemberWithdraw(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "qual.title", "catalogue"
	if err := requireAdmin(v); err != nil {
		return "", err
	}
	id := r.PathValue("id")
	if !search.ValidID(id) {
		return "", &pageError{Status: http.StatusNotFound, Key: "error.notfound"}
	}
	if err := r.ParseForm(); err != nil {
		return "", badInput("error.form")
	}
	oa, err := c.fhir.get(r.Context(), v.Principal, "/OrganizationAffiliation/"+id, nil)
	if err != nil {
		return "", err
	}
	if prog, _ := codingIn(oa["code"], csRecProg); prog == "" {
		return "", &pageError{Status: http.StatusNotFound, Key: "qual.notmember"}
	}
	end := strings.TrimSpace(r.PostForm.Get("end"))
	// The page's data (five reads) is needed only to show the form again.
	form := func() (*withdrawForm, error) {
		d, err := c.qualifications(r, v)
		if err != nil {
			return nil, err
		}
		d.Withdraw.ID, d.Withdraw.End = id, end
		return &d.Withdraw, nil
	}
	per := object(oa["period"])
	var bad string
	if !validDate(end) {
		bad = msg(v.Lang, "qual.baddate", end)
	} else if start := str(per["start"]); start != "" && end < start[:min(10, len(start))] {
		bad = msg(v.Lang, "qual.badend")
	}
	if bad != "" {
		f, err := form()
		if err != nil {
			return "", err
		}
		f.Errors = append(f.Errors, bad)
		v.Status = http.StatusBadRequest
		return "qualifications", nil
	}
	if per == nil {
		per = obj{}
	}
	per["end"] = end
	oa["period"] = per
	if _, err := c.fhir.write(r.Context(), v.Principal, http.MethodPut, "/OrganizationAffiliation/"+id, oa, versionOf(oa)); err != nil {
		f, ferr := form()
		if ferr != nil {
			return "", ferr
		}
		return c.formFailed(v, err, &f.Errors, "qualifications")
	}
	http.Redirect(w, r, "/recognition/qualifications?done=withdrawn", http.StatusSeeOther)
	return "", nil
}

// handleEQA records an external quality assessment (室间质评) result of an
// institution for an item: a Basic of the recognition engine's shape.
func (c *Console) handleEQA(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	d, err := c.qualForm(r, v)
	if err != nil {
		return "", err
	}
	f := &d.Result
	f.Org, f.Item, f.Outcome = r.PostForm.Get("org"), r.PostForm.Get("item"), r.PostForm.Get("outcome")
	f.Year, f.Date = strings.TrimSpace(r.PostForm.Get("year")), strings.TrimSpace(r.PostForm.Get("date"))
	if !d.hasOrg(f.Org) {
		f.Errors = append(f.Errors, msg(v.Lang, "qual.needorg"))
	}
	if !slices.ContainsFunc(d.Items, func(it checkItem) bool { return it.Code == f.Item }) {
		f.Errors = append(f.Errors, msg(v.Lang, "qual.needitem"))
	}
	year, err := strconv.Atoi(f.Year)
	if err != nil || year < 1990 || year > 2100 {
		f.Errors = append(f.Errors, msg(v.Lang, "qual.badyear"))
	}
	if f.Outcome != "pass" && f.Outcome != "fail" {
		f.Errors = append(f.Errors, msg(v.Lang, "qual.needoutcome"))
	}
	if !validDate(f.Date) {
		f.Errors = append(f.Errors, msg(v.Lang, "qual.baddate", f.Date))
	}
	if len(f.Errors) > 0 {
		v.Status = http.StatusBadRequest
		return "qualifications", nil
	}
	name := ""
	for _, o := range d.Institutions {
		if o.Value == f.Org {
			name = o.Label
		}
	}
	basic := obj{
		"resourceType": "Basic",
		"code":         obj{"coding": []any{obj{"system": csRecognition, "code": codeEQA, "display": "EQA result"}}, "text": "室间质评结果"},
		"subject":      obj{"reference": "Organization/" + f.Org, "display": name},
		"created":      f.Date,
		"extension": []any{obj{"url": extRecEQA, "extension": []any{
			obj{"url": "item", "valueCode": f.Item},
			obj{"url": "year", "valueInteger": year},
			obj{"url": "outcome", "valueCode": f.Outcome},
		}}},
	}
	if _, err := c.fhir.write(r.Context(), v.Principal, http.MethodPost, "/Basic", basic, ""); err != nil {
		return c.formFailed(v, err, &f.Errors, "qualifications")
	}
	http.Redirect(w, r, "/recognition/qualifications?"+url.Values{"done": {"eqa"}, "org": {f.Org}}.Encode(), http.StatusSeeOther)
	return "", nil
}

// write sends a PUT or POST with If-Match on version when given.
func (c *client) write(ctx context.Context, p access.Principal, method, path string, body obj, version string) (obj, error) {
	h := http.Header{}
	if version != "" {
		h.Set("If-Match", `W/"`+version+`"`)
	}
	rec, err := c.rawWith(ctx, p, method, path, nil, body, h)
	if err != nil {
		return nil, err
	}
	return rec.decode(method, path)
}
