package recognition

import (
	"bytes"
	"encoding/csv"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhir/respond"
	"github.com/xietong/xietong/store"
)

// StatsRow counts the decisions of one month, ordering institution and
// item. Eligible: decisions where a recognisable prior result existed;
// Recognised: decisions that accepted one (a test avoided, its price
// saved); Retests: re-tests by reason ("1".."9").
type StatsRow struct {
	Month       string // YYYY-MM in the engine's zone
	Institution string // the ordering Organization's id
	City        string
	Item        string
	Eligible    int
	Recognised  int
	Retests     [9]int
	Avoided     int
	Saved       float64 // CNY
}

// StatsQuery filters the statistics; zero fields do not restrict.
type StatsQuery struct {
	From, To    time.Time // decision dates From <= d < To
	Institution string
	City        string
	Item        string
}

// Stats aggregates the recorded decisions, sorted by month, institution
// and item.
func (e *Engine) Stats(q StatsQuery) []StatsRow {
	e.mu.RLock()
	defer e.mu.RUnlock()
	rows := map[[3]string]*StatsRow{}
	for _, d := range e.s.decisions {
		if (!q.From.IsZero() && d.Date.Before(q.From)) || (!q.To.IsZero() && !d.Date.Before(q.To)) {
			continue
		}
		org := e.s.orgs[d.Orderer]
		if (q.Institution != "" && q.Institution != d.Orderer) || (q.City != "" && q.City != org.City) || (q.Item != "" && q.Item != d.Item) {
			continue
		}
		k := [3]string{d.Date.In(e.loc).Format("2006-01"), d.Orderer, d.Item}
		r := rows[k]
		if r == nil {
			r = &StatsRow{Month: k[0], Institution: k[1], City: org.City, Item: k[2]}
			rows[k] = r
		}
		if len(d.Eligible) > 0 || d.Accepted {
			r.Eligible++
		}
		if d.Accepted {
			r.Recognised++
			r.Avoided++
			r.Saved += e.s.price(d)
		} else if n, err := strconv.Atoi(d.Reason); err == nil && n >= 1 && n <= 9 {
			r.Retests[n-1]++
		}
	}
	out := make([]StatsRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b StatsRow) int {
		return strings.Compare(a.Month+"\x00"+a.Institution+"\x00"+a.Item, b.Month+"\x00"+b.Institution+"\x00"+b.Item)
	})
	return out
}

// price is the item's price in the decision's programme, else the first
// programme that lists it.
func (s *state) price(d Decision) float64 {
	var first float64 = -1
	for _, it := range s.byCode[d.Item] {
		if it.Code != d.Item {
			continue
		}
		if it.Programme == d.Programme {
			return it.Price
		}
		if first < 0 {
			first = it.Price
		}
	}
	return max(first, 0)
}

// CSV renders rows with a header line.
func CSV(rows []StatsRow) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	head := []string{"month", "institution", "city", "item", "eligible", "recognised"}
	for i := 1; i <= 9; i++ {
		head = append(head, "retest_reason_"+strconv.Itoa(i))
	}
	w.Write(append(head, "retests", "tests_avoided", "cost_saved_cny"))
	for _, r := range rows {
		rec := []string{r.Month, r.Institution, r.City, r.Item, strconv.Itoa(r.Eligible), strconv.Itoa(r.Recognised)}
		total := 0
		for _, n := range r.Retests {
			rec = append(rec, strconv.Itoa(n))
			total += n
		}
		w.Write(append(rec, strconv.Itoa(total), strconv.Itoa(r.Avoided), strconv.FormatFloat(r.Saved, 'f', 2, 64)))
	}
	w.Flush()
	return b.Bytes()
}

// MeasureReport renders rows as a summary MeasureReport: one group per
// figure (eligible, recognised, retest, retest-reason-1..9, avoided,
// cost-saved), each with its total as measureScore and four stratifiers
// (month, institution, city, item) whose strata carry the figure's value.
func (e *Engine) MeasureReport(rows []StatsRow, q StatsQuery) map[string]any {
	type fig struct {
		code string
		get  func(StatsRow) float64
	}
	figs := []fig{
		{"eligible", func(r StatsRow) float64 { return float64(r.Eligible) }},
		{"recognised", func(r StatsRow) float64 { return float64(r.Recognised) }},
		{"retest", func(r StatsRow) float64 {
			n := 0
			for _, x := range r.Retests {
				n += x
			}
			return float64(n)
		}},
	}
	for i := range 9 {
		figs = append(figs, fig{"retest-reason-" + strconv.Itoa(i+1), func(r StatsRow) float64 { return float64(r.Retests[i]) }})
	}
	figs = append(figs, fig{"avoided", func(r StatsRow) float64 { return float64(r.Avoided) }},
		fig{"cost-saved", func(r StatsRow) float64 { return r.Saved }})
	strata := []struct {
		code string
		key  func(StatsRow) string
	}{
		{"month", func(r StatsRow) string { return r.Month }},
		{"institution", func(r StatsRow) string { return r.Institution }},
		{"city", func(r StatsRow) string { return r.City }},
		{"item", func(r StatsRow) string { return r.Item }},
	}
	qty := func(code string, v float64) obj {
		if code == "cost-saved" {
			return obj{"value": v, "unit": "CNY", "system": "urn:iso:std:iso:4217", "code": "CNY"}
		}
		return obj{"value": v}
	}
	var groups []any
	for _, f := range figs {
		total := 0.0
		for _, r := range rows {
			total += f.get(r)
		}
		var strats []any
		for _, st := range strata {
			sums := map[string]float64{}
			var keys []string
			for _, r := range rows {
				k := st.key(r)
				if _, ok := sums[k]; !ok {
					keys = append(keys, k)
				}
				sums[k] += f.get(r)
			}
			slices.Sort(keys)
			var ss []any
			for _, k := range keys {
				ss = append(ss, obj{"value": obj{"text": k}, "measureScore": qty(f.code, sums[k])})
			}
			strat := obj{"code": []any{obj{"text": st.code}}}
			if len(ss) > 0 {
				strat["stratum"] = ss
			}
			strats = append(strats, strat)
		}
		groups = append(groups, obj{
			"code":         obj{"coding": []any{coding(csKind, f.code, "")}},
			"measureScore": qty(f.code, total),
			"stratifier":   strats,
		})
	}
	period := obj{}
	if !q.From.IsZero() {
		period["start"] = q.From.Format(time.RFC3339)
	}
	if !q.To.IsZero() {
		period["end"] = q.To.Format(time.RFC3339)
	}
	if len(period) == 0 {
		period["end"] = e.now().Format(time.RFC3339)
	}
	return obj{
		"resourceType": "MeasureReport",
		"status":       "complete",
		"type":         "summary",
		"measure":      base + "Measure/recognition",
		"date":         e.now().Format(time.RFC3339),
		"period":       period,
		"group":        groups,
	}
}

// StatsOperation serves [base]/MeasureReport/$recognition-stats (GET or
// POST with query parameters): from, to (dates), institution
// (Organization id), city, item. The answer is a MeasureReport, or CSV
// with _format=csv or Accept: text/csv. 400 for a malformed date.
func (e *Engine) StatsOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported", "$recognition-stats is called with GET.")
	}
	v := r.URL.Query()
	for k := range v {
		switch k {
		case "from", "to", "institution", "city", "item", "_format", "_pretty":
		default:
			return outcome.BadRequest("$recognition-stats has no parameter %q: it takes from, to (dates), institution (Organization id), city, item (a catalogue item code) and _format=csv.", k).At(k)
		}
	}
	var q StatsQuery
	for _, k := range []string{"from", "to"} {
		if s := v.Get(k); s != "" {
			t, ok := parseDate(s, e.loc)
			if !ok {
				return outcome.BadRequest("%s %q is not a date.", k, s).At(k)
			}
			if k == "from" {
				q.From = t
			} else {
				q.To = t
			}
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return outcome.BadRequest("to (%s) is before from (%s).", v.Get("to"), v.Get("from")).At("to")
	}
	q.Institution = strings.TrimPrefix(v.Get("institution"), "Organization/")
	q.City, q.Item = v.Get("city"), v.Get("item")
	e.mu.RLock()
	_, knownOrg := e.s.orgs[q.Institution]
	knownItem := len(e.s.byCode[csItem+"|"+q.Item]) > 0
	e.mu.RUnlock()
	if q.Institution != "" && !knownOrg {
		_, err := e.st.Read(r.Context(), "Organization", q.Institution)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrGone) || !idRE.MatchString(q.Institution) {
			return outcome.BadRequest("institution: Organization/%s is not known to this server.", q.Institution).At("institution")
		}
		if err != nil {
			return err
		}
	}
	if q.Item != "" && !knownItem {
		return outcome.BadRequest("item %q is in no recognition catalogue (give a catalogue item code such as K or CT-CHEST).", q.Item).At("item")
	}
	rows := e.Stats(q)
	if f := v.Get("_format"); f == "csv" || f == "text/csv" || (f == "" && strings.Contains(r.Header.Get("Accept"), "text/csv")) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="recognition-stats.csv"`)
		_, err := w.Write(CSV(rows))
		return err
	}
	return respond.Value(w, r, http.StatusOK, e.MeasureReport(rows, q))
}
