package directory

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// The import's messages read as English: "an institution row", "1
// problem" (they said "a institution row" and "1 problems").
func TestTrialImportMessagesGrammar(t *testing.T) {
	file := "kind,id,name,code,uscc,division,type,grade\ninstitution,x1,某医院,110112901,,110112,general-hospital,3A\n"
	_, err := Parse(context.Background(), strings.NewReader(file), fakeLookup{})
	if err == nil {
		t.Fatal("an institution without uscc was accepted")
	}
	msg := err.Error()
	for _, want := range []string{"1 problem in the directory file", "required for an institution row"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	if problems(3) != "3 problems" {
		t.Errorf("problems(3) = %q", problems(3))
	}
}

// A reference column given as a FHIR reference (Organization/h1) is told
// to name the row id alone; it said "not a valid resource id".
func TestImportReferenceColumnWithType(t *testing.T) {
	const header = "kind,id,name,code,uscc,division,type,grade,parent,organization,practitioner,location,role,specialty,licence,gender,birth_date,title,start,end,lat,lon,address,phone\n"
	file := header +
		"institution,h1,甲医院,510104001,12510104450000008X,510104,general-hospital,3A,,,,,,,,,,,,,,,,\n" +
		"location,l1,甲院区,,,510104,,,,Organization/h1,,,,,,,,,,,30.1,104.1,,\n" +
		"location,l2,乙院区,,,510104,,,,Patient/h1,,,,,,,,,,,30.1,104.1,,\n"
	_, err := Parse(context.Background(), strings.NewReader(file), fakeLookup{})
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 2 {
		t.Fatalf("want two row errors, got %v", err)
	}
	if e := errs[0]; e.Row != 3 || e.Column != "organization" || !strings.Contains(e.Message, `write the id alone, "h1"`) {
		t.Errorf("Organization/h1: %s", e)
	}
	if e := errs[1]; e.Row != 4 || !strings.Contains(e.Message, "not a valid resource id") {
		t.Errorf("Patient/h1: %s", e)
	}
}
