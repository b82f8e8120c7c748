package console

import (
	"context"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/xietong/xietong/access"
)

// One-code use on the commission dashboard: the e-health card service's
// AuditEvent/$health-card-usage counts, by city and channel, read as the
// user.

// channels of a card use (healthcard.Channels), in display order.
var channels = []string{"0100", "0200", "0300", "0401", "0402"}

type oneCodeData struct {
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
func (c *Console) oneCodeUse(ctx context.Context, p access.Principal, lang string, cityNames map[string]string) (*oneCodeData, error) {
	// One call: by institution too, to count the institutions taking part.
	groups, err := c.usageGroups(ctx, p, "city,channel,institution")
	if err != nil {
		return nil, err
	}
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
	return d, nil
}

// cityCode is the prefecture code of a GB/T 2260 division (110112 →
// 110100), as the card service records a use's city.
func cityCode(division string) string {
	if len(division) != 6 {
		return ""
	}
	return division[:4] + "00"
}
