package directory

import (
	"context"
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
