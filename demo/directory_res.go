package demo

import (
	"fmt"
	"strings"

	"github.com/xietong/xietong/directory/vocab"
)

// Resources of the directory: Organizations (institutions, departments,
// cooperations, the region), OrganizationAffiliations, Locations,
// HealthcareServices, Practitioners, PractitionerRoles and expert pools.

func areaPhone(div *division, n int) string {
	switch div.state {
	case "北京市":
		return fmt.Sprintf("010-%08d", 60000000+n%10000000)
	case "天津市":
		return fmt.Sprintf("022-%08d", 29000000+n%1000000)
	}
	return fmt.Sprintf("0316-%07d", 2000000+n%1000000)
}

func address(div *division, use, line string) obj {
	text := div.state
	if div.city != div.state {
		text += div.city
	}
	text += div.name + line
	return obj{
		"extension":  list(divisionExt(div.code, div.name)),
		"use":        use,
		"type":       "physical",
		"text":       text,
		"line":       list(line),
		"city":       div.city,
		"district":   div.name,
		"state":      div.state,
		"postalCode": div.postal,
		"country":    "CN",
	}
}

func (in *institution) locationID() string { return "demo-loc-" + in.code }

func (in *institution) organization() obj {
	provType := coding(sysOrgType, "prov", "Healthcare Provider")
	if in.kind == kindCDC {
		provType = coding(sysOrgType, "govt", "Government")
	}
	types := list(
		concept("", provType),
		concept(vocab.InstitutionKinds[in.kind], coding(vocab.SystemInstitutionKind, in.kind, vocab.InstitutionKinds[in.kind])),
	)
	if in.grade != "" {
		types = append(types, concept(vocab.Grades[in.grade], coding(vocab.SystemHospitalGrade, in.grade, vocab.Grades[in.grade])))
	}
	return obj{
		"resourceType": "Organization",
		"id":           in.id,
		"identifier": list(
			ident(vocab.SystemInstitutionCode, in.code, "PRN", "机构编码"),
			ident(vocab.SystemUSCC, in.uscc, "TAX", "统一社会信用代码"),
		),
		"active":  true,
		"type":    types,
		"name":    in.name,
		"telecom": list(obj{"system": "phone", "value": areaPhone(in.div, in.idx*7919+1234), "use": "work"}),
		"address": list(address(in.div, "work", in.town+in.street)),
	}
}

func (in *institution) departmentID(d department) string {
	return in.id + "-d" + strings.ReplaceAll(d.code, ".", "")
}

func (in *institution) department(d department) obj {
	return obj{
		"resourceType": "Organization",
		"id":           in.departmentID(d),
		"active":       true,
		"type": list(
			concept("", coding(sysOrgType, "dept", "Hospital Department")),
			concept(d.name, coding(vocab.SystemDepartment, d.code, d.name)),
		),
		"name":   d.name,
		"alias":  list(in.name + d.name),
		"partOf": ref("Organization", in.id, in.name),
	}
}

func (in *institution) location() obj {
	return obj{
		"resourceType": "Location",
		"id":           in.locationID(),
		"status":       "active",
		"name":         in.name,
		"mode":         "instance",
		"telecom":      list(obj{"system": "phone", "value": areaPhone(in.div, in.idx*7919+1234), "use": "work"}),
		"address":      address(in.div, "work", in.town+in.street),
		"physicalType": concept("", coding(sysLocPhys, "bu", "Building")),
		"position": obj{
			"longitude": dec(in.lon, 6),
			"latitude":  dec(in.lat, 6),
		},
		"managingOrganization": ref("Organization", in.id, in.name),
	}
}

type service struct {
	kind, name string
	dept       *department
	allDay     bool
}

func (in *institution) services() []service {
	var s []service
	switch in.kind {
	case kindGeneral:
		s = append(s, service{"outpatient", "门诊", nil, false}, service{"emergency", "急诊", &deptEmerg, true},
			service{"health-check", "健康体检", nil, false}, service{"lab", "检验", &deptLab, false}, service{"imaging", "影像检查", &deptImaging, false})
		if in.tertiary() {
			s = append(s, service{"remote-consultation", "远程会诊", nil, false})
		}
		s = append(s, service{"tcm-clinic", "中医门诊", &deptTCM, false})
	case kindTCM:
		s = append(s, service{"tcm-clinic", "中医门诊", &deptTCM, false}, service{"acupuncture", "针灸", &deptTCM, false},
			service{"tuina", "推拿", &deptTCM, false}, service{"lab", "检验", &deptLab, false}, service{"imaging", "影像检查", &deptImaging, false})
	case kindCommunity, kindTownship:
		s = append(s, service{"outpatient", "全科门诊", &deptGP, false}, service{"family-doctor", "家庭医生签约服务", &deptGP, false},
			service{"tcm-clinic", "中医馆（国医堂）", &deptTCM, false}, service{"vaccination", "预防接种", &deptPrev, false}, service{"lab", "检验", &deptLab, false})
	case kindElderly:
		s = append(s, service{"elderly-care", "医养结合服务", &deptGeri, true}, service{"rehabilitation", "康复", &deptRehab, false})
	case kindCDC:
		s = append(s, service{"disease-control", "传染病防控与疫情报告", &deptPrev, true}, service{"vaccination", "预防接种管理", &deptPrev, false})
	case kindLab:
		s = append(s, service{"lab", "第三方医学检验", &deptLab, true})
	}
	return s
}

func (in *institution) healthcareService(s service) obj {
	m := obj{
		"resourceType": "HealthcareService",
		"id":           "demo-hcs-" + in.code + "-" + s.kind,
		"active":       true,
		"providedBy":   ref("Organization", in.id, in.name),
		"category":     list(concept(vocab.ServiceKinds[s.kind], coding(vocab.SystemServiceKind, s.kind, vocab.ServiceKinds[s.kind]))),
		"location":     list(ref("Location", in.locationID(), in.name)),
		"name":         in.name + s.name,
	}
	if s.dept != nil {
		m["specialty"] = list(concept(s.dept.name, coding(vocab.SystemDepartment, s.dept.code, s.dept.name)))
	}
	if s.allDay {
		m["availableTime"] = list(obj{"daysOfWeek": list("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "allDay": true})
	} else {
		m["availableTime"] = list(obj{"daysOfWeek": list("mon", "tue", "wed", "thu", "fri"), "availableStartTime": "08:00:00", "availableEndTime": "17:00:00"},
			obj{"daysOfWeek": list("sat"), "availableStartTime": "08:00:00", "availableEndTime": "12:00:00"})
	}
	return m
}

func (d *directory) region() obj {
	return obj{
		"resourceType": "Organization",
		"id":           d.regionID,
		"active":       true,
		"type": list(
			concept("", coding(sysOrgType, "govt", "Government")),
			concept("区域卫生健康协同机制", coding(vocab.SystemCooperationKind, "regional-collaboration", "区域卫生健康协同机制")),
		),
		"name":  "通武廊卫生健康协同发展联席会",
		"alias": list("通武廊"),
	}
}

func (d *directory) cooperationOrg(c *cooperation) obj {
	m := obj{
		"resourceType": "Organization",
		"id":           c.id,
		"active":       c.end == "" || c.end >= demoToday.Format("2006-01-02"),
		"type": list(
			concept("", coding(sysOrgType, "other", "Other")),
			concept(vocab.CooperationKinds[c.kind], coding(vocab.SystemCooperationKind, c.kind, vocab.CooperationKinds[c.kind])),
		),
		"name":   c.name,
		"partOf": ref("Organization", d.regionID, "通武廊卫生健康协同发展联席会"),
	}
	return m
}

func (d *directory) affiliation(c *cooperation, i int, mb membership) obj {
	period := obj{"start": c.start}
	if c.end != "" {
		period["end"] = c.end
	}
	m := obj{
		"resourceType":              "OrganizationAffiliation",
		"id":                        fmt.Sprintf("%s-m%02d", strings.Replace(c.id, "demo-coop-", "demo-oa-", 1), i+1),
		"active":                    c.end == "" || c.end >= demoToday.Format("2006-01-02"),
		"period":                    period,
		"organization":              ref("Organization", c.id, c.name),
		"participatingOrganization": ref("Organization", mb.inst.id, mb.inst.name),
		"network":                   list(ref("Organization", d.regionID, "通武廊卫生健康协同发展联席会")),
		"code":                      list(concept(vocab.AffiliationRoles[mb.role], coding(vocab.SystemAffiliationRole, mb.role, vocab.AffiliationRoles[mb.role]))),
	}
	if c.specialty != nil {
		m["specialty"] = list(concept(c.specialty.name, coding(vocab.SystemDepartment, c.specialty.code, c.specialty.name)))
	}
	return m
}

func (p *practitioner) name() string { return p.family + p.given }

func (p *practitioner) resource() obj {
	var ids []any
	switch p.profession {
	case "nurse":
		ids = append(ids, ident(vocab.SystemNurseLicence, p.licence, "RN", "护士执业证书编号"))
	case "technologist":
		in := p.roles[0].inst
		ids = append(ids, ident(sidStaffNo+in.code, "S"+p.id[len(p.id)-4:], "EI", "工号"))
	default:
		ids = append(ids, ident(vocab.SystemPhysicianLicence, p.licence, "MD", "医师执业证书编码"))
	}
	ids = append(ids, ident(sidResidentID, p.idNumber, "NI", "居民身份证"))
	gender := "female"
	if p.male {
		gender = "male"
	}
	qual := obj{"code": concept(vocab.Titles[p.title], coding(vocab.SystemTitle, p.title, vocab.Titles[p.title]))}
	switch p.profession {
	case "nurse":
		qual["identifier"] = list(obj{"system": vocab.SystemNurseLicence, "value": p.licence})
	case "technologist":
	default:
		qual["identifier"] = list(obj{"system": vocab.SystemPhysicianLicence, "value": p.licence})
	}
	return obj{
		"resourceType":  "Practitioner",
		"id":            p.id,
		"identifier":    ids,
		"active":        true,
		"name":          list(obj{"use": "official", "text": p.name(), "family": p.family, "given": list(p.given)}),
		"gender":        gender,
		"birthDate":     p.birth,
		"qualification": list(qual),
	}
}

func professionConcept(profession string) obj {
	switch profession {
	case "tcm-doctor":
		return concept("中医师", coding(sysPracRole, "doctor", "Doctor"))
	case "public-health":
		return concept("公共卫生医师", coding(sysPracRole, "doctor", "Doctor"))
	case "nurse":
		return concept("护士", coding(sysPracRole, "nurse", "Nurse"))
	case "technologist":
		return obj{"text": "技师"}
	}
	return concept("医师", coding(sysPracRole, "doctor", "Doctor"))
}

func (ro *role) resource() obj {
	kind, kindName := "primary", "第一执业机构"
	if !ro.primary {
		kind, kindName = "regional", "区域注册执业机构"
	}
	m := obj{
		"resourceType": "PractitionerRole",
		"id":           ro.id,
		"active":       true,
		"period":       obj{"start": "2024-01-01"},
		"practitioner": ref("Practitioner", ro.prac.id, ro.prac.name()),
		"organization": ref("Organization", ro.inst.id, ro.inst.name),
		"code": list(
			professionConcept(ro.prac.profession),
			concept(kindName, coding(vocab.SystemPracticeKind, kind, kindName)),
		),
		"specialty": list(concept(ro.dept.name, coding(vocab.SystemDepartment, ro.dept.code, ro.dept.name))),
		"location":  list(ref("Location", ro.inst.locationID(), ro.inst.name)),
	}
	if !ro.primary {
		day := [...]string{"tue", "thu", "sat"}[len(ro.prac.given)%3]
		m["availableTime"] = list(obj{"daysOfWeek": list(day), "availableStartTime": "08:00:00", "availableEndTime": "12:00:00"})
		m["period"] = obj{"start": "2025-03-01"}
	}
	return m
}

type pool struct {
	id, kind, name string
	dept           *department
	pick           func(ro *role) bool
}

func senior(p *practitioner) bool {
	return strings.HasPrefix(p.title, "chief") || strings.HasPrefix(p.title, "associate") || strings.HasSuffix(p.title, "in-charge")
}

func (d *directory) pools() []pool {
	return []pool{
		{"demo-pool-qc-lab", "quality-control", "通武廊质控专家库（医学检验）", &deptLab, func(ro *role) bool { return ro.dept == deptLab && ro.primary }},
		{"demo-pool-qc-imaging", "quality-control", "通武廊质控专家库（医学影像）", &deptImaging, func(ro *role) bool { return ro.dept == deptImaging && ro.primary }},
		{"demo-pool-qc-cardio", "quality-control", "通武廊质控专家库（心血管内科）", &deptCardio, func(ro *role) bool { return ro.dept == deptCardio && ro.primary }},
		{"demo-pool-consult", "consultation", "通武廊远程会诊专家库", nil, func(ro *role) bool {
			return ro.primary && ro.inst.isHospital() && (ro.prac.profession == "doctor" || ro.prac.profession == "tcm-doctor") && senior(ro.prac)
		}},
	}
}

var poolKindNames = map[string]string{"quality-control": "质控专家库", "consultation": "会诊专家库"}

func (d *directory) pool(pl pool) obj {
	var members []any
	for _, p := range d.pracs {
		for _, ro := range p.roles {
			if pl.pick(ro) && len(members) < 30 {
				members = append(members, obj{"entity": ref("PractitionerRole", ro.id, p.name()+"（"+ro.inst.name+"）"), "period": obj{"start": "2025-01-01"}})
			}
		}
	}
	m := obj{
		"resourceType":   "Group",
		"id":             pl.id,
		"active":         true,
		"type":           "practitioner",
		"actual":         true,
		"code":           concept(poolKindNames[pl.kind], coding(csExpertPool, pl.kind, poolKindNames[pl.kind])),
		"name":           pl.name,
		"quantity":       integer(len(members)),
		"managingEntity": ref("Organization", d.regionID, "通武廊卫生健康协同发展联席会"),
	}
	if pl.dept != nil {
		m["characteristic"] = list(obj{
			"code":                 concept("专业", coding(csExpertPool, "specialty", "专业")),
			"valueCodeableConcept": concept(pl.dept.name, coding(vocab.SystemDepartment, pl.dept.code, pl.dept.name)),
			"exclude":              false,
		})
	}
	if len(members) > 0 {
		m["member"] = members
	}
	return m
}
