package console

import (
	"context"
	"encoding/csv"
	"errors"
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
	Recognition   *recognitionStats // nil when the node has no recognition engine
	CityNames     map[string]string
	Participation []participationRow
	PartTotal     participationRow
	PartChart     template.HTML
}

type participationRow struct {
	City         string
	Institutions int
	Members      int // institutions in at least one active cooperation
	Hospitals    int // general and TCM hospitals
	Primary      int // community and township centres
}

func (c *Console) handleCommission(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "commission.title", "commission"
	d, err := c.participation(r.Context(), v.Principal)
	if err != nil {
		return "", err
	}
	if v.Caps.Has("MeasureReport/$recognition-stats") {
		if d.Recognition, err = c.recognitionStats(r, v); err != nil {
			return "", err
		}
	}
	cities := make([]string, len(d.Participation))
	inst, mem := make([]float64, len(cities)), make([]float64, len(cities))
	for i, p := range d.Participation {
		cities[i], inst[i], mem[i] = p.City, float64(p.Institutions), float64(p.Members)
	}
	d.PartChart = barChart("chart-participation", msg(v.Lang, "commission.participation"), cities,
		[]series{{msg(v.Lang, "commission.institutions"), inst}, {msg(v.Lang, "commission.members"), mem}}, intFormat)
	v.Data = d
	return "commission", nil
}

// participation counts the institutions by city, and those in at least
// one active cooperation, from the directory.
func (c *Console) participation(ctx context.Context, p access.Principal) (*commissionData, error) {
	d := &commissionData{CityNames: map[string]string{}}
	var (
		orgs, affs []obj
		e1, e2     error
		wg         sync.WaitGroup
	)
	wg.Go(func() {
		orgs, _, _, e1 = c.fhir.search(ctx, p, "Organization", url.Values{"type": {csInstitutionKind + "|"}, "_count": {"500"}, "_elements": {"address,type"}})
	})
	wg.Go(func() {
		affs, _, _, e2 = c.fhir.search(ctx, p, "OrganizationAffiliation", url.Values{"_count": {"1000"}, "_elements": {"participatingOrganization,active"}})
	})
	wg.Wait()
	for _, err := range []error{e1, e2} {
		if err != nil {
			return nil, err
		}
	}
	member := map[string]bool{}
	for _, a := range affs {
		if a["active"] != false {
			member[refID(a["participatingOrganization"], "Organization")] = true
		}
	}
	byCity := map[string]*participationRow{}
	for _, o := range orgs {
		addr := firstObject(o["address"])
		city := str(addr["city"])
		if _, div := addressDistrict(addr); div != "" {
			d.CityNames[cityCode(div)] = city
		}
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

// --- activity by month -------------------------------------------------------

type activityData struct {
	counting
	To     string // the last month shown, 2026-10
	Months []monthRow
	Chart  template.HTML
}

type monthRow struct {
	Month   string // 2026-01
	Lab     int
	Imaging int
}

// activityMonths is how many months the activity chart covers.
const activityMonths = 18

// handleActivity shows lab and imaging reports by month: 36 counts over
// the results, which the store answers slowly on a large region, so it is
// a page of its own and not part of the dashboard.
func (c *Console) handleActivity(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "commission.activity", "commission"
	to, err := c.monthParam(r.URL.Query().Get("to"))
	if err != nil {
		return "", err
	}
	d, ok, err := c.activityKept(v.Principal, to, aggregateWait)
	if err != nil {
		return "", err
	}
	if !ok {
		v.Data, v.Refresh = &activityData{To: to.Format("2006-01"), counting: counting{Counting: true}}, 3
		return "activity", nil
	}
	months := make([]string, len(d.Months))
	lab, img := make([]float64, len(months)), make([]float64, len(months))
	for i, m := range d.Months {
		months[i], lab[i], img[i] = m.Month, float64(m.Lab), float64(m.Imaging)
	}
	d.Chart = barChart("chart-activity", msg(v.Lang, "commission.activity"), months,
		[]series{{msg(v.Lang, "commission.lab"), lab}, {msg(v.Lang, "commission.imaging"), img}}, intFormat)
	v.Data = d
	return "activity", nil
}

// monthParam reads ?to=YYYY-MM (default: the month of the last whole day
// before the console's today: this month, or the demo region's last month
// of results).
func (c *Console) monthParam(s string) (time.Time, error) {
	if s == "" {
		last := c.cfg.Today().In(chinaTime).Add(-time.Nanosecond)
		return time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, chinaTime), nil
	}
	t, err := time.ParseInLocation("2006-01", s, chinaTime)
	if err != nil || t.Year() < 2000 || t.Year() > 2100 {
		return time.Time{}, badInput("commission.badmonth")
	}
	return t, nil
}

// activityKept is activity, kept (aggregates): a copy of the kept figures,
// ok false when none are ready within wait.
func (c *Console) activityKept(p access.Principal, to time.Time, wait time.Duration) (*activityData, bool, error) {
	val, at, ok, err := c.agg.get(aggregateKey(p, "activity", to.Format("2006-01")), wait, func(ctx context.Context) (any, error) {
		return c.activity(ctx, p, to)
	})
	if err != nil || !ok {
		return nil, ok, err
	}
	kept := val.(*activityData)
	d := &activityData{To: kept.To, Months: kept.Months}
	d.AsOf = asOf(at)
	return d, true, nil
}

// activity counts the lab and imaging reports of each month up to to, a
// few counts at a time.
func (c *Console) activity(ctx context.Context, p access.Principal, to time.Time) (*activityData, error) {
	first := to.AddDate(0, -activityMonths+1, 0)
	d := &activityData{To: to.Format("2006-01"), Months: make([]monthRow, activityMonths)}
	errs := make([]error, 2*activityMonths)
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i := range activityMonths {
		start := first.AddDate(0, i, 0)
		d.Months[i].Month = start.Format("2006-01")
		for k, cat := range []string{"LAB", "RAD"} {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				q := url.Values{
					"category": {"http://terminology.hl7.org/CodeSystem/v2-0074|" + cat},
					"date":     {"ge" + start.Format("2006-01-02"), "lt" + start.AddDate(0, 1, 0).Format("2006-01-02")},
				}
				n, err := c.fhir.count(ctx, p, "DiagnosticReport", q)
				// a count cut off by the store's query timeout on a busy
				// node is asked again (twice at most)
				for try := 0; try < 2 && isTimeout(err); try++ {
					n, err = c.fhir.count(ctx, p, "DiagnosticReport", q)
				}
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
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return d, nil
}

// isTimeout reports an API answer of 408 or 503 (a query cut off).
func isTimeout(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.Status == http.StatusRequestTimeout || ae.Status == http.StatusServiceUnavailable)
}

// handleCommissionCSV exports a dashboard table as CSV (UTF-8 with a BOM,
// which spreadsheet programs need to read Chinese correctly).
func (c *Console) handleCommissionCSV(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	table := r.PathValue("table")
	var rows [][]string
	switch table {
	case "participation.csv":
		d, err := c.participation(r.Context(), v.Principal)
		if err != nil {
			return "", err
		}
		rows = append(rows, []string{msg(v.Lang, "commission.city"), msg(v.Lang, "commission.institutions"), msg(v.Lang, "commission.members"), msg(v.Lang, "commission.hospitals"), msg(v.Lang, "commission.primary")})
		d.PartTotal.City = msg(v.Lang, "commission.total")
		for _, p := range append(d.Participation, d.PartTotal) {
			rows = append(rows, []string{p.City, strconv.Itoa(p.Institutions), strconv.Itoa(p.Members), strconv.Itoa(p.Hospitals), strconv.Itoa(p.Primary)})
		}
	case "activity.csv":
		to, err := c.monthParam(r.URL.Query().Get("to"))
		if err != nil {
			return "", err
		}
		d, ok, err := c.activityKept(v.Principal, to, aggregateTimeout)
		if err != nil {
			return "", err
		}
		if !ok { // dropped or still counting when the wait ended
			return "", &pageError{Status: http.StatusServiceUnavailable, Key: "agg.counting"}
		}
		rows = append(rows, []string{msg(v.Lang, "commission.month"), msg(v.Lang, "commission.lab"), msg(v.Lang, "commission.imaging")})
		for _, m := range d.Months {
			rows = append(rows, []string{m.Month, strconv.Itoa(m.Lab), strconv.Itoa(m.Imaging)})
		}
	case "recognition.csv":
		if !v.Caps.Has("MeasureReport/$recognition-stats") {
			return "", &pageError{Status: http.StatusNotFound, Key: "error.notfound"}
		}
		return "", c.recognitionCSV(w, r, v)
	case "onecode.csv":
		if !v.Caps.Has("AuditEvent/$health-card-usage") {
			return "", &pageError{Status: http.StatusNotFound, Key: "error.notfound"}
		}
		part, err := c.participation(r.Context(), v.Principal)
		if err != nil {
			return "", err
		}
		d, ok, err := c.oneCodeUse(r.Context(), v.Principal, v.Lang, part.CityNames, aggregateTimeout)
		if err != nil {
			return "", err
		}
		if !ok { // dropped by a card scan or still counting when the wait ended
			return "", &pageError{Status: http.StatusServiceUnavailable, Key: "agg.counting"}
		}
		head := []string{msg(v.Lang, "commission.city")}
		for _, ch := range d.Channels {
			head = append(head, msg(v.Lang, "channel."+ch))
		}
		rows = append(rows, append(head, msg(v.Lang, "commission.total")))
		for _, city := range d.Cities {
			row := []string{city.Name}
			for _, n := range city.ByChannel {
				row = append(row, strconv.Itoa(n))
			}
			rows = append(rows, append(row, strconv.Itoa(city.Total)))
		}
	default:
		return "", &pageError{Status: http.StatusNotFound, Key: "error.notfound"}
	}
	writeCSV(w, table, rows)
	return "", nil
}

func writeCSV(w http.ResponseWriter, name string, rows [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write([]byte("\uFEFF"))
	cw := csv.NewWriter(w)
	cw.WriteAll(rows)
}
