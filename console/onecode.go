package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/search"
)

// One-code use on the commission dashboard: the e-health card service's
// AuditEvent/$health-card-usage counts, by city and channel, read as the
// user.

// channels of a card use (healthcard.Channels), in display order.
var channels = []string{"0100", "0200", "0300", "0401", "0402"}

type oneCodeData struct {
	counting
	Cities       []oneCodeCity
	Channels     []string
	Total        int
	Institutions int // institutions where a card was used
	Chart        template.HTML
}

type oneCodeCity struct {
	Code, Name string
	ByChannel  []int // in the order of Channels
	Total      int
}

// usageGroups reads $health-card-usage grouped by the dimensions in by
// (resolves only) and returns each group's dimension values and count.
func (c *Console) usageGroups(ctx context.Context, p access.Principal, by string) ([]map[string]string, error) {
	b, err := c.fhir.get(ctx, p, "/AuditEvent/$health-card-usage", url.Values{"by": {by}, "event": {"resolve"}})
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, prm := range list(b["parameter"]) {
		po := object(prm)
		if str(po["name"]) != "group" {
			continue
		}
		g := map[string]string{}
		for _, part := range list(po["part"]) {
			pt := object(part)
			name := str(pt["name"])
			switch {
			case name == "count":
				g[name] = jsonText(pt["valueInteger"])
			case pt["valueReference"] != nil:
				g[name] = str(object(pt["valueReference"])["reference"])
			case pt["valueCode"] != nil:
				g[name] = str(pt["valueCode"])
			default:
				g[name] = str(pt["valueString"])
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// oneCodeUse builds the table; cityNames names city (prefecture) codes.
// The usage count reads every use record, so it is kept (aggregates):
// wait is how long to wait for a computation; ok is false when nothing
// is ready yet.
func (c *Console) oneCodeUse(ctx context.Context, p access.Principal, lang string, cityNames map[string]string, wait time.Duration) (d *oneCodeData, ok bool, err error) {
	// One call: by institution too, to count the institutions taking part.
	val, at, ok, err := c.agg.get(aggregateKey(p, "onecode", ""), wait, func(ctx context.Context) (any, error) {
		return c.usageGroups(ctx, p, "city,channel,institution")
	})
	if err != nil || !ok {
		return nil, ok, err
	}
	d = buildOneCode(val.([]map[string]string), lang, cityNames)
	d.AsOf = asOf(at)
	return d, true, nil
}

func buildOneCode(groups []map[string]string, lang string, cityNames map[string]string) *oneCodeData {
	d := &oneCodeData{Channels: channels}
	seen := map[string]bool{}
	for _, g := range groups {
		if i := g["institution"]; i != "" && i != "(none)" && !seen[i] {
			seen[i] = true
			d.Institutions++
		}
	}
	byCity := map[string]*oneCodeCity{}
	for _, g := range groups {
		n, _ := strconv.Atoi(g["count"])
		city := g["city"]
		row := byCity[city]
		if row == nil {
			name := cityNames[city]
			if name == "" {
				name = city
			}
			row = &oneCodeCity{Code: city, Name: name, ByChannel: make([]int, len(channels))}
			byCity[city] = row
		}
		if i := slices.Index(channels, g["channel"]); i >= 0 {
			row.ByChannel[i] += n
		}
		row.Total += n
		d.Total += n
	}
	for _, row := range byCity {
		d.Cities = append(d.Cities, *row)
	}
	slices.SortFunc(d.Cities, func(a, b oneCodeCity) int { return strings.Compare(a.Code, b.Code) })
	labels := make([]string, len(d.Cities))
	ss := make([]series, len(channels))
	for k, ch := range channels {
		ss[k] = series{Name: msg(lang, "channel."+ch), Values: make([]float64, len(d.Cities))}
	}
	for i, row := range d.Cities {
		labels[i] = row.Name
		for k := range channels {
			ss[k].Values[i] = float64(row.ByChannel[k])
		}
	}
	d.Chart = barChart("chart-onecode", msg(lang, "onecode.title"), labels, ss, intFormat)
	return d
}

// handleOneCode shows one-code use by city and channel. It is a page of
// its own: the card service counts its use records on each call, which
// takes seconds on the full demo region (docs/BENCHMARKS.md, "Console").
func (c *Console) handleOneCode(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	v.Title, v.Section = "onecode.title", "commission"
	if !v.Caps.Has("AuditEvent/$health-card-usage") {
		return "", &pageError{Status: http.StatusNotFound, Key: "patients.nocards"}
	}
	part, err := c.participation(r.Context(), v.Principal)
	if err != nil {
		return "", err
	}
	d, ok, err := c.oneCodeUse(r.Context(), v.Principal, v.Lang, part.CityNames, aggregateWait)
	if err != nil {
		return "", err
	}
	if !ok {
		d, v.Refresh = &oneCodeData{counting: counting{Counting: true}}, 3
	}
	v.Data = d
	return "onecode", nil
}

// cityCode is the prefecture code of a GB/T 2260 division (110112 →
// 110100), as the card service records a use's city.
func cityCode(division string) string {
	if len(division) != 6 {
		return ""
	}
	return division[:4] + "00"
}

// hasActiveCard reports whether a Patient carries an e-health card id that
// has not ended (the card service's notion of an active card).
func hasActiveCard(p obj) bool {
	for _, x := range list(p["identifier"]) {
		id := object(x)
		if str(id["system"]) == sidEHC && len(str(id["value"])) == 64 && str(object(id["period"])["end"]) == "" {
			return true
		}
	}
	return false
}

// handleCardQR shows the patient's card as the card service draws it
// (Patient/$health-card-qr, static code, SVG): for trying the scan in the
// demo, and for printing a card.
func (c *Console) handleCardQR(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	id := r.PathValue("id")
	if !search.ValidID(id) || !v.Caps.Has("Patient/$health-card-qr") {
		return "", &pageError{Status: http.StatusNotFound, Key: "error.notfound"}
	}
	rec, err := c.fhir.raw(r.Context(), v.Principal, http.MethodGet, "/Patient/"+id+"/$health-card-qr", url.Values{"code": {"static"}, "format": {"svg"}}, nil)
	if err != nil {
		return "", err
	}
	if rec.status != http.StatusOK || !strings.HasPrefix(rec.header.Get("Content-Type"), "image/svg+xml") {
		_, err := rec.decode(http.MethodGet, "$health-card-qr")
		if err == nil {
			err = fmt.Errorf("$health-card-qr answered %d %s", rec.status, rec.header.Get("Content-Type"))
		}
		return "", err
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write(rec.body.Bytes())
	return "", nil
}

// handleIssueCard issues an e-health card to the patient
// (Patient/$issue-health-card) and goes back to the patient.
func (c *Console) handleIssueCard(w http.ResponseWriter, r *http.Request, v *view) (string, error) {
	id := r.PathValue("id")
	if !search.ValidID(id) || !v.Caps.Has("Patient/$issue-health-card") {
		return "", &pageError{Status: http.StatusNotFound, Key: "error.notfound"}
	}
	if _, err := c.fhir.do(r.Context(), v.Principal, http.MethodPost, "/Patient/"+id+"/$issue-health-card", nil, obj{"resourceType": "Parameters"}); err != nil {
		return "", err
	}
	http.Redirect(w, r, "/patients/"+id, http.StatusSeeOther)
	return "", nil
}
