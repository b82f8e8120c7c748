package match_test

import (
	"fmt"
	"time"

	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/identity/match"
)

func ExampleIndex_Link() {
	ix := match.NewIndex(match.DefaultModel())
	born := time.Date(1980, 3, 7, 0, 0, 0, 0, time.UTC)
	id := idnumber.Generate("110112", born, 123)

	// The first record creates a master patient.
	first := ix.Link(match.Record{Source: "通州区人民医院/1", Name: "张伟", Birth: born, Sex: idnumber.Male,
		IDNumber: id, Phones: []string{"13912345678"}, Division: "110112", Address: "通州区新华大街23号"})

	// Another hospital writes the name in traditional characters, swaps day
	// and month, and has no ID number: the phone and address still agree.
	second := ix.Link(match.Record{Source: "武清区人民医院/7", Name: "張偉", Birth: time.Date(1980, 7, 3, 0, 0, 0, 0, time.UTC),
		Sex: idnumber.Male, Phones: []string{"+86 139 1234 5678"}, Division: "110112", Address: "通州区新华大街23号"})
	fmt.Println(second.Decision, second.Master == first.Master, second.Candidates[0].Levels)

	// A namesake born the same day, with a different valid ID number, is
	// never linked, whatever else agrees.
	namesake := ix.Link(match.Record{Source: "三河市医院/3", Name: "张伟", Birth: born, Sex: idnumber.Male,
		IDNumber: idnumber.Generate("131082", born, 5), Phones: []string{"13912345678"}})
	fmt.Println(namesake.Decision, namesake.Master == first.Master, namesake.Candidates[0].Rule)
	// Output:
	// link true [4 3 2 0 3 3]
	// no match false different valid ID numbers
}

func ExampleModel_Compare() {
	m := match.DefaultModel()
	a := match.Record{Name: "欧阳小明", Birth: time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC), Sex: idnumber.Male}
	b := match.Record{Name: "欧阳晓明", Birth: time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC), Sex: idnumber.Male}
	c := m.Compare(a, b)
	for f := range match.NumFields {
		fmt.Printf("%s: %s\n", f, match.LevelNames[f][c.Levels[f]])
	}
	fmt.Println("auto-link score:", c.Score >= m.AutoLink, "identifying:", c.Identifying)
	// Output:
	// name: homophone
	// birth: exact
	// sex: same
	// id: missing
	// phone: missing
	// address: missing
	// auto-link score: true identifying: true
}
