package demo

// division is a GB/T 2260 administrative division of the demo region with
// what addresses and coordinates there need.
type division struct {
	code     string // GB/T 2260, six digits
	name     string // 通州区
	city     string // 北京市 (Address.city)
	state    string // 北京市 (Address.state: province or municipality)
	area     string // the cooperating area: 通州, 武清 or 廊坊
	postal   string
	lat, lon float64 // centre of the built-up area
	spread   float64 // half-width of the box institutions and homes fall in, degrees
	share    float64 // share of the demo patients living here
	towns    []string
	streets  []string
	villages []string // for homes outside the town centre
}

var divisions = []*division{
	{code: "110112", name: "通州区", city: "北京市", state: "北京市", area: "通州", postal: "101100",
		lat: 39.909, lon: 116.657, spread: 0.09, share: 0.30,
		towns:    []string{"北苑街道", "新华街道", "玉桥街道", "中仓街道", "永顺镇", "梨园镇", "宋庄镇", "台湖镇", "马驹桥镇", "漷县镇"},
		streets:  []string{"新华大街", "通胡大街", "玉带河东街", "运河西大街", "九棵树西路", "梨园南街", "京榆旧线", "宋梁路", "车站路", "北苑南路"},
		villages: []string{"小堡村", "大稿村", "西集村", "觅子店村", "张家湾村"}},
	{code: "120114", name: "武清区", city: "天津市", state: "天津市", area: "武清", postal: "301700",
		lat: 39.384, lon: 117.044, spread: 0.10, share: 0.25,
		towns:    []string{"杨村街道", "下朱庄街道", "东蒲洼街道", "黄庄街道", "徐官屯街道", "大良镇", "崔黄口镇", "王庆坨镇", "河西务镇"},
		streets:  []string{"雍阳西道", "泉州路", "京津公路", "东蒲洼路", "振华西道", "光明道", "和平里路", "翠亨路"},
		villages: []string{"前辛庄村", "后屯村", "东马房村", "小王庄村", "北蔡村"}},
	{code: "131003", name: "广阳区", city: "廊坊市", state: "河北省", area: "廊坊", postal: "065000",
		lat: 39.523, lon: 116.713, spread: 0.05, share: 0.12,
		towns:    []string{"新开路街道", "新源道街道", "解放道街道", "爱民东道街道", "九州镇"},
		streets:  []string{"新华路", "爱民东道", "广阳道", "和平路", "银河北路", "新开路", "建设北路"},
		villages: []string{"北旺村", "万庄村", "南尖塔村"}},
	{code: "131002", name: "安次区", city: "廊坊市", state: "河北省", area: "廊坊", postal: "065000",
		lat: 39.502, lon: 116.694, spread: 0.06, share: 0.08,
		towns:    []string{"银河南路街道", "光明西道街道", "永华道街道", "落垡镇", "码头镇"},
		streets:  []string{"银河南路", "光明西道", "永华道", "南龙道", "常甫路"},
		villages: []string{"东储村", "杨税务村", "北史家务村"}},
	{code: "131082", name: "三河市", city: "廊坊市", state: "河北省", area: "廊坊", postal: "065200",
		lat: 39.982, lon: 117.078, spread: 0.08, share: 0.15,
		towns:    []string{"燕郊镇", "泃阳镇", "皇庄镇", "李旗庄镇", "杨庄镇"},
		streets:  []string{"迎宾路", "燕顺路", "学院大街", "燕灵路", "鼓楼大街", "燕昌路"},
		villages: []string{"皇庄村", "小崔各庄村", "西柳河屯村"}},
	{code: "131028", name: "大厂回族自治县", city: "廊坊市", state: "河北省", area: "廊坊", postal: "065300",
		lat: 39.886, lon: 116.989, spread: 0.04, share: 0.04,
		towns:    []string{"大厂镇", "夏垫镇", "祁各庄镇", "邵府镇", "陈府镇"},
		streets:  []string{"大安街", "华安路", "福喜路", "厂通路"},
		villages: []string{"南寺头村", "东关村", "芮屯村"}},
	{code: "131024", name: "香河县", city: "廊坊市", state: "河北省", area: "廊坊", postal: "065400",
		lat: 39.761, lon: 117.006, spread: 0.05, share: 0.06,
		towns:    []string{"淑阳镇", "蒋辛屯镇", "安平镇", "渠口镇", "五百户镇"},
		streets:  []string{"新华大街", "秀水街", "香安路", "京哈公路", "人民路"},
		villages: []string{"王店子村", "钱旺村", "刘宋村"}},
}

func divisionByCode(code string) *division {
	for _, d := range divisions {
		if d.code == code {
			return d
		}
	}
	return nil
}

// langfang is the prefecture-level division the Langfang districts and
// counties belong to; the Langfang CDC serves it as a whole.
const langfangCode, langfangName = "131000", "廊坊市"

// birthplaceCodes are real district codes of other provinces, for the ID
// numbers of residents who were born (registered) elsewhere.
var birthplaceCodes = []string{"130102", "130203", "130602", "410105", "370102", "210102", "140105", "230102", "420106", "120101", "110105", "110108"}

var estateWords = []string{"幸福", "和平", "阳光", "运河", "金地", "翠屏", "远洋", "锦绣", "康居", "御景", "东方", "紫薇", "碧水", "华润", "新城", "瑞祥", "明珠", "怡园", "丽景", "书香"}
var estateSuffixes = []string{"小区", "家园", "花园", "嘉园", "名苑", "新村", "华府", "雅居"}
