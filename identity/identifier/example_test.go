package identifier_test

import (
	"fmt"
	"time"

	"github.com/xietong/xietong/identity/identifier"
)

func ExampleValidate() {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	id, err := identifier.Validate(identifier.Passport, "chn", "e 1234 5678", now)
	fmt.Println(id, err)

	id, err = identifier.Validate(identifier.MRN, "H110112001", " 0012345 ", now)
	fmt.Println(id, err)

	_, err = identifier.Validate(identifier.HKMacaoPermit, "", "X12345678", now)
	fmt.Println(err)
	// Output:
	// {passport CHN E12345678} <nil>
	// {mrn H110112001 0012345} <nil>
	// hk-macao-permit "X12345678": a Hong Kong or Macao residents' permit number is H or M followed by 8 or 10 digits
}
