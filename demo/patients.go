package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

var cst = time.FixedZone("CST", 8*3600)

// demoToday is the fixed "today" of the demo: results run up to it.
var demoToday = time.Date(2026, 11, 1, 0, 0, 0, 0, cst)

// Today is the demo region's fixed today, 2026-11-01 00:00 (+08:00):
// its results, card uses and decisions end there whatever the clock says.
func Today() time.Time { return demoToday }

func dateOf(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, cst) }

// patient is one generated resident with the plan of their care.
type patient struct {
	n          int // 1-based
	id         string
	div        *division
	male       bool
	birth      time.Time
	family     string
	given      string
	idNumber   string
	phone      string // the guardian's for children
	guardian   string // a guardian's given name, for children
	line       string
	gp         *institution // contracted family-doctor centre, if any
	conditions map[string]bool
	baseline   []float64 // per lab item, in standard deviations
	episodes   []*episode
	insts      []*institution // institutions with an encounter, first-seen order
}

// episode is one encounter with its results.
type episode struct {
	n       int
	inst    *institution
	start   time.Time
	class   string // AMB, EMER, IMP
	days    int
	panels  []*labPanel
	imaging *imagingItem
	labAt   *institution // who performs the lab tests
	repeat  bool
}

// region is the generated directory plus what patient planning needs.
type region struct {
	dir       *directory
	primaries map[string][]*institution // by division code
	hospitals map[string][]*institution // by division code
	byArea    map[string][]*institution // hospitals by area
	elderly   map[string][]*institution // by area
	lab       *institution
	start     time.Time
	seed      uint64
}

func newRegion(cfg Config, d *directory) *region {
	g := &region{dir: d, primaries: map[string][]*institution{}, hospitals: map[string][]*institution{},
		byArea: map[string][]*institution{}, elderly: map[string][]*institution{}, seed: cfg.Seed}
	for _, in := range d.insts {
		switch {
		case in.isPrimary():
			g.primaries[in.div.code] = append(g.primaries[in.div.code], in)
		case in.isHospital():
			g.hospitals[in.div.code] = append(g.hospitals[in.div.code], in)
			g.byArea[in.div.area] = append(g.byArea[in.div.area], in)
		case in.kind == kindElderly:
			g.elderly[in.div.area] = append(g.elderly[in.div.area], in)
		case in.kind == kindLab:
			g.lab = in
		}
	}
	g.start = demoToday.AddDate(0, -cfg.Months, 0)
	return g
}

func pickInst(r *rand.Rand, list []*institution) *institution {
	t := 0
	for _, in := range list {
		t += in.weight
	}
	x := r.IntN(t)
	for _, in := range list {
		if x < in.weight {
			return in
		}
		x -= in.weight
	}
	return list[len(list)-1]
}

func pickDivision(r *rand.Rand) *division {
	x := r.Float64()
	for _, d := range divisions {
		if x < d.share {
			return d
		}
		x -= d.share
	}
	return divisions[len(divisions)-1]
}

// crossCity is where residents of an area go for care in another area.
var crossCity = map[string][]string{
	"通州": {"天津市武清区第一人民医院", "廊坊市第一人民医院"},
	"武清": {"北京运河医院", "廊坊市第一人民医院", "廊坊市中医医院"},
	"廊坊": {"北京运河医院", "北京运河医院", "北京市通州区中医医院", "天津市武清区第一人民医院"},
}

func (g *region) patient(n int) *patient {
	r := rand.New(rand.NewPCG(g.seed, 0x9A7E_0000_0000+uint64(n)))
	p := &patient{n: n, id: fmt.Sprintf("demo-pat-%06d", n)}
	p.div = pickDivision(r)
	p.male = r.IntN(100) < 49
	// Ages: children, working-age adults, and the over-sixties who use
	// most care.
	var age int
	switch x := r.IntN(100); {
	case x < 12:
		age = r.IntN(15)
	case x < 55:
		age = 15 + r.IntN(45)
	default:
		age = 60 + int(math.Min(35, math.Abs(r.NormFloat64())*12))
	}
	p.birth = demoToday.AddDate(-age, 0, -1-r.IntN(364))
	p.family, p.given = personName(r, p.male, p.birth.Year(), p.div.code == "131028")
	home := p.div.code
	if r.IntN(10) == 0 {
		home = birthplaceCodes[r.IntN(len(birthplaceCodes))]
	}
	p.idNumber = idNumber(home, p.birth, p.male, r)
	p.phone = mobile(r)
	if age < 14 {
		_, p.guardian = personName(r, r.IntN(2) == 0, p.birth.Year()-30, false)
	}
	if r.IntN(4) == 0 {
		p.line = fmt.Sprintf("%s%s%d号", p.div.towns[r.IntN(len(p.div.towns))], p.div.villages[r.IntN(len(p.div.villages))], 1+r.IntN(200))
	} else {
		p.line = fmt.Sprintf("%s%s%d号%s%s%d号楼%d单元%d%02d室", p.div.towns[r.IntN(len(p.div.towns))], p.div.streets[r.IntN(len(p.div.streets))], 1+r.IntN(300),
			estateWords[r.IntN(len(estateWords))], estateSuffixes[r.IntN(len(estateSuffixes))], 1+r.IntN(30), 1+r.IntN(6), 1+r.IntN(28), 1+r.IntN(4))
	}
	p.conditions = map[string]bool{}
	old := age >= 45
	if old && r.IntN(100) < 18 || r.IntN(100) < 2 {
		p.conditions["diabetes"] = true
	}
	if old && r.IntN(100) < 25 {
		p.conditions["dyslipidaemia"] = true
	}
	if r.IntN(100) < 5 {
		p.conditions["liver"] = true
	}
	if old && r.IntN(100) < 5 {
		p.conditions["ckd"] = true
	}
	if !p.male && r.IntN(100) < 8 {
		p.conditions["anaemia"] = true
	}
	if age >= 10 && r.IntN(100) < 6 {
		p.conditions["hbv"] = true
	}
	p.baseline = make([]float64, len(itemOrder))
	for i := range p.baseline {
		p.baseline[i] = r.NormFloat64() * 0.8
	}
	g.plan(p, age, r)
	return p
}

// plan chooses where the patient gets care and when.
func (g *region) plan(p *patient, age int, r *rand.Rand) {
	primaries := g.primaries[p.div.code]
	if len(primaries) == 0 {
		for _, in := range g.dir.insts {
			if in.isPrimary() && in.div.area == p.div.area {
				primaries = append(primaries, in)
			}
		}
	}
	primary := primaries[r.IntN(len(primaries))]
	if r.IntN(100) < 60 {
		p.gp = primary
	}
	hospitals := g.hospitals[p.div.code]
	if len(hospitals) == 0 {
		hospitals = g.byArea[p.div.area]
	}
	homeHosp := pickInst(r, hospitals)
	// Cross-city care: Langfang's northern counties lean on Tongzhou.
	crossShare := 35
	if p.div.code == "131082" || p.div.code == "131028" || p.div.code == "131024" {
		crossShare = 55
	}
	var other *institution
	if r.IntN(100) < crossShare {
		names := crossCity[p.div.area]
		other = g.dir.inst(names[r.IntN(len(names))])
	} else {
		// Another hospital of the area.
		area := g.byArea[p.div.area]
		other = pickInst(r, area)
		for k := 0; other == homeHosp && k < len(area); k++ {
			other = area[k]
		}
	}
	var elderly *institution
	if age >= 70 && r.IntN(100) < 20 && len(g.elderly[p.div.area]) > 0 {
		el := g.elderly[p.div.area]
		elderly = el[r.IntN(len(el))]
	}

	span := int(demoToday.Sub(g.start).Hours() / 24)
	day := func() time.Time {
		d := g.start.AddDate(0, 0, r.IntN(span))
		return d.Add(time.Duration(7*60+r.IntN(4*60)) * time.Minute)
	}
	n := 2
	if r.IntN(100) < 20 {
		n++
	}
	if age >= 60 && r.IntN(100) < 15 {
		n++
	}
	for i := 0; i < n; i++ {
		var in *institution
		switch {
		case i == 0 && elderly != nil:
			in = elderly
		case i == 0:
			in = [...]*institution{primary, primary, other}[r.IntN(3)]
		case i == 1:
			// The second encounter is at a hospital other than the first
			// institution, so every patient has results from two places.
			for _, c := range []*institution{homeHosp, other, primary} {
				if c != p.episodes[0].inst {
					in = c
					break
				}
			}
		default:
			in = [...]*institution{primary, homeHosp, homeHosp, other}[r.IntN(4)]
		}
		p.addEpisode(g, in, day(), false, r)
	}
	// Repeats that recognition has to judge: the same panel at another
	// hospital within 30 days (30% of patients) or later (20%).
	if first := p.firstLab(); first != nil {
		if r.IntN(100) < 30 {
			g.repeat(p, first, 1+r.IntN(29), other, homeHosp, r)
		}
		if r.IntN(100) < 20 {
			g.repeat(p, first, 31+r.IntN(150), other, homeHosp, r)
		}
	}
	if first := p.firstImaging(); first != nil && r.IntN(100) < 25 {
		ep := g.repeat(p, first, 1+r.IntN(29), other, homeHosp, r)
		if ep != nil {
			ep.panels = nil
		}
	}
	sortEpisodes(p.episodes)
	for i, ep := range p.episodes {
		ep.n = i + 1
	}
	seen := map[*institution]bool{}
	for _, ep := range p.episodes {
		if !seen[ep.inst] {
			seen[ep.inst] = true
			p.insts = append(p.insts, ep.inst)
		}
	}
}

func (p *patient) firstLab() *episode {
	for _, ep := range p.episodes {
		if len(ep.panels) > 0 {
			return ep
		}
	}
	return nil
}

func (p *patient) firstImaging() *episode {
	for _, ep := range p.episodes {
		if ep.imaging != nil {
			return ep
		}
	}
	return nil
}

// repeat adds an encounter at another hospital, days after (or, when
// that would pass the demo's today, before) ep, with the same orders.
func (g *region) repeat(p *patient, ep *episode, days int, a, b *institution, r *rand.Rand) *episode {
	in := a
	if in == ep.labAt || in == ep.inst {
		in = b
	}
	if in == ep.labAt || in == ep.inst {
		for _, h := range g.byArea[p.div.area] {
			if h != ep.labAt && h != ep.inst {
				in = h
				break
			}
		}
	}
	at := ep.start.AddDate(0, 0, days).Add(time.Duration(r.IntN(120)-60) * time.Minute)
	if !at.Before(demoToday) {
		at = ep.start.AddDate(0, 0, -days)
	}
	if at.Before(g.start) {
		return nil
	}
	rep := &episode{inst: in, start: at, class: "AMB", labAt: in, repeat: true, panels: ep.panels}
	if ep.imaging != nil && hasModality(in, ep.imaging.modality) {
		rep.imaging = ep.imaging
	}
	p.episodes = append(p.episodes, rep)
	return rep
}

func hasModality(in *institution, m string) bool {
	for _, x := range in.modalities() {
		if x == m {
			return true
		}
	}
	return false
}

func (p *patient) addEpisode(g *region, in *institution, at time.Time, repeat bool, r *rand.Rand) {
	ep := &episode{inst: in, start: at, class: "AMB", labAt: in, repeat: repeat}
	if in.isHospital() {
		switch x := r.IntN(100); {
		case x < 5:
			ep.class = "EMER"
		case x < 10:
			ep.class, ep.days = "IMP", 3+r.IntN(9)
		}
	}
	if in.kind == kindElderly {
		ep.labAt = g.lab
	}
	// Orders: one or two lab panels, sometimes imaging.
	np := 1
	if r.IntN(100) < 5 || ep.class == "IMP" {
		np = 2
	}
	for len(ep.panels) < np {
		pn := p.pickPanel(r)
		dup := false
		for _, x := range ep.panels {
			dup = dup || x == pn
		}
		if !dup {
			ep.panels = append(ep.panels, pn)
		}
	}
	if in.isPrimary() {
		for _, pn := range ep.panels {
			if !basicPanels[pn.key] {
				ep.labAt = g.lab // sent out
			}
		}
	}
	if mods := in.modalities(); len(mods) > 0 && r.IntN(100) < 18 {
		it := pickImaging(r)
		if hasModality(in, it.modality) {
			ep.imaging = it
		}
	}
	p.episodes = append(p.episodes, ep)
}

func (p *patient) pickPanel(r *rand.Rand) *labPanel {
	t := 0
	w := func(pn *labPanel) int {
		switch {
		case pn.key == "HBA1C" && p.conditions["diabetes"]:
			return pn.weight * 5
		case pn.key == "LIPID" && p.conditions["dyslipidaemia"]:
			return pn.weight * 2
		case pn.key == "LFT" && (p.conditions["liver"] || p.conditions["hbv"]):
			return pn.weight * 2
		}
		return pn.weight
	}
	for _, pn := range labPanels {
		t += w(pn)
	}
	x := r.IntN(t)
	for _, pn := range labPanels {
		if x < w(pn) {
			return pn
		}
		x -= w(pn)
	}
	return labPanels[0]
}

func pickImaging(r *rand.Rand) *imagingItem {
	t := 0
	for _, it := range imagingItems {
		t += it.weight
	}
	x := r.IntN(t)
	for _, it := range imagingItems {
		if x < it.weight {
			return it
		}
		x -= it.weight
	}
	return imagingItems[0]
}

func sortEpisodes(eps []*episode) {
	for i := 1; i < len(eps); i++ {
		for j := i; j > 0 && eps[j].start.Before(eps[j-1].start); j-- {
			eps[j], eps[j-1] = eps[j-1], eps[j]
		}
	}
}

// mrn is the patient's medical record number at an institution: unique
// per institution (7919 is prime to 10^8) and in its own format.
func (p *patient) mrn(in *institution) string {
	return fmt.Sprintf("%s%08d", in.mrnPfx, (p.n*7919+in.idx*104729)%100000000)
}

// resource is the patient's record as the region's registry holds it.
// The e-health card is not on it: a card belongs to the person, so the
// loader puts it on the EMPI's master (CardID), as the card service's
// $issue-health-card does.
func (p *patient) resource() obj {
	gender := "female"
	if p.male {
		gender = "male"
	}
	ids := list(
		ident(sidResidentID, p.idNumber, "NI", "居民身份证"),
	)
	for _, in := range p.insts {
		m := ident(sidMRNPrefix+in.code, p.mrn(in), "MR", "病案号")
		m["assigner"] = ref("Organization", in.id, in.name)
		ids = append(ids, m)
	}
	m := obj{
		"resourceType": "Patient",
		"id":           p.id,
		"identifier":   ids,
		"active":       true,
		"name":         list(obj{"use": "official", "text": p.family + p.given, "family": p.family, "given": list(p.given)}),
		"gender":       gender,
		"birthDate":    p.birth.Format("2006-01-02"),
		"address":      list(address(p.div, "home", p.line)),
	}
	phone := list(obj{"system": "phone", "value": p.phone, "use": "mobile"})
	if p.birth.After(demoToday.AddDate(-14, 0, 0)) {
		// A child's phone number is a guardian's.
		m["contact"] = list(obj{
			"relationship": list(concept("监护人", coding(sysV2Rel, "N", "Next-of-Kin"))),
			"name":         obj{"text": p.family + p.guardian, "family": p.family, "given": list(p.guardian)},
			"telecom":      phone,
		})
	} else {
		m["telecom"] = phone
	}
	if p.gp != nil {
		m["generalPractitioner"] = list(ref("Organization", p.gp.id, p.gp.name))
	}
	return m
}
