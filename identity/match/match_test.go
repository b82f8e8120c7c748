package match_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/identity/match"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

var (
	zhangID = idnumber.Generate("110112", day(1980, 3, 7), 123)  // male
	liID    = idnumber.Generate("120114", day(1985, 10, 2), 246) // female
)

func zhang() match.Record {
	return match.Record{Source: "A/1", Name: "张伟", Birth: day(1980, 3, 7), Sex: idnumber.Male, IDNumber: zhangID,
		Phones: []string{"13912345678"}, Division: "110112", Address: "通州区新华大街23号3单元502"}
}

func TestCompareLevels(t *testing.T) {
	m := defaultModel()
	base := zhang()
	base.IDNumber = ""
	tests := []struct {
		name  string
		edit  func(*match.Record)
		field match.Field
		want  string
	}{
		{"traditional name", func(r *match.Record) { r.Name = "張偉" }, match.FieldName, "exact"},
		{"homophone", func(r *match.Record) { r.Name = "张玮" }, match.FieldName, "homophone"},
		{"typo", func(r *match.Record) { r.Name = "张传" }, match.FieldName, "typo"},
		{"day and month swapped", func(r *match.Record) { r.Birth = day(1980, 7, 3) }, match.FieldBirth, "day-month swapped"},
		{"one digit of the year", func(r *match.Record) { r.Birth = day(1981, 3, 7) }, match.FieldBirth, "one digit"},
		{"birth missing", func(r *match.Record) { r.Birth = time.Time{} }, match.FieldBirth, "missing"},
		{"sex differs", func(r *match.Record) { r.Sex = idnumber.Female }, match.FieldSex, "different"},
		{"phone with +86", func(r *match.Record) { r.Phones = []string{"+86 139-1234-5678"} }, match.FieldPhone, "equal"},
		{"phone mistyped", func(r *match.Record) { r.Phones = []string{"13912345679"} }, match.FieldPhone, "one edit"},
		{"phone changed", func(r *match.Record) { r.Phones = []string{"18600000000"} }, match.FieldPhone, "different"},
		{"address without the unit", func(r *match.Record) { r.Address = "通州区新华大街23号3单元" }, match.FieldAddress, "similar"},
		{"moved within the district", func(r *match.Record) { r.Address = "通州区运河东路8号" }, match.FieldAddress, "same division"},
		{"moved away", func(r *match.Record) { r.Division, r.Address = "131082", "三河市燕郊迎宾路9号" }, match.FieldAddress, "different"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := zhang()
			other.IDNumber = ""
			tt.edit(&other)
			c := m.Compare(base, other)
			if got := match.LevelNames[tt.field][c.Levels[tt.field]]; got != tt.want {
				t.Errorf("%v level = %q, want %q (levels %v)", tt.field, got, tt.want, c.Levels)
			}
		})
	}
}

func TestDeterministicRules(t *testing.T) {
	m := defaultModel()
	tests := []struct {
		name string
		edit func(*match.Record)
		rule match.Rule
	}{
		{"same ID, names unrelated", func(r *match.Record) { r.Name, r.Phones, r.Address = "王小二", nil, "" }, match.RuleSameID},
		{"legacy 15-digit form", func(r *match.Record) { r.IDNumber = idnumber.Legacy(zhangID) }, match.RuleSameID},
		{"another valid ID, all else equal", func(r *match.Record) {
			r.IDNumber = idnumber.Generate("110112", day(1980, 3, 7), 5)
		}, match.RuleDifferentID},
		{"ID mistyped: no rule", func(r *match.Record) { r.IDNumber = zhangID[:5] + "9" + zhangID[6:] }, match.RuleNone},
		{"ID of someone else (inconsistent): no rule", func(r *match.Record) { r.IDNumber = liID }, match.RuleNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := zhang()
			tt.edit(&other)
			if c := m.Compare(zhang(), other); c.Rule != tt.rule {
				t.Errorf("rule %v, want %v (levels %v)", c.Rule, tt.rule, c.Levels)
			}
		})
	}
}

func TestTwoValidIDNumbersNeverLink(t *testing.T) {
	ix := match.NewIndex(defaultModel())
	first := ix.Link(zhang())
	namesake := zhang() // everything equal but the ID number: a namesake born the same day
	namesake.IDNumber = idnumber.Generate("110112", day(1980, 3, 7), 5)
	res := ix.Link(namesake)
	if res.Decision == match.Link || res.Master == first.Master {
		t.Fatalf("linked despite different valid ID numbers: %+v", res)
	}
	// A record without an ID number that matches both may link to one, but
	// a master holding two different valid numbers must never arise.
	noID := zhang()
	noID.IDNumber = ""
	ix.Link(noID)
	withB := zhang()
	withB.IDNumber = namesake.IDNumber
	for _, c := range ix.Match(withB, 0) {
		if c.Master == first.Master && c.Decision != match.NoMatch {
			t.Errorf("master %d (ID A) offered to a record with ID B: %+v", c.Master, c)
		}
	}
}

func TestBadInputNeverLinksWrongly(t *testing.T) {
	ix := match.NewIndex(defaultModel())
	li := match.Record{Source: "B/1", Name: "李娜", Birth: day(1985, 10, 2), Sex: idnumber.Female, IDNumber: liID,
		Phones: []string{"13800000001"}, Division: "120114", Address: "武清区杨村大街5号"}
	liMaster := ix.Link(li).Master
	zhangMaster := ix.Link(zhang()).Master

	bad := []struct {
		name string
		r    match.Record
	}{
		{"someone else's ID number", match.Record{Name: "王强", Birth: day(2019, 5, 5), Sex: idnumber.Male, IDNumber: liID}},
		{"wrong check character", match.Record{Name: "赵敏", IDNumber: liID[:17] + "0"}},
		{"impossible date in the ID", match.Record{Name: "赵敏", IDNumber: "120114198513020000"}},
		{"future birth date", match.Record{Name: "李娜", Birth: day(2099, 10, 2), Sex: idnumber.Female}},
		{"only a shared phone", match.Record{Name: "李娜娜", Birth: day(2010, 1, 1), Phones: []string{"13800000001"}}},
		{"nothing but the name", match.Record{Name: "张伟"}},
		{"garbage", match.Record{Name: "\xff\x00", IDNumber: "x", Phones: []string{"+"}, Division: "??"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range ix.Match(tt.r, 0) {
				if c.Decision == match.Link {
					t.Errorf("linked to master %d (li %d, zhang %d): %+v", c.Master, liMaster, zhangMaster, c)
				}
			}
		})
	}
}

func TestLinkFindsNoisyRecords(t *testing.T) {
	ix := match.NewIndex(defaultModel())
	master := ix.Link(zhang()).Master
	noisy := []struct {
		name string
		edit func(*match.Record)
	}{
		{"legacy ID", func(r *match.Record) { r.IDNumber = idnumber.Legacy(zhangID) }},
		{"no ID, traditional name, new phone", func(r *match.Record) {
			r.IDNumber, r.Name, r.Phones = "", "張偉", []string{"18600000000"}
		}},
		{"mistyped ID, homophone, swapped date", func(r *match.Record) {
			r.IDNumber, r.Name, r.Birth = zhangID[:10]+zhangID[11:12]+zhangID[10:11]+zhangID[12:], "张玮", day(1980, 7, 3)
		}},
		{"full-width spaced name, no ID, moved", func(r *match.Record) {
			r.IDNumber, r.Name, r.Division, r.Address = "", "张\u3000伟", "131082", "三河市燕郊迎宾路9号"
		}},
	}
	for _, tt := range noisy {
		t.Run(tt.name, func(t *testing.T) {
			r := zhang()
			tt.edit(&r)
			cs := ix.Match(r, 1)
			if len(cs) == 0 || cs[0].Master != master || cs[0].Decision != match.Link {
				t.Errorf("not linked: %+v", cs)
			}
		})
	}
}

func TestConcurrentMatchAndLink(t *testing.T) {
	ix := match.NewIndex(defaultModel())
	ix.Link(zhang())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				r := zhang()
				r.Source = fmt.Sprintf("C/%d/%d", g, i)
				r.IDNumber = ""
				r.Phones = []string{idnumber.Generate("110112", day(1990, 1, 1), g*1000+i)[:11]}
				if g%2 == 0 {
					ix.Link(r)
				} else {
					ix.Match(r, 3)
				}
			}
		})
	}
	wg.Wait()
	if ix.Len() != 401 {
		t.Errorf("Len = %d, want 401", ix.Len())
	}
}

func TestRemoveAndReplace(t *testing.T) {
	ix := match.NewIndex(defaultModel())
	m := ix.Link(zhang()).Master
	if got := ix.Match(zhang(), 1); len(got) != 1 || got[0].Master != m {
		t.Fatalf("before removal: %+v", got)
	}
	if !ix.Remove("A/1") || ix.Remove("A/1") {
		t.Fatal("Remove should report the record once")
	}
	if got := ix.Match(zhang(), 0); len(got) != 0 {
		t.Errorf("removed record still a candidate: %+v", got)
	}
	// Adding a record of an existing Source replaces it (re-matching a
	// changed Patient).
	r := zhang()
	ix.Add(r, m)
	r.Name = "张卫"
	ix.Add(r, m)
	if ix.Len() != 1 || !slices.Equal(ix.Members(m), []string{"A/1"}) {
		t.Errorf("Len %d, members %v; want the one replaced record", ix.Len(), ix.Members(m))
	}
}

func TestMerge(t *testing.T) {
	ix := match.NewIndex(defaultModel())
	a := ix.Link(zhang()).Master
	typo := zhang()
	typo.Source, typo.IDNumber, typo.Name = "B/9", "", "张传" // a typo inside the given name: review at most
	b := ix.Link(typo).Master
	if a == b {
		t.Fatal("the typo record should not have linked")
	}
	if err := ix.Merge(a, b); err != nil {
		t.Fatal(err)
	}
	if got := ix.Members(a); len(got) != 2 || len(ix.Members(b)) != 0 {
		t.Errorf("members after merge: %v and %v", got, ix.Members(b))
	}
	other := zhang()
	other.Source, other.IDNumber = "C/1", idnumber.Generate("110112", day(1980, 3, 7), 5)
	c := ix.Link(other).Master
	if err := ix.Merge(a, c); !errors.Is(err, match.ErrConflict) {
		t.Errorf("merging masters with different valid ID numbers: %v, want ErrConflict", err)
	}
}
