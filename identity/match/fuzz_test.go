package match_test

import (
	"testing"
	"time"

	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/identity/match"
)

// FuzzCompare: any input compares without panicking, symmetrically, and a
// record is never vetoed against itself.
func FuzzCompare(f *testing.F) {
	f.Add("张伟", "11010519491231002X", "13912345678", "110112", "通州区新华大街23号", int64(0), "張偉", "110105491231002", "+86 139 1234 5678", "110112", "", int64(-7e8))
	f.Add("\xff", "x", "", "??", "\x00", int64(1e18), "", "", "0000000000000000000000", "1234567", "·", int64(-1e18))
	m := defaultModel()
	f.Fuzz(func(t *testing.T, n1, id1, ph1, div1, addr1 string, b1 int64, n2, id2, ph2, div2, addr2 string, b2 int64) {
		a := match.Record{Name: n1, IDNumber: id1, Phones: []string{ph1}, Division: div1, Address: addr1, Birth: time.Unix(b1%4e9, 0).UTC(), Sex: idnumber.Sex(b1 & 3)}
		b := match.Record{Name: n2, IDNumber: id2, Phones: []string{ph2, ph1}, Division: div2, Address: addr2, Birth: time.Unix(b2%4e9, 0).UTC(), Sex: idnumber.Sex(b2 & 3)}
		ab, ba := m.Compare(a, b), m.Compare(b, a)
		if ab.Levels != ba.Levels || ab.Rule != ba.Rule {
			t.Fatalf("not symmetric: %+v vs %+v", ab, ba)
		}
		if aa := m.Compare(a, a); aa.Rule == match.RuleDifferentID {
			t.Fatalf("record vetoed against itself: %+v", aa)
		}
		ix := match.NewIndex(m)
		ix.Link(a)
		ix.Match(b, 0)
	})
}
