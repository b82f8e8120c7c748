package match

import (
	"testing"
	"time"

	"github.com/xietong/xietong/identity/idnumber"
)

func BenchmarkComparePrepared(b *testing.B) {
	m := DefaultModel()
	now := time.Now()
	mk := func(name string, id string, ph string) prepared {
		return prepare(Record{Name: name, Birth: time.Date(1980, 3, 7, 0, 0, 0, 0, time.UTC), Sex: idnumber.Male, IDNumber: id, Phones: []string{ph}, Division: "110112", Address: "通州区新华大街23号3单元502"}, now)
	}
	x := mk("王晓明", idnumber.Generate("110112", time.Date(1980, 3, 7, 0, 0, 0, 0, time.UTC), 5), "13912345678")
	y := mk("王小刚", "", "13912345679")
	for b.Loop() {
		m.compare(&x, &y)
	}
}
