package chinese

import "strings"

// Similarity grades how alike two names are, from Different up to Exact.
// The levels are the agreement levels of a record-linkage comparison: each
// has its own weight, so they need not be fine-grained.
type Similarity int

const (
	// Missing: one of the names is empty after normalisation.
	Missing Similarity = iota
	// Different: none of the levels below.
	Different
	// Typo: one character substituted, inserted, deleted, or two adjacent
	// characters transposed; or the same length with every character a
	// homophone except one that sounds alike under the usual regional
	// confusions (z/zh, c/ch, s/sh, n/l, -n/-ng).
	Typo
	// Homophone: same length and every character shares a toneless
	// reading (张伟/张玮), or a Han name and its pinyin in Latin letters.
	Homophone
	// Exact: equal after Normalize, traditional characters simplified and
	// middle dots ignored (張偉/张伟, 阿依古丽·买买提/阿依古丽买买提).
	Exact
)

var similarityNames = [...]string{"missing", "different", "typo", "homophone", "exact"}

func (s Similarity) String() string {
	if s < 0 || int(s) >= len(similarityNames) {
		return "Similarity(?)"
	}
	return similarityNames[s]
}

// Name is a name prepared for repeated comparison: Compare on two Names
// costs no allocation, which matters when a record meets hundreds of
// candidates. The zero Name is a missing name.
type Name struct {
	runes  []rune
	reads  []uint32 // packed readings per rune; 0 for non-Han
	latin  string   // letters only, when the name has no Han characters
	surLen int8     // runes of the surname, when the name splits (SplitName)
}

// PrepareName normalises a name for Compare.
func PrepareName(name string) Name {
	k := Key(name)
	if k == "" {
		return Name{}
	}
	n := Name{runes: []rune(k)}
	n.reads = make([]uint32, len(n.runes))
	hasHan := false
	for i, r := range n.runes {
		n.reads[i] = packedReadings(r)
		hasHan = hasHan || IsHan(r)
	}
	if !hasHan {
		n.latin = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r
			}
			return -1
		}, k)
	}
	if sur, _ := SplitName(name); sur != "" {
		n.surLen = int8(len([]rune(sur)))
	}
	return n
}

// GivenName returns the given name of a name that splits into surname and
// given name (see SplitName), and the zero Name otherwise. It shares
// memory with n.
func (n Name) GivenName() Name {
	if n.surLen == 0 {
		return Name{}
	}
	return Name{runes: n.runes[n.surLen:], reads: n.reads[n.surLen:]}
}

// pinyin is the name's primary readings run together, when every rune is
// Han; "" otherwise.
func (n Name) pinyin() string {
	var b strings.Builder
	for i, r := range n.runes {
		if !IsHan(r) {
			return ""
		}
		b.WriteString(syllableOf(r, i == 0))
	}
	return b.String()
}

// Runes returns the name's characters as compared (after Key); the caller
// must not modify them.
func (n Name) Runes() []rune { return n.runes }

// IsZero reports whether the name is missing.
func (n Name) IsZero() bool { return len(n.runes) == 0 }

// CompareNames grades the similarity of two names as written.
func CompareNames(a, b string) Similarity { return Compare(PrepareName(a), PrepareName(b)) }

// Compare grades the similarity of two prepared names.
func Compare(a, b Name) Similarity {
	if a.IsZero() || b.IsZero() {
		return Missing
	}
	if equalRunes(a.runes, b.runes) {
		return Exact
	}
	if a.latin != "" || b.latin != "" {
		return compareLatin(a, b)
	}
	if len(a.runes) == len(b.runes) {
		diff, near := 0, 0
		for i := range a.runes {
			if a.runes[i] == b.runes[i] || shareReading(a.reads[i], b.reads[i]) {
				continue
			}
			if soundsAlike(a.reads[i], b.reads[i]) {
				near++
			} else {
				diff++
			}
		}
		if diff == 0 && near == 0 {
			return Homophone
		}
		if diff+near == 1 && len(a.runes) >= 2 {
			return Typo
		}
	}
	if len(a.runes) >= 2 && len(b.runes) >= 2 && withinOneEdit(a.runes, b.runes) {
		return Typo
	}
	return Different
}

func compareLatin(a, b Name) Similarity {
	la, lb := a.latin, b.latin
	if la == "" {
		la = a.pinyin()
	}
	if lb == "" {
		lb = b.pinyin()
	}
	if la == "" || lb == "" {
		return Different
	}
	if la == lb {
		return Homophone
	}
	if min(len(la), len(lb)) >= 3 && withinOneEdit([]rune(la), []rune(lb)) {
		return Typo
	}
	return Different
}

func equalRunes(a, b []rune) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func shareReading(a, b uint32) bool {
	for x := a; x != 0; x >>= 10 {
		for y := b; y != 0; y >>= 10 {
			if x&0x3FF == y&0x3FF {
				return true
			}
		}
	}
	return false
}

func soundsAlike(a, b uint32) bool {
	for x := a; x != 0; x >>= 10 {
		for y := b; y != 0; y >>= 10 {
			if fuzzyPinyin(syllables[x&0x3FF]) == fuzzyPinyin(syllables[y&0x3FF]) {
				return true
			}
		}
	}
	return false
}

// fuzzyPinyin folds the distinctions speakers of many regions do not make
// (the 模糊音 options of pinyin input methods).
func fuzzyPinyin(s string) string {
	switch {
	case strings.HasPrefix(s, "zh"), strings.HasPrefix(s, "ch"), strings.HasPrefix(s, "sh"):
		s = s[:1] + s[2:]
	case strings.HasPrefix(s, "n"):
		s = "l" + s[1:]
	}
	if strings.HasSuffix(s, "ng") && len(s) > 2 {
		s = s[:len(s)-1]
	}
	return s
}

// withinOneEdit reports whether a and b differ by at most one substitution,
// insertion, deletion or transposition of adjacent elements.
func withinOneEdit(a, b []rune) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	switch len(b) - len(a) {
	case 0:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		if i == len(a) {
			return true
		}
		if equalRunes(a[i+1:], b[i+1:]) {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && equalRunes(a[i+2:], b[i+2:])
	case 1:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		return equalRunes(a[i:], b[i+1:])
	}
	return false
}
