package idnumber_test

import (
	"fmt"
	"time"

	"github.com/xietong/xietong/identity/idnumber"
)

func ExampleParse() {
	n, err := idnumber.Parse("11010519491231002x")
	fmt.Println(n.Value, n.Birth.Format("2006-01-02"), n.Sex, n.Province(), err)

	legacy, _ := idnumber.Parse("110105491231002")
	fmt.Println(legacy.Value, legacy.Legacy)

	_, err = idnumber.Parse("110105194912310021")
	fmt.Println(err)
	// Output:
	// 11010519491231002X 1949-12-31 female 北京市 <nil>
	// 11010519491231002X true
	// identity card number "110105194912310021": character 18: check character does not match the other 17 digits: the number is mistyped or not a real number; ask for the card again rather than correcting it
}

func ExampleNumber_CheckRecord() {
	n, _ := idnumber.Parse(idnumber.Generate("120114", time.Date(1988, 3, 9, 0, 0, 0, 0, time.UTC), 15))
	fmt.Println(n.CheckRecord(time.Date(1988, 9, 3, 0, 0, 0, 0, time.UTC), idnumber.Male))
	// Output:
	// identity card number "120114198803090159": the number encodes birth date 1988-03-09, the record says 1988-09-03
}
