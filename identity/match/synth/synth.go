// Package synth generates patient records for testing and benchmarking
// identity matching: a population of true persons, and source records of
// them from several institutions with realistic noise at documented rates,
// deterministic by seed, with the truth (which person each record is of).
//
// It depends on the standard library and the identity packages only.
package synth

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/xietong/xietong/identity/chinese"
	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/identity/match"
)

// Noise gives the rate of each kind of error, per source record (or per
// person where said). Rates are independent.
type Noise struct {
	NameHomophone   float64 // one character replaced by a homophone (pinyin input)
	NameTypo        float64 // one character replaced, dropped, or two swapped
	NameTraditional float64 // written in traditional characters
	NameSpacing     float64 // full-width or spaced form ("张 伟", "张　伟")
	BirthSwap       float64 // day and month swapped (when the day is 12 or less)
	BirthDigit      float64 // one digit of yyyymmdd wrong
	BirthMissing    float64
	SexMissing      float64
	SexWrong        float64
	IDMissing       float64
	IDTypo          float64 // one digit replaced or two adjacent swapped
	IDLegacy        float64 // 15-digit form, for persons born before 1985
	IDOtherPerson   float64 // another person's number (a relative's, say)
	PhoneMissing    float64
	PhoneChanged    float64 // the person's other (old or new) number
	PhoneTypo       float64
	Moved           float64 // the person's other (old or new) address
	AddressMissing  float64
	Twins           float64 // per person: has a twin in the population
}

// DefaultNoise are the rates of the accuracy benchmark.
func DefaultNoise() Noise {
	return Noise{
		NameHomophone:   0.03,
		NameTypo:        0.02,
		NameTraditional: 0.05,
		NameSpacing:     0.02,
		BirthSwap:       0.02,
		BirthDigit:      0.015,
		BirthMissing:    0.005,
		SexMissing:      0.01,
		SexWrong:        0.003,
		IDMissing:       0.25,
		IDTypo:          0.03,
		IDLegacy:        0.15,
		IDOtherPerson:   0.002,
		PhoneMissing:    0.10,
		PhoneChanged:    0.15,
		PhoneTypo:       0.01,
		Moved:           0.10,
		AddressMissing:  0.05,
		Twins:           0.01,
	}
}

// Config sizes a data set.
type Config struct {
	Seed    uint64
	Persons int
	Records int
	Noise   Noise
	// Now is the reference date (birth dates are before it).
	Now time.Time
}

// Institution is a hospital of the demo region (通武廊).
type Institution struct{ Code, Name, Division string }

// Institutions are the record sources, with their divisions.
var Institutions = []Institution{
	{"H110112001", "北京市通州区人民医院", "110112"},
	{"H110112002", "北京潞河医院", "110112"},
	{"H120114001", "天津市武清区人民医院", "120114"},
	{"H120114002", "武清区中医医院", "120114"},
	{"H131000001", "廊坊市人民医院", "131002"},
	{"H131082001", "三河市医院", "131082"},
	{"H131028001", "大厂回族自治县医院", "131028"},
	{"H131024001", "香河县人民医院", "131024"},
}

// Dataset is generated records and their truth.
type Dataset struct {
	Records []match.Record
	// Person[i] is the true person of Records[i].
	Person []int
}

type person struct {
	name     string
	birth    time.Time
	sex      idnumber.Sex
	id       string
	phones   [2]string
	divs     [2]string
	addrs    [2]string
	division string // of first registration
}

// Generate makes a data set. Records are in arrival order: each picks a
// person at random (so persons have Poisson-distributed record counts,
// some none) and an institution, preferring ones near the person.
func Generate(cfg Config) Dataset {
	if cfg.Now.IsZero() {
		cfg.Now = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x1d))
	g := &gen{rng: rng, cfg: cfg, issued: map[string]bool{}}
	g.people = make([]person, 0, cfg.Persons)
	for len(g.people) < cfg.Persons {
		p := g.person()
		g.people = append(g.people, p)
		if rng.Float64() < cfg.Noise.Twins && len(g.people) < cfg.Persons {
			g.people = append(g.people, g.twin(p))
		}
	}
	ds := Dataset{Records: make([]match.Record, cfg.Records), Person: make([]int, cfg.Records)}
	mrn := map[string]int{}
	for i := range cfg.Records {
		pi := rng.IntN(len(g.people))
		inst := g.institution(&g.people[pi])
		mrn[inst.Code]++
		r := g.record(&g.people[pi])
		r.Source = fmt.Sprintf("%s/%d", inst.Code, mrn[inst.Code])
		r.Institution = inst.Code
		r.MRN = fmt.Sprintf("%s-%07d", inst.Code[1:4], mrn[inst.Code])
		ds.Records[i], ds.Person[i] = r, pi
	}
	return ds
}

type gen struct {
	rng    *rand.Rand
	cfg    Config
	people []person
	issued map[string]bool // ID numbers are unique, as the issuing authority ensures
}

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *gen) pick(s string) string {
	rs := []rune(s)
	return string(rs[g.rng.IntN(len(rs))])
}

func (g *gen) surname() string {
	x := g.rng.Float64() * surnameTotal
	for _, s := range surnames {
		if x < s.weight {
			return s.name
		}
		x -= s.weight
	}
	return surnames[len(surnames)-1].name
}

func (g *gen) givenName(sex idnumber.Sex) string {
	pool := maleGiven
	if sex == idnumber.Female {
		pool = femaleGiven
	}
	if g.chance(0.25) {
		return g.pick(pool)
	}
	return g.pick(pool) + g.pick(pool)
}

func (g *gen) person() person {
	var p person
	p.sex = idnumber.Male
	if g.chance(0.5) {
		p.sex = idnumber.Female
	}
	p.name = g.surname() + g.givenName(p.sex)
	if g.chance(0.003) {
		p.name = minorityNames[g.rng.IntN(len(minorityNames))] + "·" + minorityNames[g.rng.IntN(len(minorityNames))]
	}
	days := g.rng.IntN(int(g.cfg.Now.Sub(time.Date(1930, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24))
	p.birth = time.Date(1930, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days)
	p.division = g.division()
	p.id = g.idFor(p.division, p.birth, p.sex)
	p.phones = [2]string{g.phone(), g.phone()}
	p.divs[0] = g.division()
	p.divs[1] = p.divs[0]
	if g.chance(0.5) {
		p.divs[1] = g.division()
	}
	p.addrs = [2]string{g.address(p.divs[0]), g.address(p.divs[1])}
	return p
}

// twin shares surname, birth date, registration, address and often the
// family's phone with p; the given name and usually the sex differ.
func (g *gen) twin(p person) person {
	t := p
	if g.chance(0.5) {
		t.sex = 3 - p.sex
	}
	sur, given := chinese.SplitName(p.name)
	for t.name == p.name || t.name == "" {
		if rs := []rune(given); len(rs) == 2 && g.chance(0.5) {
			// Twins often share a generation character: 明华 / 明丽.
			t.name = sur + string(rs[0]) + g.pick(maleGiven+femaleGiven)
		} else {
			t.name = sur + g.givenName(t.sex)
		}
	}
	t.id = g.idFor(t.division, t.birth, t.sex)
	if g.chance(0.5) {
		t.phones[1] = g.phone()
	} else {
		t.phones = [2]string{g.phone(), p.phones[0]}
	}
	return t
}

func (g *gen) idFor(div string, birth time.Time, sex idnumber.Sex) string {
	for {
		seq := g.rng.IntN(500) * 2
		if sex == idnumber.Male {
			seq++
		}
		if id := idnumber.Generate(div, birth, seq); !g.issued[id] {
			g.issued[id] = true
			return id
		}
	}
}

func (g *gen) division() string {
	if g.chance(0.1) {
		return otherDivisions[g.rng.IntN(len(otherDivisions))]
	}
	return regionDivisions[g.rng.IntN(len(regionDivisions))].code
}

func (g *gen) phone() string {
	return fmt.Sprintf("1%d%09d", 3+g.rng.IntN(7), g.rng.IntN(1_000_000_000))
}

func (g *gen) address(div string) string {
	town := "城区"
	for _, d := range regionDivisions {
		if d.code == div {
			town = d.name
		}
	}
	return fmt.Sprintf("%s%s%d号%d单元%d", town, streets[g.rng.IntN(len(streets))], 1+g.rng.IntN(200), 1+g.rng.IntN(6), 101+g.rng.IntN(20)*100+g.rng.IntN(4))
}

func (g *gen) institution(p *person) Institution {
	if g.chance(0.6) {
		var near []Institution
		for _, in := range Institutions {
			if in.Division == p.divs[0] || in.Division[:4] == p.divs[0][:4] {
				near = append(near, in)
			}
		}
		if len(near) > 0 {
			return near[g.rng.IntN(len(near))]
		}
	}
	return Institutions[g.rng.IntN(len(Institutions))]
}

func (g *gen) record(p *person) match.Record {
	n := &g.cfg.Noise
	r := match.Record{Name: g.noisyName(p.name), Birth: p.birth, Sex: p.sex}

	switch {
	case g.chance(n.BirthMissing):
		r.Birth = time.Time{}
	case g.chance(n.BirthSwap):
		if y, m, d := p.birth.Date(); d <= 12 && int(m) != d {
			r.Birth = time.Date(y, time.Month(d), int(m), 0, 0, 0, 0, time.UTC)
		} else {
			r.Birth = g.birthDigit(p.birth)
		}
	case g.chance(n.BirthDigit):
		r.Birth = g.birthDigit(p.birth)
	}
	switch {
	case g.chance(n.SexMissing):
		r.Sex = idnumber.SexUnknown
	case g.chance(n.SexWrong):
		r.Sex = 3 - p.sex
	}

	switch {
	case g.chance(n.IDMissing):
	case g.chance(n.IDOtherPerson):
		r.IDNumber = g.people[g.rng.IntN(len(g.people))].id
	case g.chance(n.IDTypo):
		r.IDNumber = g.idTypo(p.id)
	case p.birth.Year() < 1985 && g.chance(n.IDLegacy):
		r.IDNumber = idnumber.Legacy(p.id)
	default:
		r.IDNumber = p.id
		if strings.HasSuffix(r.IDNumber, "X") && g.chance(0.3) {
			r.IDNumber = strings.ToLower(r.IDNumber)
		}
	}

	if !g.chance(n.PhoneMissing) {
		ph := p.phones[0]
		if g.chance(n.PhoneChanged) {
			ph = p.phones[1]
		}
		if g.chance(n.PhoneTypo) {
			b := []byte(ph)
			i := 1 + g.rng.IntN(len(b)-1)
			b[i] = '0' + byte((int(b[i]-'0')+1+g.rng.IntN(9))%10)
			ph = string(b)
		}
		r.Phones = []string{ph}
	}
	if !g.chance(n.AddressMissing) {
		k := 0
		if g.chance(n.Moved) {
			k = 1
		}
		r.Division, r.Address = p.divs[k], p.addrs[k]
		if g.chance(0.1) {
			// Unit and room left out.
			r.Address = r.Address[:strings.Index(r.Address, "号")+len("号")]
		}
	}
	return r
}

func (g *gen) birthDigit(b time.Time) time.Time {
	for range 20 {
		s := []byte(b.Format("20060102"))
		i := 2 + g.rng.IntN(6)
		s[i] = '0' + byte((int(s[i]-'0')+1+g.rng.IntN(9))%10)
		if t, err := time.Parse("20060102", string(s)); err == nil && t.Before(g.cfg.Now) && t.Year() >= 1900 {
			return t
		}
	}
	return b
}

func (g *gen) idTypo(id string) string {
	b := []byte(id)
	if g.chance(0.5) {
		i := g.rng.IntN(17)
		b[i] = '0' + byte((int(b[i]-'0')+1+g.rng.IntN(9))%10)
	} else {
		i := g.rng.IntN(16)
		b[i], b[i+1] = b[i+1], b[i]
	}
	return string(b)
}

func (g *gen) noisyName(name string) string {
	n := &g.cfg.Noise
	rs := []rune(name)
	if g.chance(n.NameHomophone) {
		i := g.rng.IntN(len(rs))
		if hs := homophones[rs[i]]; len(hs) > 0 {
			rs[i] = hs[g.rng.IntN(len(hs))]
		}
	}
	if g.chance(n.NameTypo) && len(rs) >= 2 {
		switch x := g.rng.Float64(); {
		case x < 0.7:
			rs[g.rng.IntN(len(rs))] = []rune(g.pick(commonChars))[0]
		case x < 0.85 && len(rs) >= 3:
			i := 1 + g.rng.IntN(len(rs)-1)
			rs = append(rs[:i:i], rs[i+1:]...)
		default:
			i := g.rng.IntN(len(rs) - 1)
			rs[i], rs[i+1] = rs[i+1], rs[i]
		}
	}
	if g.chance(n.NameTraditional) {
		for i, r := range rs {
			if t, ok := traditional[r]; ok {
				rs[i] = t
			}
		}
	}
	out := string(rs)
	if g.chance(n.NameSpacing) {
		if len(rs) >= 2 {
			sep := " "
			if g.chance(0.5) {
				sep = "\u3000"
			}
			out = string(rs[:1]) + sep + string(rs[1:])
		}
	}
	return out
}
