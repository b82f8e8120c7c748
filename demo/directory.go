package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Institution kinds (codes of vocab.SystemInstitutionKind).
const (
	kindGeneral   = "general-hospital"
	kindTCM       = "tcm-hospital"
	kindCommunity = "community-health-centre"
	kindTownship  = "township-health-centre"
	kindCDC       = "cdc"
	kindElderly   = "elderly-care"
	kindLab       = "independent-lab"
)

// institutionSpec is one row of the demo directory. Names are invented
// (modelled on the kinds of institutions of 通武廊), as are all codes.
type institutionSpec struct {
	name     string
	division string
	kind     string
	grade    string
	weight   int // relative staff size and patient volume
}

var institutionSpecs = []institutionSpec{
	// 通州 (110112)
	{"北京运河医院", "110112", kindGeneral, "3A", 40},
	{"北京市通州区第二人民医院", "110112", kindGeneral, "2A", 15},
	{"北京市通州区中医医院", "110112", kindTCM, "3A", 14},
	{"北京市通州区疾病预防控制中心", "110112", kindCDC, "", 3},
	{"北京市通州区永顺社区卫生服务中心", "110112", kindCommunity, "1A", 5},
	{"北京市通州区梨园社区卫生服务中心", "110112", kindCommunity, "1A", 5},
	{"北京市通州区漷县镇卫生院", "110112", kindTownship, "1", 4},
	{"北京市通州区运河颐养中心", "110112", kindElderly, "", 2},
	{"京津冀协同医学检验实验室", "110112", kindLab, "", 4},
	// 武清 (120114)
	{"天津市武清区第一人民医院", "120114", kindGeneral, "3B", 30},
	{"天津市武清区第二人民医院", "120114", kindGeneral, "2A", 14},
	{"天津市武清区中医医院", "120114", kindTCM, "3A", 12},
	{"天津市武清区疾病预防控制中心", "120114", kindCDC, "", 3},
	{"天津市武清区杨村街社区卫生服务中心", "120114", kindCommunity, "1A", 5},
	{"天津市武清区下朱庄街社区卫生服务中心", "120114", kindCommunity, "1A", 4},
	{"天津市武清区大良镇卫生院", "120114", kindTownship, "1", 4},
	{"天津市武清区崔黄口镇卫生院", "120114", kindTownship, "1", 4},
	{"天津市武清区康养中心", "120114", kindElderly, "", 2},
	// 廊坊市区 (131003 广阳区, 131002 安次区)
	{"廊坊市第一人民医院", "131003", kindGeneral, "3A", 35},
	{"廊坊市第四人民医院", "131002", kindGeneral, "2A", 12},
	{"廊坊市中医医院", "131003", kindTCM, "3A", 14},
	{"廊坊市疾病预防控制中心", "131003", kindCDC, "", 3},
	{"廊坊市广阳区新开路社区卫生服务中心", "131003", kindCommunity, "1A", 5},
	{"廊坊市安次区银河南路社区卫生服务中心", "131002", kindCommunity, "1A", 4},
	{"廊坊市安次区落垡镇卫生院", "131002", kindTownship, "1", 3},
	{"廊坊市医养结合示范中心", "131003", kindElderly, "", 2},
	// 三河 (131082)
	{"三河市人民医院", "131082", kindGeneral, "2A", 18},
	{"三河市中医医院", "131082", kindTCM, "2A", 8},
	{"三河市疾病预防控制中心", "131082", kindCDC, "", 2},
	{"三河市燕郊社区卫生服务中心", "131082", kindCommunity, "1A", 5},
	{"三河市皇庄镇卫生院", "131082", kindTownship, "1", 3},
	{"三河市老年养护院", "131082", kindElderly, "", 2},
	// 大厂 (131028)
	{"大厂回族自治县人民医院", "131028", kindGeneral, "2A", 10},
	{"大厂回族自治县回民中医医院", "131028", kindTCM, "2B", 6},
	{"大厂回族自治县疾病预防控制中心", "131028", kindCDC, "", 2},
	{"大厂回族自治县夏垫镇卫生院", "131028", kindTownship, "1", 3},
	// 香河 (131024)
	{"香河县人民医院", "131024", kindGeneral, "2A", 12},
	{"香河县中医医院", "131024", kindTCM, "2B", 6},
	{"香河县疾病预防控制中心", "131024", kindCDC, "", 2},
	{"香河县新华社区卫生服务中心", "131024", kindCommunity, "1A", 4},
	{"香河县蒋辛屯镇卫生院", "131024", kindTownship, "1", 3},
}

// department is a clinical department (诊疗科目; codes after the
// 医疗机构诊疗科目名录, to be verified by the terminology work).
type department struct{ code, name string }

var (
	deptGP       = department{"02", "全科医疗科"}
	deptPrev     = department{"01", "预防保健科"}
	deptMed      = department{"03", "内科"}
	deptResp     = department{"03.01", "呼吸内科"}
	deptGastro   = department{"03.02", "消化内科"}
	deptNeuro    = department{"03.03", "神经内科"}
	deptCardio   = department{"03.04", "心血管内科"}
	deptNephro   = department{"03.06", "肾病学科"}
	deptEndo     = department{"03.07", "内分泌科"}
	deptGeri     = department{"03.10", "老年病科"}
	deptSurg     = department{"04", "外科"}
	deptOrtho    = department{"04.03", "骨科"}
	deptObGyn    = department{"05", "妇产科"}
	deptPaed     = department{"07", "儿科"}
	deptOnco     = department{"19", "肿瘤科"}
	deptEmerg    = department{"20", "急诊医学科"}
	deptRehab    = department{"21", "康复医学科"}
	deptLab      = department{"30", "医学检验科"}
	deptPath     = department{"31", "病理科"}
	deptImaging  = department{"32", "医学影像科"}
	deptTCM      = department{"50", "中医科"}
	deptIntegrTC = department{"52", "中西医结合科"}
)

func departmentsFor(kind, grade string) []department {
	switch kind {
	case kindGeneral:
		if strings.HasPrefix(grade, "3") {
			return []department{deptMed, deptCardio, deptResp, deptGastro, deptNeuro, deptEndo, deptNephro, deptSurg, deptOrtho, deptObGyn, deptPaed, deptOnco, deptEmerg, deptRehab, deptLab, deptImaging, deptTCM}
		}
		return []department{deptMed, deptCardio, deptResp, deptSurg, deptOrtho, deptObGyn, deptPaed, deptEmerg, deptLab, deptImaging, deptTCM}
	case kindTCM:
		return []department{deptTCM, deptIntegrTC, deptMed, deptOrtho, deptRehab, deptLab, deptImaging}
	case kindCommunity, kindTownship:
		return []department{deptGP, deptPrev, deptTCM, deptLab}
	case kindElderly:
		return []department{deptGeri, deptRehab}
	case kindLab:
		return []department{deptLab, deptPath}
	case kindCDC:
		return []department{deptPrev, deptLab}
	}
	return nil
}

// institution is a generated institution of the directory.
type institution struct {
	institutionSpec
	idx      int
	code     string // institution code: division code + 3-digit sequence
	id       string // Organization id
	div      *division
	uscc     string
	lat, lon float64
	street   string
	town     string
	depts    []department
	roles    []*role // practitioner roles at this institution
	mrnPfx   string
}

func (in *institution) isHospital() bool { return in.kind == kindGeneral || in.kind == kindTCM }
func (in *institution) isPrimary() bool  { return in.kind == kindCommunity || in.kind == kindTownship }
func (in *institution) tertiary() bool   { return strings.HasPrefix(in.grade, "3") }

// modalities are the imaging modalities an institution has.
func (in *institution) modalities() []string {
	switch {
	case in.isHospital() && in.tertiary():
		return []string{"DX", "CT", "MR", "US"}
	case in.kind == kindGeneral:
		return []string{"DX", "CT", "US", "MR"}[:3+len(in.name)%2]
	case in.kind == kindTCM:
		return []string{"DX", "CT", "US"}
	case in.isPrimary():
		return []string{"DX", "US"}
	}
	return nil
}

// cooperation is a consortium, alliance, pairing or trusteeship.
type cooperation struct {
	id, name, kind string
	specialty      *department
	start, end     string
	members        []membership
}

type membership struct {
	inst *institution
	role string // lead, member, supporting, supported
}

// role is a PractitionerRole.
type role struct {
	id      string
	prac    *practitioner
	inst    *institution
	dept    department
	primary bool
}

type practitioner struct {
	id, family, given string
	male              bool
	birth             string
	idNumber          string
	licence           string
	profession        string // doctor, tcm-doctor, nurse, technologist, public-health
	title             string // code of vocab.SystemTitle
	roles             []*role
}

// directory is the generated region: institutions, cooperations and staff.
type directory struct {
	insts    []*institution
	byDiv    map[string][]*institution
	coops    []*cooperation
	pracs    []*practitioner
	regionID string
}

func (d *directory) inst(name string) *institution {
	for _, in := range d.insts {
		if in.name == name {
			return in
		}
	}
	panic("demo: no institution " + name)
}

func buildDirectory(cfg Config) *directory {
	r := rand.New(rand.NewPCG(cfg.Seed, 0xD1EC7081))
	d := &directory{byDiv: map[string][]*institution{}, regionID: "demo-region-twl"}
	seqs := map[string]int{}
	for i, spec := range institutionSpecs {
		div := divisionByCode(spec.division)
		seqs[div.code]++
		in := &institution{institutionSpec: spec, idx: i, div: div}
		in.code = fmt.Sprintf("%s%03d", div.code, seqs[div.code])
		in.id = "demo-org-" + in.code
		auth := "12" // 机构编制 / 事业单位: public hospitals, centres, CDCs
		switch spec.kind {
		case kindElderly:
			auth = "52" // 民政 / 民办非企业单位
		case kindLab:
			auth = "91" // 市场监管 / 企业
		}
		in.uscc = uscc(auth, div.code, r)
		in.lat = div.lat + (r.Float64()*2-1)*div.spread*0.6
		in.lon = div.lon + (r.Float64()*2-1)*div.spread*0.8
		in.town = div.towns[r.IntN(len(div.towns))]
		in.street = fmt.Sprintf("%s%d号", div.streets[r.IntN(len(div.streets))], 1+r.IntN(300))
		in.depts = departmentsFor(spec.kind, spec.grade)
		in.mrnPfx = [...]string{"", "M", "ZY", "MZ", "B", "H"}[i%6]
		d.insts = append(d.insts, in)
		d.byDiv[div.code] = append(d.byDiv[div.code], in)
	}
	d.buildCooperations()
	d.buildPractitioners(cfg, r)
	return d
}

func (d *directory) buildCooperations() {
	add := func(id, name, kind string, spec *department, start, end string, lead string, leadRole string, others []string, otherRole string) {
		c := &cooperation{id: "demo-coop-" + id, name: name, kind: kind, specialty: spec, start: start, end: end}
		c.members = append(c.members, membership{d.inst(lead), leadRole})
		for _, o := range others {
			c.members = append(c.members, membership{d.inst(o), otherRole})
		}
		d.coops = append(d.coops, c)
	}
	ofKind := func(kinds ...string) []string {
		var names []string
		for _, in := range d.insts {
			for _, k := range kinds {
				if in.kind == k {
					names = append(names, in.name)
				}
			}
		}
		return names
	}
	without := func(names []string, drop string) []string {
		var out []string
		for _, n := range names {
			if n != drop {
				out = append(out, n)
			}
		}
		return out
	}
	inDiv := func(code string, kinds ...string) []string {
		var names []string
		for _, in := range d.byDiv[code] {
			for _, k := range kinds {
				if in.kind == k {
					names = append(names, in.name)
				}
			}
		}
		return names
	}
	add("mc-twl", "通武廊区域医疗联合体", "medical-consortium", nil, "2021-06-01", "", "北京运河医院", "lead",
		[]string{"北京市通州区第二人民医院", "天津市武清区第一人民医院", "廊坊市第一人民医院", "三河市人民医院", "大厂回族自治县人民医院", "香河县人民医院"}, "member")
	add("mc-wq", "武清区区域医疗联合体", "medical-consortium", nil, "2020-01-01", "", "天津市武清区第一人民医院", "lead",
		append(inDiv("120114", kindCommunity, kindTownship), "天津市武清区第二人民医院"), "member")
	add("cmc-sh", "三河市紧密型县域医疗卫生共同体", "county-medical-community", nil, "2022-07-01", "", "三河市人民医院", "lead",
		append([]string{"三河市中医医院"}, inDiv("131082", kindCommunity, kindTownship)...), "member")
	add("cmc-dc", "大厂回族自治县紧密型县域医疗卫生共同体", "county-medical-community", nil, "2022-07-01", "", "大厂回族自治县人民医院", "lead",
		append([]string{"大厂回族自治县回民中医医院"}, inDiv("131028", kindTownship)...), "member")
	add("cmc-xh", "香河县紧密型县域医疗卫生共同体", "county-medical-community", nil, "2023-01-01", "", "香河县人民医院", "lead",
		append([]string{"香河县中医医院"}, inDiv("131024", kindCommunity, kindTownship)...), "member")
	add("sa-cardio", "通武廊心血管专科联盟", "specialty-alliance", &deptCardio, "2022-03-01", "", "北京运河医院", "lead",
		[]string{"天津市武清区第一人民医院", "廊坊市第一人民医院", "三河市人民医院", "香河县人民医院", "大厂回族自治县人民医院"}, "member")
	add("sa-tcm", "通武廊中医专科联盟", "specialty-alliance", &deptTCM, "2023-05-01", "", "廊坊市中医医院", "lead",
		without(ofKind(kindTCM), "廊坊市中医医院"), "member")
	add("sa-sleep", "通武廊睡眠医学联盟", "specialty-alliance", &deptNeuro, "2025-04-01", "", "天津市武清区第一人民医院", "lead",
		[]string{"北京运河医院", "廊坊市第一人民医院", "北京市通州区中医医院", "三河市人民医院"}, "member")
	add("sa-primary", "通武廊基层特色专科联盟", "specialty-alliance", &deptGP, "2025-06-01", "", "北京市通州区永顺社区卫生服务中心", "lead",
		without(ofKind(kindCommunity, kindTownship), "北京市通州区永顺社区卫生服务中心"), "member")
	elderly := &cooperation{id: "demo-coop-ea-twl", name: "通武廊医养结合联盟", kind: "elderly-care-alliance", start: "2025-03-01"}
	elderly.members = append(elderly.members, membership{d.inst("北京市通州区运河颐养中心"), "lead"})
	for _, n := range without(ofKind(kindElderly), "北京市通州区运河颐养中心") {
		elderly.members = append(elderly.members, membership{d.inst(n), "member"})
	}
	for _, n := range []string{"北京运河医院", "天津市武清区第一人民医院", "廊坊市第一人民医院", "北京市通州区中医医院"} {
		elderly.members = append(elderly.members, membership{d.inst(n), "supporting"})
	}
	d.coops = append(d.coops, elderly)
	pairs := [][2]string{
		{"北京市通州区永顺社区卫生服务中心", "三河市燕郊社区卫生服务中心"},
		{"北京市通州区梨园社区卫生服务中心", "天津市武清区杨村街社区卫生服务中心"},
		{"天津市武清区大良镇卫生院", "香河县蒋辛屯镇卫生院"},
		{"北京市通州区漷县镇卫生院", "大厂回族自治县夏垫镇卫生院"},
		{"廊坊市广阳区新开路社区卫生服务中心", "廊坊市安次区落垡镇卫生院"},
	}
	for i, p := range pairs {
		add(fmt.Sprintf("pair-%02d", i+1), "手拉手结对："+short(p[0])+"—"+short(p[1]), "pairing", nil, "2025-03-01", "2028-02-29", p[0], "supporting", []string{p[1]}, "supported")
	}
	add("trust-dc", "托管：北京运河医院托管大厂回族自治县人民医院", "trusteeship", nil, "2024-01-01", "2028-12-31", "北京运河医院", "supporting",
		[]string{"大厂回族自治县人民医院"}, "supported")
}

// short drops the city prefix of an institution name.
func short(name string) string {
	for _, p := range []string{"北京市通州区", "天津市武清区", "廊坊市广阳区", "廊坊市安次区"} {
		name = strings.TrimPrefix(name, p)
	}
	return name
}

func (d *directory) buildPractitioners(cfg Config, r *rand.Rand) {
	n := cfg.Practitioners
	total := 0
	for _, in := range d.insts {
		total += in.weight
	}
	// Every institution first gets one practitioner (while there are
	// enough), the rest go by weight.
	counts := make([]int, len(d.insts))
	left := n
	for i := range d.insts {
		if left == 0 {
			break
		}
		counts[i]++
		left--
	}
	rest := left
	for i, in := range d.insts {
		k := rest * in.weight / total
		counts[i] += k
		left -= k
	}
	for i := 0; left > 0; i = (i + 1) % len(d.insts) {
		if d.insts[i].isHospital() {
			counts[i]++
			left--
		}
	}
	seq := 0
	for i, in := range d.insts {
		for k := 0; k < counts[i]; k++ {
			seq++
			p := d.newPractitioner(seq, in, k, r)
			d.pracs = append(d.pracs, p)
		}
	}
	// Regional registration: about one physician in eight at a hospital
	// also practises at an institution of another area.
	for _, p := range d.pracs {
		home := p.roles[0].inst
		if !home.isHospital() || (p.profession != "doctor" && p.profession != "tcm-doctor") || r.IntN(8) != 0 {
			continue
		}
		var cands []*institution
		for _, in := range d.insts {
			if in.div.area != home.div.area && (in.isHospital() || in.isPrimary()) && (p.profession != "tcm-doctor" || in.kind != kindGeneral) {
				cands = append(cands, in)
			}
		}
		other := cands[r.IntN(len(cands))]
		dept := p.roles[0].dept
		if !hasDept(other, dept) {
			dept = other.depts[0]
		}
		ro := &role{id: fmt.Sprintf("%s-2", strings.Replace(p.id, "demo-pr-", "demo-prr-", 1)), prac: p, inst: other, dept: dept}
		p.roles = append(p.roles, ro)
		other.roles = append(other.roles, ro)
	}
}

func hasDept(in *institution, d department) bool {
	for _, x := range in.depts {
		if x == d {
			return true
		}
	}
	return false
}

func (d *directory) newPractitioner(seq int, in *institution, k int, r *rand.Rand) *practitioner {
	p := &practitioner{id: fmt.Sprintf("demo-pr-%04d", seq), male: r.IntN(100) < 48}
	age := 27 + r.IntN(36)
	by := demoToday.Year() - age
	birth := dateOf(by, 1+r.IntN(12), 1+r.IntN(28))
	p.birth = birth.Format("2006-01-02")
	p.family, p.given = personName(r, p.male, by, in.div.code == "131028")
	home := in.div.code
	if r.IntN(3) == 0 {
		home = birthplaceCodes[r.IntN(len(birthplaceCodes))]
	}
	p.idNumber = idNumber(home, birth, p.male, r)

	// Profession and department follow the institution.
	clinical := in.depts
	var dept department
	switch {
	case in.kind == kindLab:
		p.profession, dept = "technologist", in.depts[r.IntN(len(in.depts))]
	case in.kind == kindCDC:
		p.profession, dept = "public-health", deptPrev
	case k > 0 && r.IntN(10) == 0:
		p.profession, dept = "nurse", clinical[r.IntN(len(clinical))]
	case in.kind == kindTCM && r.IntN(10) < 6:
		p.profession, dept = "tcm-doctor", deptTCM
	default:
		p.profession = "doctor"
		dept = clinical[r.IntN(len(clinical))]
		if dept == deptTCM && r.IntN(2) == 0 {
			p.profession = "tcm-doctor"
		}
	}
	// Make sure result-producing departments have staff early on.
	if in.isHospital() && k == 1 {
		p.profession, dept = "doctor", deptLab
	}
	if in.isHospital() && k == 2 {
		p.profession, dept = "doctor", deptImaging
	}
	senior := age - 27
	switch p.profession {
	case "doctor":
		p.title = [...]string{"resident-physician", "attending-physician", "associate-chief-physician", "chief-physician"}[min(3, senior/8)]
	case "tcm-doctor":
		p.title = [...]string{"tcm-physician", "attending-tcm", "associate-chief-tcm", "chief-tcm-physician"}[min(3, senior/8)]
	case "nurse":
		p.title = [...]string{"nurse", "nurse-in-charge"}[min(1, senior/10)]
	case "technologist":
		p.title = [...]string{"technologist", "technologist-in-charge"}[min(1, senior/10)]
	default:
		p.title = "public-health-physician"
	}
	// Licence numbers: 医师执业证书编码-shaped (level, category, division,
	// year, sequence: 15 digits); 护士执业证书编号-shaped (12 digits).
	year := max(by+25, 1995)
	switch p.profession {
	case "doctor", "tcm-doctor", "public-health":
		cat := map[string]string{"doctor": "1", "tcm-doctor": "2", "public-health": "4"}[p.profession]
		p.licence = "1" + cat + in.div.code + fmt.Sprintf("%04d%03d", year, r.IntN(1000))
	case "nurse":
		p.licence = fmt.Sprintf("%04d%s%06d", year, in.div.code[:2], r.IntN(1000000))
	}
	ro := &role{id: strings.Replace(p.id, "demo-pr-", "demo-prr-", 1) + "-1", prac: p, inst: in, dept: dept, primary: true}
	p.roles = append(p.roles, ro)
	in.roles = append(in.roles, ro)
	return p
}
