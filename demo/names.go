package demo

import "math/rand/v2"

// surnames with weights per 10,000 people, after the 2020 census ranking
// (north China: slightly more 王, 李, 张, 刘, 赵, 杨, 马, 孙, 高).
var surnames = weighted([]string{
	"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
	"郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡",
	"余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金",
	"石", "廖", "贾", "夏", "付", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯", "史",
	"陶", "贺", "顾", "毛", "郝", "龚", "邵", "万", "钱", "严", "武", "戴", "孔", "常", "齐", "欧阳", "司马", "上官",
}, []int{
	800, 780, 760, 580, 420, 350, 260, 180, 175, 170, 150, 160, 140, 120, 110, 120, 95, 120, 70, 60,
	70, 60, 55, 65, 55, 55, 65, 55, 40, 55, 35, 30, 35, 50, 50, 30, 30, 60, 25, 25,
	20, 35, 25, 30, 30, 35, 30, 35, 35, 30, 30, 35, 35, 40, 15, 20, 15, 15, 25, 30,
	30, 10, 30, 25, 25, 20, 25, 15, 30, 15, 20, 15, 15, 20, 20, 30, 20, 15, 25, 25,
	15, 15, 12, 15, 25, 8, 12, 12, 12, 12, 20, 10, 15, 20, 20, 2, 1, 1,
})

// huiSurnames weigh surnames common among the Hui, for 大厂回族自治县.
var huiSurnames = weighted([]string{"马", "白", "刘", "李", "杨", "王", "张", "沙", "海", "米"}, []int{300, 120, 100, 100, 80, 90, 80, 30, 20, 15})

var maleChars = []string{"伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "华", "飞", "鑫", "波", "斌", "宇", "浩", "凯", "健", "俊", "帆", "旭", "宁", "龙", "林", "阳", "峰", "建", "国", "文", "志", "新", "永", "海", "东", "春", "德", "庆", "立", "成", "振", "广", "金"}
var femaleChars = []string{"芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "玲", "桂", "英", "红", "梅", "燕", "萍", "雪", "琳", "婷", "欣", "怡", "佳", "悦", "璐", "晨", "雨", "涵", "萱", "颖", "倩", "洁", "慧", "淑", "兰", "凤", "丹", "莉", "琴", "云", "月"}

// Names in fashion for children born since about 2005.
var youngMale = []string{"子轩", "浩然", "宇轩", "梓豪", "一鸣", "俊熙", "皓轩", "博文", "子墨", "思远", "宇航", "铭泽", "嘉懿", "沐阳", "睿", "航", "晨", "轩", "哲", "诚"}
var youngFemale = []string{"欣怡", "梓涵", "诗涵", "一诺", "雨桐", "可馨", "梓萱", "思彤", "语嫣", "若汐", "佳怡", "紫萱", "悦", "彤", "萌", "瑶", "琪", "妍", "菲", "蕾"}

type weightedList struct {
	items []string
	cum   []int
}

func weighted(items []string, weights []int) weightedList {
	if len(items) != len(weights) {
		panic("demo: weighted list lengths differ")
	}
	cum := make([]int, len(weights))
	t := 0
	for i, w := range weights {
		t += w
		cum[i] = t
	}
	return weightedList{items, cum}
}

func (w weightedList) pick(r *rand.Rand) string {
	x := r.IntN(w.cum[len(w.cum)-1])
	lo, hi := 0, len(w.cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if w.cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return w.items[lo]
}

// personName returns a family name and a given name of one or two
// characters, in the fashion of the person's birth year.
func personName(r *rand.Rand, male bool, birthYear int, hui bool) (family, given string) {
	if hui && r.IntN(2) == 0 {
		family = huiSurnames.pick(r)
	} else {
		family = surnames.pick(r)
	}
	if birthYear >= 2005 && r.IntN(3) > 0 {
		if male {
			return family, youngMale[r.IntN(len(youngMale))]
		}
		return family, youngFemale[r.IntN(len(youngFemale))]
	}
	chars := femaleChars
	if male {
		chars = maleChars
	}
	// Single-character given names were commoner in the 1970s-1990s.
	single := 30
	if birthYear < 1960 {
		single = 20
	}
	if r.IntN(100) < single {
		return family, chars[r.IntN(len(chars))]
	}
	a := chars[r.IntN(len(chars))]
	b := chars[r.IntN(len(chars))]
	for b == a {
		b = chars[r.IntN(len(chars))]
	}
	return family, a + b
}
