package console

import (
	"context"
	"encoding/csv"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/xietong/xietong/access"
)

// The commission dashboard: whether the cooperation works, in numbers,
// with charts and CSV export. Every figure is read through the API as the
// user.

type commissionData struct {
	Participation []participationRow
	PartTotal     participationRow
	Months        []monthRow
	PartChart     template.HTML
	ActivityChart template.HTML
}

type participationRow struct {
	City         string
	Institutions int
	Members      int // institutions in at least one cooperation
	Hospitals    int // general and TCM hospitals
	Primary      int // community and township centres
}

type monthRow struct {
	Month   string // 2026-01
	Lab     int
	Imaging int
}

// activityMonths is how many months the activity chart covers.
const activityMonths = 18

func (c *Console) handleCommission(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "commission.title", "commission"
	d, err := c.commissionData(r.Context(), v.Principal, time.Now())
	if err != nil {
		return "", err
	}
	cities := make([]string, len(d.Participation))
	inst, mem := make([]float64, len(cities)), make([]float64, len(cities))
	for i, p := range d.Participation {
		cities[i], inst[i], mem[i] = p.City, float64(p.Institutions), float64(p.Members)
	}
	d.PartChart = barChart("chart-participation", msg(v.Lang, "commission.participation"), cities,
		[]series{{msg(v.Lang, "commission.institutions"), inst}, {msg(v.Lang, "commission.members"), mem}}, intFormat)
	months := make([]string, len(d.Months))
	lab, img := make([]float64, len(months)), make([]float64, len(months))
	for i, m := range d.Months {
		months[i], lab[i], img[i] = m.Month, float64(m.Lab), float64(m.Imaging)
	}
	d.ActivityChart = barChart("chart-activity", msg(v.Lang, "commission.activity"), months,
		[]series{{msg(v.Lang, "commission.lab"), lab}, {msg(v.Lang, "commission.imaging"), img}}, intFormat)
	v.Data = d
	return "commission", nil
}

// commissionData reads the figures: participation from the directory,
// activity by month from the results.
func (c *Console) commissionData(ctx context.Context, p access.Principal, now time.Time) (*commissionData, error) {
	d := &commissionData{}
	var (
		orgs, affs []obj
		e1, e2     error
		wg         sync.WaitGroup
	)
	wg.Go(func() {
		orgs, _, _, e1 = c.fhir.search(ctx, p, "Organization", url.Values{"type": {csInstitutionKind + "|"}, "_count": {"500"}, "_elements": {"address,type"}})
	})
	wg.Go(func() {
		affs, _, _, e2 = c.fhir.search(ctx, p, "OrganizationAffiliation", url.Values{"active": {"true"}, "_count": {"1000"}, "_elements": {"participatingOrganization"}})
	})
	// Activity: counts per month and kind, a few at a time, for the
	// months up to the latest result (or now, when there is none).
	latest, _, _, err := c.fhir.search(ctx, p, "DiagnosticReport", url.Values{"_sort": {"-date"}, "_count": {"1"}, "_elements": {"effectiveDateTime"}})
	if err != nil {
		return nil, err
	}
	if len(latest) > 0 {
		if t := when(str(latest[0]["effectiveDateTime"])); !t.IsZero() {
			now = t
		}
	}
	now = now.In(chinaTime)
	first := time.Date(now.Year(), now.Month()-activityMonths+1, 1, 0, 0, 0, 0, chinaTime)
	d.Months = make([]monthRow, activityMonths)
	errs := make([]error, 2*activityMonths)
	sem := make(chan struct{}, 4)
	for i := range activityMonths {
		start := first.AddDate(0, i, 0)
		d.Months[i].Month = start.Format("2006-01")
		for k, cat := range []string{"LAB", "RAD"} {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				n, err := c.fhir.count(ctx, p, "DiagnosticReport", url.Values{
					"category": {"http://terminology.hl7.org/CodeSystem/v2-0074|" + cat},
					"date":     {"ge" + start.Format("2006-01-02"), "lt" + start.AddDate(0, 1, 0).Format("2006-01-02")},
				})
				if k == 0 {
					d.Months[i].Lab = n
				} else {
					d.Months[i].Imaging = n
				}
				errs[2*i+k] = err
			})
		}
	}
	wg.Wait()
	for _, err := range append(errs, e1, e2) {
		if err != nil {
			return nil, err
		}
	}
	member := map[string]bool{}
	for _, a := range affs {
		member[refID(a["participatingOrganization"], "Organization")] = true
	}
	byCity := map[string]*participationRow{}
	for _, o := range orgs {
		city := str(firstObject(o["address"])["city"])
		row := byCity[city]
		if row == nil {
			row = &participationRow{City: city}
			byCity[city] = row
		}
		row.Institutions++
		if member[str(o["id"])] {
			row.Members++
		}
		switch kind, _ := codingIn(o["type"], csInstitutionKind); kind {
		case "general-hospital", "tcm-hospital":
			row.Hospitals++
		case "community-health-centre", "township-health-centre":
			row.Primary++
		}
	}
	d.PartTotal.City = "∑"
	for _, row := range byCity {
		d.Participation = append(d.Participation, *row)
		d.PartTotal.Institutions += row.Institutions
		d.PartTotal.Members += row.Members
		d.PartTotal.Hospitals += row.Hospitals
		d.PartTotal.Primary += row.Primary
	}
	slices.SortFunc(d.Participation, func(a, b participationRow) int { return b.Institutions - a.Institutions })
	return d, nil
}

// handleCommissionCSV exports a dashboard table as CSV (UTF-8 with a BOM,
// which spreadsheet programs need to read Chinese correctly).
func (c *Console) handleCommissionCSV(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	table := r.PathValue("table")
	if table != "participation.csv" && table != "activity.csv" {
		return "", &pageError{Status: http.StatusNotFound, Key: "error.notfound"}
	}
	d, err := c.commissionData(r.Context(), v.Principal, time.Now())
	if err != nil {
		return "", err
	}
	var rows [][]string
	switch table {
	case "participation.csv":
		rows = append(rows, []string{msg(v.Lang, "commission.city"), msg(v.Lang, "commission.institutions"), msg(v.Lang, "commission.members"), msg(v.Lang, "commission.hospitals"), msg(v.Lang, "commission.primary")})
		for _, p := range append(d.Participation, d.PartTotal) {
			rows = append(rows, []string{p.City, strconv.Itoa(p.Institutions), strconv.Itoa(p.Members), strconv.Itoa(p.Hospitals), strconv.Itoa(p.Primary)})
		}
	case "activity.csv":
		rows = append(rows, []string{msg(v.Lang, "commission.month"), msg(v.Lang, "commission.lab"), msg(v.Lang, "commission.imaging")})
		for _, m := range d.Months {
			rows = append(rows, []string{m.Month, strconv.Itoa(m.Lab), strconv.Itoa(m.Imaging)})
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+table+`"`)
	w.Write([]byte("\uFEFF"))
	cw := csv.NewWriter(w)
	cw.WriteAll(rows)
	return "", cw.Error()
}
