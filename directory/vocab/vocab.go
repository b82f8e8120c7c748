// Package vocab is the regional directory's vocabulary: the code
// systems, identifier systems and code tables (with their Chinese
// display names) of institutions, cooperations, departments, services
// and practitioners. The demo region writes them and the directory
// import checks against them, so both use this one table. It depends on
// nothing.
package vocab

const (
	base                   = "https://xietong.dev/fhir/"
	SystemInstitutionKind  = base + "CodeSystem/institution-kind"
	SystemHospitalGrade    = base + "CodeSystem/hospital-grade"
	SystemCooperationKind  = base + "CodeSystem/cooperation-kind"
	SystemAffiliationRole  = base + "CodeSystem/affiliation-role"
	SystemDepartment       = base + "CodeSystem/clinical-department"
	SystemServiceKind      = base + "CodeSystem/service-kind"
	SystemTitle            = base + "CodeSystem/professional-title"
	SystemPracticeKind     = base + "CodeSystem/practice-registration"
	SystemDivision         = base + "CodeSystem/gbt-2260"
	SystemInstitutionCode  = base + "sid/institution-code"
	SystemUSCC             = base + "sid/uscc"
	SystemPhysicianLicence = base + "sid/physician-licence"
	SystemNurseLicence     = base + "sid/nurse-licence"
	ExtAddressDivision     = base + "StructureDefinition/address-division"
)

// InstitutionKinds are the institution-kind codes.
var InstitutionKinds = map[string]string{
	"general-hospital":        "综合医院",
	"tcm-hospital":            "中医医院",
	"maternal-child-health":   "妇幼保健院",
	"specialty-hospital":      "专科医院",
	"community-health-centre": "社区卫生服务中心",
	"township-health-centre":  "乡镇卫生院",
	"cdc":                     "疾病预防控制中心",
	"elderly-care":            "医养结合机构",
	"independent-lab":         "独立医学实验室",
}

// Grades are the hospital-grade codes (等级: 三级甲等 …).
var Grades = map[string]string{
	"3A": "三级甲等", "3B": "三级乙等", "2A": "二级甲等", "2B": "二级乙等", "1A": "一级甲等", "1": "一级",
}

// CooperationKinds are the cooperation-kind codes.
var CooperationKinds = map[string]string{
	"regional-collaboration":   "区域卫生健康协同机制",
	"medical-consortium":       "医联体",
	"county-medical-community": "县域医共体",
	"specialty-alliance":       "专科联盟",
	"elderly-care-alliance":    "医养结合联盟",
	"pairing":                  "手拉手结对",
	"trusteeship":              "托管",
}

// AffiliationRoles are the affiliation-role codes of a member.
var AffiliationRoles = map[string]string{
	"lead": "牵头单位", "member": "成员单位", "supporting": "支援方", "supported": "受援方",
}

// ServiceKinds are the service-kind codes of a HealthcareService.
var ServiceKinds = map[string]string{
	"outpatient": "门诊", "emergency": "急诊", "health-check": "健康体检", "lab": "检验", "imaging": "影像检查",
	"remote-consultation": "远程会诊", "tcm-clinic": "中医门诊", "acupuncture": "针灸", "tuina": "推拿",
	"family-doctor": "家庭医生签约服务", "vaccination": "预防接种", "elderly-care": "医养结合服务",
	"rehabilitation": "康复", "disease-control": "疾病预防控制",
}

// Departments are the clinical-department codes the demo uses
// (医疗机构诊疗科目名录); other codes of the same shape are accepted
// when the row names the department.
var Departments = map[string]string{
	"01": "预防保健科", "02": "全科医疗科", "03": "内科", "03.01": "呼吸内科", "03.02": "消化内科",
	"03.03": "神经内科", "03.04": "心血管内科", "03.06": "肾病学科", "03.07": "内分泌科", "03.10": "老年病科",
	"04": "外科", "04.03": "骨科", "05": "妇产科", "07": "儿科", "19": "肿瘤科", "20": "急诊医学科",
	"21": "康复医学科", "30": "医学检验科", "31": "病理科", "32": "医学影像科", "50": "中医科", "52": "中西医结合科",
}

// Titles are the professional-title codes (专业技术职称).
var Titles = map[string]string{
	"chief-physician": "主任医师", "associate-chief-physician": "副主任医师", "attending-physician": "主治医师",
	"resident-physician": "住院医师", "chief-tcm-physician": "主任中医师", "associate-chief-tcm": "副主任中医师",
	"attending-tcm": "主治中医师", "tcm-physician": "中医师", "nurse-in-charge": "主管护师", "nurse": "护师",
	"technologist-in-charge": "主管技师", "technologist": "技师", "public-health-physician": "主管医师",
}

// Professions are the practitioner professions of the profession column.
var Professions = map[string]string{
	"doctor": "医师", "tcm-doctor": "中医师", "public-health": "公共卫生医师", "nurse": "护士",
}

// SystemExpertPoolKind codes an expert pool (a Group of
// PractitionerRoles): quality-control or consultation.
const SystemExpertPoolKind = base + "CodeSystem/expert-pool-kind"

// ExpertPoolKinds are the expert-pool-kind codes.
var ExpertPoolKinds = map[string]string{
	"quality-control": "质控专家库", "consultation": "会诊专家库",
}

// SystemImportSource tags (meta.tag) every resource a directory import
// writes with the name of the registry it came from (decision 032): a
// sync ends only records carrying its source's tag, never one written
// through the API.
const SystemImportSource = base + "CodeSystem/directory-import-source"
