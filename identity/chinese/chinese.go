package chinese

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Simplified returns the simplified form of a traditional character, and r
// itself for any other rune.
func Simplified(r rune) rune {
	if s, ok := traditionalToSimplified[r]; ok {
		return s
	}
	return r
}

// IsHan reports whether r is a CJK ideograph (any block).
func IsHan(r rune) bool { return unicode.Is(unicode.Han, r) }

// Readings returns the toneless pinyin readings of a character (ü written
// v), the most common first, at most three; nil when the tables have none
// (not a CJK ideograph of the Basic Multilingual Plane, or no known reading).
// Traditional characters are read through their simplified form.
func Readings(r rune) []string {
	packed := packedReadings(Simplified(r))
	var out []string
	for ; packed != 0; packed >>= 10 {
		out = append(out, syllables[packed&0x3FF])
	}
	return out
}

func packedReadings(r rune) uint32 {
	if r < tableFirst || r > tableLast {
		return 0
	}
	return readings[r-tableFirst]
}

// middleDots are the separators seen between the parts of minority and
// foreign names (阿依古丽·买买提): the interpunct and its look-alikes.
func isMiddleDot(r rune) bool {
	switch r {
	case '·', '・', '•', '‧', '∙', '⋅', '･', '.', '．', '。', '-', '－', '‐':
		return true
	}
	return false
}

// Normalize returns the canonical written form of a name: full-width forms
// folded to ASCII, whitespace trimmed and collapsed (and removed next to
// Han characters: "张 三" is 张三), every middle-dot variant written "·",
// traditional characters simplified, Latin letters lower-cased.
func Normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	pendingSpace := false
	var prev rune
	for _, r := range name {
		r = foldWidth(r)
		switch {
		case unicode.IsSpace(r):
			pendingSpace = b.Len() > 0
			continue
		case isMiddleDot(r):
			r = '·'
		case unicode.IsControl(r), r == utf8.RuneError:
			continue
		default:
			r = unicode.ToLower(Simplified(r))
		}
		if pendingSpace && r != '·' && prev != '·' && !IsHan(r) && !IsHan(prev) {
			b.WriteByte(' ')
		}
		pendingSpace = false
		if r == '·' && prev == '·' {
			continue
		}
		b.WriteRune(r)
		prev = r
	}
	return strings.TrimRight(b.String(), "·")
}

func foldWidth(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000:
		return ' '
	}
	return r
}

// Key returns the form two names are compared in: Normalize without the
// middle dots and spaces, so that 阿依古丽·买买提 and 阿依古丽买买提 agree.
func Key(name string) string {
	n := Normalize(name)
	return strings.Map(func(r rune) rune {
		if r == '·' || r == ' ' {
			return -1
		}
		return r
	}, n)
}

// compoundSurnames are the two-character surnames common enough to matter
// when a name is split (欧阳, 司马 ...), in simplified form.
var compoundSurnames = map[string]bool{
	"欧阳": true, "司马": true, "诸葛": true, "上官": true, "东方": true, "皇甫": true,
	"尉迟": true, "公孙": true, "慕容": true, "令狐": true, "长孙": true, "宇文": true,
	"司徒": true, "夏侯": true, "轩辕": true, "端木": true, "独孤": true, "南宫": true,
	"西门": true, "百里": true, "呼延": true, "万俟": true, "申屠": true, "太史": true,
	"闻人": true, "澹台": true, "公冶": true, "濮阳": true, "淳于": true, "单于": true,
	"钟离": true, "赫连": true, "拓跋": true, "司空": true, "第五": true, "左丘": true,
}

// SplitName splits a Han name into surname and given name (欧阳修 → 欧阳, 修;
// 张三 → 张, 三), after Normalize. Names with a middle dot, in Latin letters,
// or of one character are returned whole as the given name: their order of
// parts is not known.
func SplitName(name string) (surname, given string) {
	n := Key(name)
	if strings.Contains(Normalize(name), "·") {
		return "", n
	}
	rs := []rune(n)
	if len(rs) < 2 || !IsHan(rs[0]) {
		return "", n
	}
	if len(rs) >= 3 && compoundSurnames[string(rs[:2])] {
		return string(rs[:2]), string(rs[2:])
	}
	return string(rs[:1]), string(rs[1:])
}

// Pinyin returns the toneless pinyin of a name, one syllable per Han
// character separated by spaces, the first character read as a surname
// (单 shan, 曾 zeng); other runes are kept as they are in Key.
func Pinyin(name string) string {
	rs := []rune(Key(name))
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(syllableOf(r, i == 0))
	}
	return b.String()
}

// SurnamePinyin returns the toneless pinyin of a name's surname as
// SplitName finds it ("" when there is none): a blocking key that survives
// homophone and traditional-character variants.
func SurnamePinyin(name string) string {
	s, _ := SplitName(name)
	if s == "" {
		return ""
	}
	return Pinyin(s)
}

func syllableOf(r rune, surname bool) string {
	if surname {
		if s, ok := surnameReadings[r]; ok {
			return syllables[s]
		}
	}
	if p := packedReadings(r); p != 0 {
		return syllables[p&0x3FF]
	}
	return string(r)
}
