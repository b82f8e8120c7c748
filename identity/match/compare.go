package match

import (
	"fmt"

	"github.com/xietong/xietong/identity/chinese"
)

// Field is one compared attribute of a record.
type Field int

const (
	FieldName Field = iota
	FieldBirth
	FieldSex
	FieldID
	FieldPhone
	FieldAddress
	NumFields
)

var fieldNames = [NumFields]string{"name", "birth", "sex", "id", "phone", "address"}

func (f Field) String() string {
	if f < 0 || f >= NumFields {
		return fmt.Sprintf("Field(%d)", int(f))
	}
	return fieldNames[f]
}

// Level is the agreement level of one field comparison. Level 0 is always
// "missing" (one side has no value) and weighs nothing; higher levels
// agree more. The meaning of each level per field is in LevelNames.
type Level uint8

// MaxLevels bounds the levels of any field.
const MaxLevels = 5

// LevelNames names the levels of each field, from 0 (missing) up.
var LevelNames = [NumFields][]string{
	FieldName:    {"missing", "different", "typo", "homophone", "exact"},
	FieldBirth:   {"missing", "different", "one digit", "day-month swapped", "exact"},
	FieldSex:     {"missing", "different", "same"},
	FieldID:      {"missing", "different", "one edit", "equal"},
	FieldPhone:   {"missing", "different", "one edit", "equal"},
	FieldAddress: {"missing", "different", "same division", "similar"},
}

// Rule is the deterministic outcome of a comparison, if any.
type Rule uint8

const (
	// RuleNone: no deterministic rule applies; the score decides.
	RuleNone Rule = iota
	// RuleSameID: both ID numbers valid, consistent and equal: a link.
	RuleSameID
	// RuleDifferentID: both ID numbers valid, consistent and different:
	// never a link.
	RuleDifferentID
)

func (r Rule) String() string {
	switch r {
	case RuleSameID:
		return "same valid ID number"
	case RuleDifferentID:
		return "different valid ID numbers"
	}
	return "none"
}

// Comparison is the outcome of comparing two records.
type Comparison struct {
	Levels [NumFields]Level
	Rule   Rule
	// Score is the sum of the weights of Levels (log2 likelihood ratio).
	Score float64
	// Identifying is true when the comparison has evidence of the person
	// rather than of the household: the names are equal, or the ID
	// numbers are equal or one edit apart, or the names are homophones
	// or differ only in the surname while sex and birth date do not
	// disagree outright. Phones, addresses and often birth dates
	// are shared within a family (twins share all three), so without such
	// evidence a record is never linked automatically, only reviewed.
	Identifying bool
}

// Compare compares two records under the model.
func (m *Model) Compare(a, b Record) Comparison {
	now := m.now()
	pa, pb := prepare(a, now), prepare(b, now)
	return m.compare(&pa, &pb)
}

func (m *Model) compare(a, b *prepared) Comparison {
	var c Comparison
	c.Levels[FieldName] = Level(chinese.Compare(a.name, b.name))
	c.Levels[FieldBirth] = compareBirth(a.birth, b.birth)
	switch {
	case a.sex == 0 || b.sex == 0:
	case a.sex == b.sex:
		c.Levels[FieldSex] = 2
	default:
		c.Levels[FieldSex] = 1
	}
	c.Levels[FieldID], c.Rule = compareID(a, b)
	c.Levels[FieldPhone] = comparePhones(a, b)
	c.Levels[FieldAddress] = compareAddress(a, b)
	for f, l := range c.Levels {
		c.Score += m.Weights[f][l]
	}
	c.Identifying = c.Levels[FieldID] >= 2 || c.Levels[FieldName] == Level(chinese.Exact) ||
		(nameClose(c.Levels[FieldName], a, b) && !c.contradicts())
	return c
}

// nameClose reports whether names that are not equal still point at one
// person: homophones, or one typo apart in a way siblings' names are not.
func nameClose(l Level, a, b *prepared) bool {
	return l == Level(chinese.Homophone) || (l == Level(chinese.Typo) && typoIdentifies(a, b))
}

// beyondBirth reports whether a field other than birth date and sex
// agrees (a name at least one typo apart, an ID number or phone at most
// one edit apart, a similar address; the same district alone is not): a
// birth date and a sex are shared by thousands of strangers in a region
// and never worth a review.
func (c *Comparison) beyondBirth() bool {
	return c.Levels[FieldName] >= Level(chinese.Typo) || c.Levels[FieldID] >= 2 ||
		c.Levels[FieldPhone] >= 2 || c.Levels[FieldAddress] == 3
}

// contradicts reports whether sex or birth date disagree outright. A name
// that only sounds alike or is one character off is then a relative's
// rather than the person's mistyped: boy and girl twins 子涵 and 梓涵, or a
// newborn registered as 黄丽婴 beside her mother 黄丽, share the
// household's phone and address, which outweigh the disagreement in the
// score. An exact name still identifies (a sex or a date mis-keyed).
func (c *Comparison) contradicts() bool {
	return c.Levels[FieldSex] == 1 || c.Levels[FieldBirth] == 1
}

// typoIdentifies reports whether two names one typo apart still point at
// one person rather than at siblings: the given names agree (the surname
// was mistyped), or one name has the other's characters in another order,
// or one character fewer. Siblings differ in a given-name character
// (明华/明丽), which is the typo this does not accept.
func typoIdentifies(a, b *prepared) bool {
	if ga := a.name.GivenName(); !ga.IsZero() && chinese.Compare(ga, b.name.GivenName()) >= chinese.Homophone {
		return true
	}
	la, lb := a.name.Len(), b.name.Len()
	if la == lb {
		return chinese.SameCharacters(a.name, b.name)
	}
	return min(la, lb) >= 2 && max(la, lb) == min(la, lb)+1
}

func compareBirth(a, b int32) Level {
	switch {
	case a == 0 || b == 0:
		return 0
	case a == b:
		return 4
	}
	ay, am, ad := a/10000, a/100%100, a%100
	by, bm, bd := b/10000, b/100%100, b%100
	if ay == by && am == bd && ad == bm {
		return 3
	}
	// One decimal digit of yyyymmdd differs.
	diff := 0
	for x, y := a, b; x > 0 || y > 0; x, y = x/10, y/10 {
		if x%10 != y%10 {
			diff++
		}
	}
	if diff == 1 {
		return 2
	}
	return 1
}

func compareID(a, b *prepared) (Level, Rule) {
	if a.idState == idNone || b.idState == idNone {
		return 0, RuleNone
	}
	ia, ib := a.idBytes(), b.idBytes()
	if a.idState == idValid && b.idState == idValid {
		if string(ia) == string(ib) {
			return 3, RuleSameID
		}
		return 1, RuleDifferentID
	}
	switch {
	case string(ia) == string(ib):
		return 3, RuleNone
	case oneEdit(ia, ib):
		return 2, RuleNone
	}
	return 1, RuleNone
}

func comparePhones(a, b *prepared) Level {
	if a.nPhones == 0 || b.nPhones == 0 {
		return 0
	}
	l := Level(1)
	for _, x := range a.phones[:a.nPhones] {
		for _, y := range b.phones[:b.nPhones] {
			if x == y {
				return 3
			}
			if l == 1 {
				var bx, by [phoneDigits]byte
				if oneEdit(x.digits(&bx), y.digits(&by)) {
					l = 2
				}
			}
		}
	}
	return l
}

func compareAddress(a, b *prepared) Level {
	if (a.division == 0 && len(a.addr) == 0) || (b.division == 0 && len(b.addr) == 0) {
		return 0
	}
	if a.division != 0 && b.division != 0 && a.division != b.division {
		return 1
	}
	if len(a.addr) > 0 && len(b.addr) > 0 && dice(a.addr, b.addr) >= 0.7 {
		return 3
	}
	if a.division != 0 && a.division == b.division {
		return 2
	}
	return 1
}

// dice is the Dice coefficient of two sorted bigram multisets.
func dice(a, b []uint64) float64 {
	common := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			common++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return 2 * float64(common) / float64(len(a)+len(b))
}

// oneEdit reports whether two byte strings differ by at most one
// substitution, insertion, deletion or adjacent transposition.
func oneEdit(a, b []byte) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	switch len(b) - len(a) {
	case 0:
		if i == len(a) || string(a[i+1:]) == string(b[i+1:]) {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && string(a[i+2:]) == string(b[i+2:])
	case 1:
		return string(a[i:]) == string(b[i+1:])
	}
	return false
}
