package chinese

import (
	"slices"
	"strings"
)

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
// costs no allocation, and a name of up to four characters (nearly every
// Chinese name) is stored inline, so that an index holding a million of
// them compares without chasing pointers. The zero Name is a missing name.
type Name struct {
	n      uint8 // characters
	surLen uint8 // characters of the surname, when the name splits (SplitName)
	inline [inlineCells]uint64
	long   []uint64 // the cells, when n > inlineCells
	latin  string   // letters only, when the name has no Han characters
}

const inlineCells = 4

// A cell is one character: the rune in the low 21 bits, its packed
// readings above (30 bits). Two cells are equal exactly when their runes are.
func cell(r rune) uint64        { return uint64(r) | uint64(packedReadings(r))<<21 }
func cellRune(c uint64) rune    { return rune(c & 0x1FFFFF) }
func cellReads(c uint64) uint32 { return uint32(c >> 21) }

func (n *Name) cells() []uint64 {
	if n.long != nil {
		return n.long
	}
	return n.inline[:n.n]
}

// PrepareName normalises a name for Compare.
func PrepareName(name string) Name {
	k := Key(name)
	if k == "" {
		return Name{}
	}
	var n Name
	cs := n.inline[:0]
	hasHan := false
	for _, r := range k {
		cs = append(cs, cell(r))
		hasHan = hasHan || IsHan(r)
	}
	if len(cs) > inlineCells || len(cs) > 255 {
		if len(cs) > 255 {
			cs = cs[:255]
		}
		n.long = cs
	}
	n.n = uint8(len(cs))
	if !hasHan {
		n.latin = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r
			}
			return -1
		}, k)
	}
	if sur, _ := SplitName(name); sur != "" {
		n.surLen = uint8(len([]rune(sur)))
	}
	return n
}

// GivenName returns the given name of a name that splits into surname and
// given name (see SplitName), and the zero Name otherwise.
func (n Name) GivenName() Name {
	if n.surLen == 0 || n.surLen >= n.n {
		return Name{}
	}
	cs := n.cells()[n.surLen:]
	g := Name{n: uint8(len(cs))}
	if len(cs) > inlineCells {
		g.long = cs
	} else {
		copy(g.inline[:], cs)
	}
	return g
}

// Len returns the number of characters of the name as compared.
func (n Name) Len() int { return int(n.n) }

// SameCharacters reports whether two names hold the same characters in
// any order (李明华/李华明, 韩永/永韩).
func SameCharacters(a, b Name) bool {
	ca, cb := a.cells(), b.cells()
	if len(ca) != len(cb) || len(ca) == 0 {
		return false
	}
	var used [256]bool
outer:
	for _, x := range ca {
		for j, y := range cb {
			if !used[j] && x == y {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

// pinyin is the name's primary readings run together, when every rune is
// Han; "" otherwise.
func (n Name) pinyin() string {
	var b strings.Builder
	for i, c := range n.cells() {
		r := cellRune(c)
		if !IsHan(r) {
			return ""
		}
		b.WriteString(syllableOf(r, i == 0))
	}
	return b.String()
}

// IsZero reports whether the name is missing.
func (n Name) IsZero() bool { return n.n == 0 }

// CompareNames grades the similarity of two names as written.
func CompareNames(a, b string) Similarity { return Compare(PrepareName(a), PrepareName(b)) }

// Compare grades the similarity of two prepared names.
func Compare(a, b Name) Similarity {
	if a.n == 0 || b.n == 0 {
		return Missing
	}
	ca, cb := a.cells(), b.cells()
	if slices.Equal(ca, cb) {
		return Exact
	}
	if a.latin != "" || b.latin != "" {
		return compareLatin(a, b)
	}
	if len(ca) == len(cb) {
		diff, near := 0, 0
		for i := range ca {
			x, y := ca[i], cb[i]
			if x == y || shareReading(cellReads(x), cellReads(y)) {
				continue
			}
			if soundsAlike(cellReads(x), cellReads(y)) {
				near++
			} else {
				diff++
			}
			if diff+near > 1 {
				break
			}
		}
		if diff == 0 && near == 0 {
			return Homophone
		}
		if diff+near == 1 && len(ca) >= 2 {
			return Typo
		}
	}
	if len(ca) >= 2 && len(cb) >= 2 && withinOneEdit(ca, cb) {
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
	if min(len(la), len(lb)) >= 3 && withinOneEdit([]byte(la), []byte(lb)) {
		return Typo
	}
	return Different
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
func withinOneEdit[T comparable](a, b []T) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	switch len(b) - len(a) {
	case 0:
		if i == len(a) || slices.Equal(a[i+1:], b[i+1:]) {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && slices.Equal(a[i+2:], b[i+2:])
	case 1:
		return slices.Equal(a[i:], b[i+1:])
	}
	return false
}
