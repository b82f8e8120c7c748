package demo

import (
	"fmt"
	"time"
)

// Near-duplicate records (疑似重复): the same resident registered again at
// an institution where the first record was not found, with the slips a
// registration desk makes, so that the EMPI has work in a fresh demo:
// some records it links automatically, some it puts in the review queue
// (scores between its thresholds), where a person confirms or rejects.
//
// Every dupEvery-th patient (n % dupEvery == dupOffset) gets one second
// record demo-dup-NNNNNN at an institution they have no record at, with
// its own medical record number there; no results are filed under it.
// The kind of slip goes round with n / dupEvery:
//
//	0 same ID number, a homophone in the given name (拼音输入法)   → linked
//	1 same ID number, the family name typed with a homophone        → linked
//	2 no ID number nor phone, a new address after a move, one
//	  character misheard, day and month of birth swapped (a one-digit
//	  slip of the day where a swap is no date)                        → review
//	3 as 2, but only the day of birth mistyped by one digit            → review
//
// The record is built from the patient alone (no random stream), so
// adding it changed no other resource.

const (
	dupEvery  = 40
	dupOffset = 7
)

// dupKinds names the kinds of slip, in the order of the table above.
var dupKinds = []string{"homophone-given", "homophone-family", "transposed-birth", "birth-day-slip"}

// homophoneOf is a character read the same way (toneless pinyin) as one
// common in names: what a pinyin input method offers in its place.
var homophoneOf = map[rune]rune{
	'伟': '玮', '强': '墙', '磊': '垒', '军': '君', '勇': '永', '杰': '洁', '涛': '滔', '斌': '彬',
	'超': '潮', '明': '鸣', '刚': '钢', '平': '萍', '辉': '晖', '鹏': '朋', '华': '桦', '飞': '菲',
	'鑫': '新', '波': '博', '宇': '雨', '浩': '昊', '凯': '恺', '健': '建', '俊': '骏', '帆': '凡',
	'旭': '序', '宁': '凝', '龙': '隆', '林': '琳', '欣': '馨', '国': '帼', '志': '智', '文': '雯',
	'东': '冬', '海': '还', '峰': '锋', '亮': '靓', '晨': '辰', '阳': '洋', '成': '诚', '芳': '方',
	'娜': '纳', '敏': '民', '静': '晶', '丽': '莉', '艳': '燕', '娟': '鹃', '霞': '侠', '秀': '绣',
	'玲': '琳', '英': '瑛', '红': '虹', '梅': '玫', '琴': '勤', '云': '芸', '莹': '盈', '洁': '杰',
	'倩': '茜', '婷': '庭', '颖': '影', '慧': '惠', '美': '梅', '晶': '菁', '佳': '嘉', '思': '斯',
	'彤': '桐', '悦': '月', '瑶': '遥', '蓉': '荣', '兰': '岚', '萍': '平', '月': '悦', '玉': '钰',
	'丹': '单', '晓': '小', '春': '纯', '嘉': '佳', '涵': '晗', '轩': '萱', '然': '冉', '睿': '瑞',
	'子': '梓', '豪': '浩', '铭': '明', '瑞': '睿', '天': '添', '一': '怡', '德': '得', '永': '勇',
	'光': '广', '庆': '青', '祥': '翔', '福': '富', '荣': '蓉', '昌': '常', '盛': '胜', '兴': '星',
	'王': '汪', '张': '章', '刘': '留', '陈': '程', '杨': '阳', '黄': '皇', '赵': '照', '吴': '伍',
	'周': '舟', '徐': '许', '孙': '荪', '马': '玛', '朱': '诸', '胡': '湖', '郭': '国', '何': '和',
	'高': '郜', '罗': '骆', '郑': '正', '梁': '良', '谢': '解', '宋': '颂', '唐': '汤', '许': '徐',
	'韩': '寒', '冯': '逢', '邓': '登', '曹': '槽', '彭': '朋', '曾': '增', '肖': '萧', '田': '甜',
	'董': '懂', '袁': '原', '潘': '盘', '于': '余', '蒋': '江', '蔡': '菜', '余': '于', '杜': '度',
	'叶': '业', '程': '成', '苏': '酥', '魏': '卫', '吕': '侣', '丁': '钉', '任': '仁', '沈': '申',
	'姚': '尧', '卢': '芦', '姜': '江', '崔': '翠', '钟': '忠', '谭': '谈', '陆': '路', '汪': '王',
	'范': '饭', '金': '津', '石': '时', '廖': '聊', '贾': '甲', '夏': '下', '韦': '伟', '付': '傅',
	'方': '芳', '白': '百', '邹': '周', '孟': '梦', '熊': '雄', '秦': '琴', '邱': '秋', '江': '姜',
	'尹': '引', '薛': '雪', '闫': '严', '段': '断', '雷': '蕾', '侯': '候', '龚': '宫',
	'史': '石', '陶': '桃', '黎': '李', '贺': '鹤', '顾': '故', '毛': '茂', '郝': '好',
	'邵': '少', '万': '完', '钱': '前', '严': '闫', '覃': '秦', '武': '伍', '戴': '代', '莫': '墨',
	'孔': '空', '向': '项', '汤': '唐', '常': '长', '温': '文', '康': '慷', '施': '师',
	'牛': '钮', '樊': '凡', '葛': '戈', '邢': '刑', '安': '按', '齐': '奇', '易': '益', '乔': '桥',
	'伍': '吴', '庞': '旁', '颜': '言', '倪': '尼', '庄': '装', '聂': '捏', '章': '张', '鲁': '路',
	'岳': '越', '翟': '宅', '殷': '因', '詹': '沾', '申': '沈', '欧': '鸥', '耿': '更', '关': '官',
	'焦': '娇', '俞': '于', '左': '佐', '柳': '刘', '甘': '干', '祝': '竹', '包': '保',
	'尚': '上', '符': '福', '舒': '书', '阮': '软', '柯': '科', '纪': '记',
	'童': '同', '凌': '灵', '毕': '必', '单': '丹', '季': '记', '裴': '培', '霍': '获', '涂': '图',
	'苗': '描', '谷': '古', '曲': '屈', '翁': '嗡', '冉': '然', '骆': '罗',
	'蓝': '兰', '路': '陆', '游': '尤', '辛': '新', '靳': '金', '管': '馆', '柴': '豺', '蒙': '猛',
	'鲍': '包', '喻': '于', '祁': '齐', '蒲': '浦', '房': '方', '滕': '藤', '屈': '曲',
	'饶': '绕', '解': '谢', '牟': '谋', '艾': '爱', '尤': '由', '时': '石', '穆': '木',
	'农': '浓', '司': '思', '卓': '琢', '古': '谷', '吉': '及', '缪': '苗', '简': '剪', '车': '彻',
	'项': '向', '连': '莲', '芦': '卢', '麦': '卖', '褚': '楚', '娄': '楼', '窦': '豆', '戚': '齐',
	'岑': '参', '景': '井', '党': '挡', '宫': '龚', '费': '废', '卜': '补', '冷': '棱', '晏': '燕',
	'席': '习', '卫': '魏', '米': '迷', '柏': '百', '宗': '综', '瞿': '曲', '桂': '贵', '全': '泉',
	'佟': '同', '应': '英', '臧': '脏', '闵': '敏', '苟': '狗', '邬': '乌', '边': '编', '卞': '变',
	'姬': '机', '师': '施', '和': '何', '仇': '求', '栾': '峦', '隋': '随', '商': '伤', '刁': '雕',
	'沙': '莎', '巫': '乌', '寇': '扣', '桑': '丧', '郎': '狼', '甄': '珍', '丛': '从',
	'仲': '众', '虞': '于', '敖': '熬', '巩': '拱', '佘': '蛇', '池': '迟', '查': '茶',
	'麻': '马', '苑': '院', '迟': '池', '邝': '况',
}

// daySlip is the birth date with one digit of the day mistyped (one
// off, within the month).
func daySlip(t time.Time) time.Time {
	d := t.Day()
	if next := t.AddDate(0, 0, 1); d%10 != 9 && next.Month() == t.Month() {
		return next
	}
	if d%10 != 0 {
		return t.AddDate(0, 0, -1)
	}
	return t.AddDate(0, 0, -10)
}

// homophone replaces the first character of a two-character given name
// s that has a homophone in the table; s unchanged when none has (a
// one-character name changed would be another name altogether).
func homophone(s string) string {
	rs := []rune(s)
	if len(rs) < 2 {
		return s
	}
	for i, r := range rs {
		if h, ok := homophoneOf[r]; ok && h != r {
			rs[i] = h
			return string(rs)
		}
	}
	return s
}

// misheard is the name with one character replaced by a homophone: in
// a two-character given name, else in the family name.
func misheard(family, given string) (string, string) {
	if g := homophone(given); g != given {
		return family, g
	}
	if rs := []rune(family); len(rs) > 0 {
		if h, ok := homophoneOf[rs[0]]; ok {
			rs[0] = h
			return string(rs), given
		}
	}
	return family, given
}

// hasDuplicate reports whether patient n has a near-duplicate record.
func hasDuplicate(n int) bool { return n%dupEvery == dupOffset }

// dupKind is the kind of slip of patient n's second record.
func dupKind(n int) string { return dupKinds[(n/dupEvery)%len(dupKinds)] }

// duplicateAt is the institution of the second record: the first
// hospital of another area the patient has no record at (a hospital of
// the home area when every other one has seen them).
func (g *region) duplicateAt(p *patient) *institution {
	seen := map[*institution]bool{}
	for _, in := range p.insts {
		seen[in] = true
	}
	var fallback *institution
	for _, in := range g.dir.insts {
		if !in.isHospital() || seen[in] {
			continue
		}
		if in.div.area != p.div.area {
			return in
		}
		if fallback == nil {
			fallback = in
		}
	}
	return fallback
}

// moved is the address of a record taken after a move to the next
// division of the region (chosen from n, not from a random stream).
func moved(p *patient) (*division, string) {
	div := divisions[0]
	for i, d := range divisions {
		if d == p.div {
			div = divisions[(i+1)%len(divisions)]
		}
	}
	return div, fmt.Sprintf("%s%s%d号", div.towns[p.n%len(div.towns)], div.streets[(p.n/3)%len(div.streets)], 1+p.n%97)
}

// duplicate is patient p's near-duplicate record, or nil.
func (g *region) duplicate(p *patient) obj {
	if !hasDuplicate(p.n) {
		return nil
	}
	in := g.duplicateAt(p)
	if in == nil {
		return nil
	}
	family, given, birth := p.family, p.given, p.birth
	withID, withPhone, div, line := true, true, p.div, p.line
	switch dupKind(p.n) {
	case "homophone-given":
		given = homophone(given)
	case "homophone-family":
		if rs := []rune(family); len(rs) > 0 && homophoneOf[rs[0]] != 0 {
			rs[0] = homophoneOf[rs[0]]
			family = string(rs)
		}
	case "transposed-birth":
		withID, withPhone = false, false
		div, line = moved(p)
		family, given = misheard(family, given)
		if d := birth.Day(); d <= 12 && d != int(birth.Month()) {
			birth = time.Date(birth.Year(), time.Month(d), int(birth.Month()), 0, 0, 0, 0, cst)
		} else {
			birth = daySlip(birth) // a slip of one day where a swap would not be a date
		}
	case "birth-day-slip":
		withID, withPhone = false, false
		div, line = moved(p)
		family, given = misheard(family, given)
		birth = daySlip(birth)
	}
	gender := "female"
	if p.male {
		gender = "male"
	}
	var ids []any
	if withID {
		ids = append(ids, ident(sidResidentID, p.idNumber, "NI", "居民身份证"))
	}
	m := ident(sidMRNPrefix+in.code, p.mrn(in), "MR", "病案号")
	m["assigner"] = ref("Organization", in.id, in.name)
	ids = append(ids, m)
	res := obj{
		"resourceType": "Patient",
		"id":           fmt.Sprintf("demo-dup-%06d", p.n),
		"identifier":   ids,
		"active":       true,
		"name":         list(obj{"use": "official", "text": family + given, "family": family, "given": list(given)}),
		"gender":       gender,
		"birthDate":    birth.Format("2006-01-02"),
		"address":      list(address(div, "home", line)),
	}
	if withPhone && !p.birth.After(demoToday.AddDate(-14, 0, 0)) {
		res["telecom"] = list(obj{"system": "phone", "value": p.phone, "use": "mobile"})
	}
	return res
}
