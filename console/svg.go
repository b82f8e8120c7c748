package console

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Charts are drawn on the server as inline SVG: no script, no library,
// readable without JavaScript and printable. Each chart carries a <title>
// and a <desc>, and every bar a <title> with its value, for screen readers
// and hover.

// series is one coloured set of values over the chart's categories.
type series struct {
	Name   string
	Values []float64
}

var palette = []string{"#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0891b2"}

// barChart draws grouped vertical bars: one group per label, one bar per
// series. format writes a value for the axis and the bar titles.
func barChart(id, title string, labels []string, ss []series, format func(float64) string) template.HTML {
	const (
		w, h                     = 720.0, 260.0
		left, right, top, bottom = 56.0, 12.0, 28.0, 44.0
	)
	maxV := 0.0
	for _, s := range ss {
		for _, v := range s.Values {
			maxV = math.Max(maxV, v)
		}
	}
	top2 := niceCeil(maxV)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="%s-t" preserveAspectRatio="xMidYMid meet">`, esc(id), w, h, esc(id))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title>`, esc(id), esc(title))
	plotW, plotH := w-left-right, h-top-bottom
	// grid lines and the value axis
	// 4 or 5 steps so that tick values stay round
	steps := 4
	if lead := top2 / math.Pow(10, math.Floor(math.Log10(top2))); lead == 1 || lead == 5 {
		steps = 5
	}
	if top2 < 10 {
		steps = int(top2)
	}
	for i := 0; i <= steps; i++ {
		v := top2 * float64(i) / float64(steps)
		y := top + plotH - plotH*float64(i)/float64(steps)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="grid"/>`, left, w-right, y, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="axis" text-anchor="end">%s</text>`, left-6, y+4, esc(format(v)))
	}
	n := len(labels)
	if n > 0 && len(ss) > 0 {
		groupW := plotW / float64(n)
		barW := math.Max(1, groupW*0.8/float64(len(ss)))
		every := (n + 8) / 9 // at most nine category labels: they must not overlap
		for i, label := range labels {
			gx := left + groupW*float64(i) + groupW*0.1
			for k, s := range ss {
				v := 0.0
				if i < len(s.Values) {
					v = s.Values[i]
				}
				bh := 0.0
				if top2 > 0 {
					bh = plotH * v / top2
				}
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s · %s: %s</title></rect>`,
					gx+barW*float64(k), top+plotH-bh, barW, bh, palette[k%len(palette)], esc(label), esc(s.Name), esc(format(v)))
			}
			if i%every == 0 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="axis" text-anchor="middle">%s</text>`, left+groupW*(float64(i)+0.5), h-bottom+16, esc(label))
			}
		}
	}
	// legend
	x := left
	for k, s := range ss {
		fmt.Fprintf(&b, `<rect x="%.1f" y="8" width="10" height="10" fill="%s"/><text x="%.1f" y="17" class="legend">%s</text>`, x, palette[k%len(palette)], x+14, esc(s.Name))
		x += 24 + float64(len([]rune(s.Name)))*12
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above went through esc
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func intFormat(v float64) string { return formatInt(int(math.Round(v))) }
