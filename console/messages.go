package console

import "fmt"

// The message catalogue: every string the console shows, in Chinese (the
// default) and English. Templates reach it with {{t "nav.home"}} (with arguments for %d) and
// {{tk "prefix." code}} (codes of data: kinds, grades, roles); Go code
// with msg. A test checks that every key a template or the code uses is
// here, in both languages. Data (names of institutions, people,
// conclusions) is shown as written.

type message struct{ zh, en string }

func (m message) text(lang string) string {
	if lang == "en" {
		return m.en
	}
	return m.zh
}

// msg looks key up; an unknown key shows as itself (and fails the
// catalogue test), never as an empty string.
func msg(lang, key string, args ...any) string {
	m, ok := catalogue[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(m.text(lang), args...)
	}
	return m.text(lang)
}

var catalogue = map[string]message{
	"app.name":   {"协同 · 区域卫生健康协同平台", "Xietong · Regional Health Collaboration"},
	"app.footer": {"协同（Xietong）开源区域卫生健康协同平台 · 数据均为演示数据", "Xietong, the open regional health collaboration platform · all data is demo data"},

	"demo.banner":   {"演示模式：未登录，角色由您选择；每次访问仍经授权检查并记入审计日志。", "Demo mode: no login, you choose the role; every access is still authorised and audited."},
	"demo.actingas": {"当前身份", "Acting as"},
	"demo.change":   {"切换角色", "Change role"},

	"nav.label":      {"主导航", "Main navigation"},
	"nav.home":       {"首页", "Home"},
	"nav.patients":   {"临床工作台", "Clinician workspace"},
	"nav.directory":  {"机构目录", "Directory"},
	"nav.commission": {"卫健委看板", "Commission dashboard"},

	"role.title":       {"选择演示角色", "Choose a demo role"},
	"role.lead":        {"在真正的身份认证上线之前，控制台以演示模式运行：请选择角色和所在机构。", "Until real authentication exists, the console runs in demo mode: choose a role and your institution."},
	"role.role":        {"角色", "Role"},
	"role.institution": {"所在机构", "Institution"},
	"role.platform":    {"（平台，无所属机构）", "(the platform, no institution)"},
	"role.submit":      {"进入控制台", "Enter the console"},
	"role.invalid":     {"请选择一个有效的角色和机构。", "Choose a valid role and institution."},

	"role.clinician":        {"临床医生", "Clinician"},
	"role.commission":       {"卫健委工作人员", "Commission staff"},
	"role.admin":            {"系统管理员", "Administrator"},
	"role.cdc":              {"疾控人员", "CDC officer"},
	"role.viewer":           {"只读访客", "Read-only visitor"},
	"role.about.clinician":  {"查找患者、调阅跨机构记录、检查互认", "find patients, read records across institutions, recognition"},
	"role.about.commission": {"看板与指标、机构目录", "dashboard and indicators, directory"},
	"role.about.admin":      {"全部功能，维护互认目录，身份审核", "everything, recognition catalogue, identity review"},
	"role.about.cdc":        {"传染病防控相关的调阅", "reads for disease control"},
	"role.about.viewer":     {"只能查看，不能写入", "may read, never write"},

	"home.title":         {"区域概览", "The region at a glance"},
	"home.lead":          {"通武廊区域卫生健康协同：一码通用、检查检验结果互认、医联体与专科联盟。", "Tongzhou–Wuqing–Langfang health collaboration: one code everywhere, mutual recognition of results, consortia and alliances."},
	"home.institutions":  {"医疗卫生机构", "Institutions"},
	"home.cooperations":  {"医联体、医共体、联盟与结对", "Consortia, alliances and pairings"},
	"home.practitioners": {"卫生技术人员", "Practitioners"},
	"home.patients":      {"居民（患者）", "Residents (patients)"},
	"home.find":          {"查找患者", "Find a patient"},
	"home.directory":     {"机构、医联体与联盟、医生与专家库、服务查找", "Institutions, consortia and alliances, practitioners and expert pools, the service finder"},
	"home.commission":    {"参与机构、检查检验量与互认成效", "Participation, test volumes and recognition results"},

	"patients.title":           {"查找患者", "Find a patient"},
	"patients.hint":            {"粘贴或扫描电子健康卡二维码内容，或输入身份证号、姓名", "Paste or scan the e-health-card QR text, or type an ID number or a name"},
	"patients.placeholder":     {"电子健康卡 / 身份证号 / 姓名", "E-health card / ID number / name"},
	"patients.search":          {"查找", "Find"},
	"patients.found":           {"找到 %d 人", "%d found"},
	"patients.none":            {"没有找到匹配的患者。", "No matching patient."},
	"patients.toolong":         {"输入过长。", "The input is too long."},
	"patients.nocards":         {"本节点没有电子健康卡服务，无法识别二维码。", "This node has no e-health card service to read the code."},
	"patients.needinstitution": {"用电子健康卡识别患者需要先选择所在机构。", "Choose your institution first: a card is resolved at an institution."},
	"patients.kind.signedcode": {"按电子健康卡二维码", "By e-health-card QR code"},
	"patient.resolved":         {"已通过电子健康卡识别，本院病案号 %s；本次用卡已记录。", "Resolved by e-health card; record number here %s; the use is recorded."},
	"patients.kind.idnumber":   {"按身份证号", "By ID number"},
	"patients.kind.onecode":    {"按电子健康卡（一码通）", "By e-health card (one code)"},
	"patients.kind.name":       {"按姓名", "By name"},

	"patient.title":        {"患者记录", "Patient record"},
	"patient.name":         {"姓名", "Name"},
	"patient.gender":       {"性别", "Sex"},
	"patient.birthdate":    {"出生日期", "Born"},
	"patient.idnumber":     {"身份证号", "ID number"},
	"patient.district":     {"住址所在区县", "District"},
	"patient.institutions": {"就诊机构数", "Institutions"},
	"patient.phone":        {"电话", "Phone"},
	"patient.address":      {"住址", "Address"},
	"patient.records":      {"各机构病案号", "Record numbers"},
	"patient.summary":      {"%d 次就诊，%d 份检验报告，%d 份影像报告，来自 %d 家机构", "%d encounters, %d lab reports, %d imaging reports from %d institutions"},
	"patient.filter":       {"筛选", "Filter"},
	"patient.show.all":     {"全部", "All"},
	"patient.show.lab":     {"检验", "Lab"},
	"patient.show.imaging": {"影像", "Imaging"},
	"patient.truncated":    {"记录过多，仅显示最近的部分。", "Too many records: only part is shown."},
	"patient.norecords":    {"没有记录。", "No records."},
	"patient.performer":    {"出具：", "by"},
	"patient.imaging":      {"%s · %d 个序列 / %d 幅图像", "%s · %d series / %d images"},

	"obs.item":  {"项目", "Test"},
	"obs.value": {"结果", "Result"},
	"obs.unit":  {"单位", "Unit"},
	"obs.range": {"参考范围", "Reference range"},

	"category.lab":     {"检验", "Lab"},
	"category.imaging": {"影像", "Imaging"},
	"class.AMB":        {"门诊", "Outpatient"},
	"class.EMER":       {"急诊", "Emergency"},
	"class.IMP":        {"住院", "Inpatient"},
	"gender.male":      {"男", "Male"},
	"gender.female":    {"女", "Female"},
	"gender.other":     {"其他", "Other"},
	"gender.unknown":   {"未知", "Unknown"},

	"dir.institutions":  {"医疗卫生机构", "Institutions"},
	"dir.institution":   {"机构", "Institution"},
	"dir.cooperations":  {"医联体与联盟", "Consortia and alliances"},
	"dir.practitioners": {"医生与卫技人员", "Practitioners"},
	"dir.pools":         {"专家库", "Expert pools"},
	"dir.services":      {"服务查找", "Service finder"},
	"dir.city":          {"城市", "City"},
	"dir.kind":          {"机构类别", "Kind"},
	"dir.grade":         {"等级", "Level"},
	"dir.any":           {"全部", "Any"},
	"dir.filter":        {"筛选", "Filter"},
	"dir.count":         {"共 %d 条", "%d in all"},
	"dir.name":          {"名称", "Name"},
	"dir.district":      {"区县", "District"},
	"dir.phone":         {"电话", "Phone"},
	"dir.none":          {"没有匹配的记录。", "Nothing matches."},
	"dir.badfilter":     {"筛选条件无效。", "The filter is not valid."},
	"dir.memberships":   {"参加的医联体与联盟", "Member of"},
	"dir.servicelist":   {"服务项目", "Services"},
	"dir.departments":   {"科室", "Departments"},
	"dir.staff":         {"人员", "Staff"},
	"dir.title":         {"职称", "Title"},
	"dir.specialty":     {"专业", "Specialty"},
	"dir.registration":  {"执业注册", "Registration"},
	"dir.ended":         {"已结束", "Ended"},
	"dir.members":       {"%d 名成员", "%d members"},
	"dir.servicekind":   {"服务", "Service"},
	"dir.from":          {"出发机构", "From"},
	"dir.nowhere":       {"（不计算距离）", "(no distance)"},
	"dir.find":          {"查找", "Find"},
	"dir.distance":      {"距离", "Distance"},
	"dir.service":       {"服务", "Service"},
	"dir.hours":         {"服务时间", "Hours"},

	"kind.general-hospital":             {"综合医院", "General hospital"},
	"kind.tcm-hospital":                 {"中医医院", "TCM hospital"},
	"kind.community-health-centre":      {"社区卫生服务中心", "Community health centre"},
	"kind.township-health-centre":       {"乡镇卫生院", "Township health centre"},
	"kind.cdc":                          {"疾病预防控制中心", "CDC"},
	"kind.elderly-care":                 {"医养结合机构", "Elderly-care institution"},
	"kind.independent-lab":              {"独立医学实验室", "Independent laboratory"},
	"grade.3A":                          {"三级甲等", "Tertiary A"},
	"grade.3B":                          {"三级乙等", "Tertiary B"},
	"grade.2A":                          {"二级甲等", "Secondary A"},
	"grade.2B":                          {"二级乙等", "Secondary B"},
	"grade.1A":                          {"一级甲等", "Primary A"},
	"grade.1":                           {"一级", "Primary"},
	"coopkind.medical-consortium":       {"医联体", "Medical consortium"},
	"coopkind.county-medical-community": {"县域医共体", "County medical community"},
	"coopkind.specialty-alliance":       {"专科联盟", "Specialty alliance"},
	"coopkind.elderly-care-alliance":    {"医养结合联盟", "Elderly-care alliance"},
	"coopkind.pairing":                  {"手拉手结对", "Pairing"},
	"coopkind.trusteeship":              {"托管", "Trusteeship"},
	"affrole.lead":                      {"牵头单位", "Lead"},
	"affrole.member":                    {"成员单位", "Member"},
	"affrole.supporting":                {"支援方", "Supporting"},
	"affrole.supported":                 {"受援方", "Supported"},
	"registration.primary":              {"第一执业机构", "Primary registration"},
	"registration.regional":             {"区域注册执业", "Regional registration"},
	"service.outpatient":                {"门诊", "Outpatient"},
	"service.emergency":                 {"急诊", "Emergency"},
	"service.health-check":              {"健康体检", "Health check"},
	"service.lab":                       {"检验", "Laboratory"},
	"service.imaging":                   {"影像检查", "Imaging"},
	"service.remote-consultation":       {"远程会诊", "Remote consultation"},
	"service.tcm-clinic":                {"中医门诊（国医堂）", "TCM clinic"},
	"service.acupuncture":               {"针灸", "Acupuncture"},
	"service.tuina":                     {"推拿", "Tuina"},
	"service.family-doctor":             {"家庭医生签约", "Family doctor"},
	"service.vaccination":               {"预防接种", "Vaccination"},
	"service.elderly-care":              {"医养结合服务", "Elderly care"},
	"service.rehabilitation":            {"康复", "Rehabilitation"},
	"service.disease-control":           {"疾病预防控制", "Disease control"},

	"pager.prev": {"上一页", "Previous"},
	"pager.next": {"下一页", "Next"},
	"pager.page": {"第 %d 页", "Page %d"},

	"commission.title":         {"卫健委看板", "Commission dashboard"},
	"commission.lead":          {"合作成效的数据：参与机构、检查检验量、互认与一码通使用。", "Whether the cooperation works, in numbers: participation, test volumes, recognition and one-code use."},
	"commission.participation": {"参与机构（按城市）", "Institutions taking part, by city"},
	"commission.activity":      {"检验与影像报告（按月）", "Lab and imaging reports by month"},
	"commission.city":          {"城市", "City"},
	"commission.institutions":  {"机构数", "Institutions"},
	"commission.members":       {"加入医联体/联盟的机构", "In a consortium or alliance"},
	"commission.hospitals":     {"医院", "Hospitals"},
	"commission.primary":       {"基层机构", "Primary care"},
	"commission.total":         {"合计", "Total"},
	"commission.month":         {"月份", "Month"},
	"commission.lab":           {"检验报告", "Lab reports"},
	"commission.imaging":       {"影像报告", "Imaging reports"},
	"commission.table":         {"数据表", "Data table"},
	"commission.badmonth":      {"月份格式应为 YYYY-MM。", "The month must be YYYY-MM."},
	"commission.activitynote":  {"按月统计各机构上报的检验与影像报告数量（逐月计数，数据量大时较慢）。", "Lab and imaging reports per month (counted month by month: slower on a large region)."},
	"commission.to":            {"截至月份", "Up to"},
	"commission.show":          {"显示", "Show"},

	"onecode.title":   {"电子健康卡一码通用卡（按城市和渠道）", "E-health card use by city and channel"},
	"onecode.summary": {"共用卡 %d 次，涉及 %d 家机构", "%d uses at %d institutions"},
	"onecode.none":    {"尚无用卡记录。", "No card use recorded yet."},
	"channel.0100":    {"窗口", "Counter"},
	"channel.0200":    {"自助机", "Kiosk"},
	"channel.0300":    {"医生工作站", "Doctor workstation"},
	"channel.0401":    {"公众号", "Official account"},
	"channel.0402":    {"小程序", "Mini-program"},

	"error.title":    {"无法显示此页", "This page cannot be shown"},
	"error.denied":   {"您当前的角色无权进行此访问（已记入审计日志）。", "Your role may not do this (the refusal is in the audit trail)."},
	"error.notfound": {"没有找到。", "Not found."},
	"error.request":  {"请求无效。", "The request is not valid."},
	"error.form":     {"表单无效。", "The form is not valid."},
	"error.timeout":  {"超时，请稍后重试。", "This took too long; try again."},
	"error.internal": {"服务器出错，已记录，请稍后重试。", "Something failed on the server; it is logged. Try again later."},
}
