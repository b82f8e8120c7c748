package match_test

import (
	"testing"

	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/identity/match"
)

// A household shares a phone, an address and often a birth date; a name
// that only sounds alike, or is one character off, is evidence of the
// person only when sex and birth date do not contradict it. Found by the
// new-user trial (decision 025): a girl twin linked to her brother, and a
// newborn registered as 黄丽婴 linked to her mother 黄丽.
func TestHouseholdNeverLinksAutomatically(t *testing.T) {
	home := func(r match.Record) match.Record {
		r.Phones = []string{"13500002222"}
		r.Division, r.Address = "440604", "佛山市禅城区季华五路88号3栋1201"
		return r
	}
	mother := home(match.Record{Source: "FS/1", Name: "黄丽", Birth: day(1990, 5, 5), Sex: idnumber.Female,
		IDNumber: idnumber.Generate("440604", day(1990, 5, 5), 222)})
	tests := []struct {
		name     string
		existing match.Record
		incoming match.Record
		want     match.Decision // the most the incoming record may get
	}{
		{"boy and girl twins with homophone names",
			home(match.Record{Source: "FS/2", Name: "王子涵", Birth: day(2019, 7, 7), Sex: idnumber.Male}),
			home(match.Record{Source: "FS/3", Name: "王梓涵", Birth: day(2019, 7, 7), Sex: idnumber.Female}),
			match.Review},
		{"a newborn named after her mother",
			mother,
			home(match.Record{Source: "NH/1", Name: "黄丽婴", Birth: day(2026, 10, 1), Sex: idnumber.Female}),
			match.Review},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := match.NewIndex(defaultModel())
			ix.Link(tt.existing)
			res := ix.Link(tt.incoming)
			if res.Decision > tt.want {
				t.Errorf("decision %v, want at most %v (candidates %+v)", res.Decision, tt.want, res.Candidates)
			}
		})
	}
}

// The same person keeps linking when one field is mis-keyed: an exact
// name carries a wrong sex, and a homophone with the sex left out.
func TestPersonStillLinksDespiteOneSlip(t *testing.T) {
	base := match.Record{Source: "GZ/1", Name: "刘德明", Birth: day(1961, 9, 27), Sex: idnumber.Male,
		Phones: []string{"13011110000"}, Division: "440104", Address: "广州市越秀区东风中路1号"}
	tests := []struct {
		name string
		edit func(*match.Record)
	}{
		{"sex mis-keyed, name exact", func(r *match.Record) { r.Sex = idnumber.Female }},
		{"homophone name, sex missing", func(r *match.Record) { r.Name, r.Sex = "刘德铭", idnumber.SexUnknown }},
		{"homophone name, same sex", func(r *match.Record) { r.Name = "刘德铭" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := match.NewIndex(defaultModel())
			ix.Link(base)
			r := base
			r.Source = "NH/1"
			tt.edit(&r)
			if res := ix.Link(r); res.Decision != match.Link {
				t.Errorf("decision %v, want link (candidates %+v)", res.Decision, res.Candidates)
			}
		})
	}
}

// A query that shares only a birth date (and sex) with a record scored
// above the review threshold (15.2 ≥ 12): $match graded a stranger born
// the same day "probable", and a write would have queued a review for
// it. Another field must agree before a person is asked to look.
func TestBirthDateAloneIsNoReview(t *testing.T) {
	ix := match.NewIndex(defaultModel())
	ix.Link(match.Record{Source: "GZ/1", Name: "于艳涵", Birth: day(1980, 1, 2), Sex: idnumber.Male,
		Phones: []string{"13912345678"}, Division: "440104", Address: "越秀区东风中路1号"})
	cs := ix.Match(match.Record{Birth: day(1980, 1, 2), Sex: idnumber.Male}, 0)
	if len(cs) != 1 || cs[0].Decision != match.NoMatch {
		t.Errorf("birth date and sex alone: %+v, want one candidate, no match", cs)
	}
	// With a name that sounds alike it is a review, as before.
	cs = ix.Match(match.Record{Name: "于燕涵", Birth: day(1980, 1, 2)}, 0)
	if len(cs) != 1 || cs[0].Decision == match.NoMatch {
		t.Errorf("homophone name and birth date: %+v, want review or link", cs)
	}
}
