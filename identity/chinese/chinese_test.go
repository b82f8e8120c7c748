package chinese

import (
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"full-width letters and ideographic space", "Ｚｈａｎｇ\u3000San", "zhang san"},
		{"spaces inside a Han name", " 张  三 ", "张三"},
		{"traditional to simplified", "劉德華", "刘德华"},
		{"middle-dot variants", "阿依古丽•买买提", "阿依古丽·买买提"},
		{"katakana middle dot", "阿依古丽・买买提", "阿依古丽·买买提"},
		{"full stop as dot", "阿依古丽.买买提", "阿依古丽·买买提"},
		{"spaces around dot", "阿依古丽 · 买买提", "阿依古丽·买买提"},
		{"trailing dot dropped", "王五·", "王五"},
		{"control characters dropped", "李\x00四", "李四"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestReadings(t *testing.T) {
	if got := Readings('张'); !slices.Equal(got, []string{"zhang"}) {
		t.Errorf("Readings(张) = %v", got)
	}
	if got := Readings('張'); !slices.Equal(got, []string{"zhang"}) {
		t.Errorf("Readings(張) = %v (traditional read through simplified)", got)
	}
	if got := Readings('吕'); !slices.Contains(got, "lv") {
		t.Errorf("Readings(吕) = %v, want lv", got)
	}
	if got := Readings('a'); got != nil {
		t.Errorf("Readings(a) = %v, want nil", got)
	}
}

func TestPinyin(t *testing.T) {
	tests := map[string]string{
		"张三":   "zhang san",
		"單田芳":  "shan tian fang", // surname reading of 单
		"曾国藩":  "zeng guo fan",
		"解缙":   "xie jin",
		"欧阳修":  "ou yang xiu",
		"Tom":  "t o m",
		"":     "",
		"吕 布 ": "lv bu",
	}
	for in, want := range tests {
		if got := Pinyin(in); got != want {
			t.Errorf("Pinyin(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct{ in, surname, given string }{
		{"张三", "张", "三"},
		{"欧阳修", "欧阳", "修"},
		{"歐陽修", "欧阳", "修"},
		{"欧阳", "欧", "阳"},
		{"阿依古丽·买买提", "", "阿依古丽买买提"},
		{"Li Lei", "", "lilei"},
		{"王", "", "王"},
	}
	for _, tt := range tests {
		s, g := SplitName(tt.in)
		if s != tt.surname || g != tt.given {
			t.Errorf("SplitName(%q) = %q, %q; want %q, %q", tt.in, s, g, tt.surname, tt.given)
		}
	}
}

func TestCompareNames(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want Similarity
	}{
		{"identical", "张伟", "张伟", Exact},
		{"traditional", "張偉", "张伟", Exact},
		{"dot omitted", "阿依古丽·买买提", "阿依古丽买买提", Exact},
		{"full-width Latin", "ＬＩ　ＬＥＩ", "li lei", Exact},
		{"homophone given name", "张伟", "张玮", Homophone},
		{"homophone surname", "章伟", "张伟", Homophone},
		{"polyphonic surname", "单田芳", "善田芳", Homophone},
		{"pinyin in Latin letters", "张伟", "Zhang Wei", Homophone},
		{"homophone, another character", "王小明", "王晓明", Homophone},
		{"fuzzy in/ing", "王小明", "王小民", Typo},
		{"typo", "王晓明", "王晓刚", Typo},
		{"fuzzy zh/z", "张伟", "臧伟", Typo},
		{"fuzzy n/l", "刘洋", "牛洋", Typo},
		{"character dropped", "欧阳小明", "欧阳明", Typo},
		{"transposed", "李明华", "李华明", Typo},
		{"Latin typo", "zhang wei", "zhang wie", Typo},
		{"different", "张伟", "李娜", Different},
		{"two characters differ", "王晓明", "王大刚", Different},
		{"one-character names", "伟", "娜", Different},
		{"missing", "", "张伟", Missing},
		{"only spaces", " ", "张伟", Missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CompareNames(tt.a, tt.b); got != tt.want {
				t.Errorf("CompareNames(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := CompareNames(tt.b, tt.a); got != tt.want {
				t.Errorf("CompareNames(%q, %q) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func FuzzCompareNames(f *testing.F) {
	f.Add("张伟", "張偉")
	f.Add("阿依古丽·买买提", "zhang")
	f.Add("\xff", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		s1, s2 := CompareNames(a, b), CompareNames(b, a)
		if s1 != s2 {
			t.Fatalf("not symmetric: %v vs %v", s1, s2)
		}
		if Key(a) != "" && CompareNames(a, a) != Exact {
			t.Fatalf("%q not Exact with itself", a)
		}
		if Normalize(Normalize(a)) != Normalize(a) {
			t.Fatalf("Normalize not idempotent on %q: %q -> %q", a, Normalize(a), Normalize(Normalize(a)))
		}
	})
}

func BenchmarkCompare(b *testing.B) {
	x, y := PrepareName("王晓明"), PrepareName("王小民")
	for b.Loop() {
		Compare(x, y)
	}
}
