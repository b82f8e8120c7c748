package validate

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestTooLong(t *testing.T) {
	long := strings.Repeat("é", 1024*1024+1) // counted in characters, not bytes
	ok := strings.Repeat("é", 1024*1024)
	res := mustDecode(t, pat(`"name":[{"family":"`+long+`","given":["`+ok+`"]}]`))
	issues := New().Resource(res)
	if len(issues) != 1 || issues[0].Code != CodeTooLong || issues[0].Path != "Patient.name[0].family" {
		t.Errorf("got %+v", issues)
	}
}

// TestInvariantChecker: how the hook is called and how its answers become
// issues.
func TestInvariantChecker(t *testing.T) {
	res := mustDecode(t, `{"resourceType":"Patient","id":"p",
		"contained":[{"resourceType":"Organization","id":"o","name":"x"}],
		"managingOrganization":{"reference":"#o"},
		"contact":[{"name":{"family":"a"}},{"gender":"male"}],
		"extension":[{"url":"http://x","valuePeriod":{"start":"2020"}}]}`)
	var mu sync.Mutex
	seen := map[string][]InvariantContext{}
	checker := InvariantCheckerFunc(func(ctx InvariantContext) (bool, error) {
		mu.Lock()
		seen[ctx.Constraint.Key] = append(seen[ctx.Constraint.Key], ctx)
		mu.Unlock()
		switch ctx.Constraint.Key {
		case "pat-1": // contact: name, telecom, address or organization
			c := ctx.Node.(map[string]any)
			return c["name"] != nil, nil
		case "dom-6":
			return true, nil
		case "org-1":
			return false, errors.New("unsupported function")
		case "per-1":
			return false, nil
		}
		return true, nil
	})
	issues := New(WithInvariants(checker)).Resource(res)
	want := []Issue{
		{SeverityError, CodeInvariant, "Patient.contact[1]", "Patient.contact[1]: invariant pat-1 failed: SHALL at least contain a contact's details or a reference to an organization"},
		{SeverityWarning, CodeProcessing, "Patient.contained[0]", "Patient.contained[0]: could not evaluate invariant org-1 ((identifier.count() + name.count()) > 0): unsupported function"},
		{SeverityError, CodeInvariant, "Patient.extension[0].valuePeriod", "Patient.extension[0].valuePeriod: invariant per-1 failed: If present, start SHALL have a lower value than end"},
	}
	if len(issues) != len(want) {
		t.Fatalf("got %d issues %+v, want %+v", len(issues), issues, want)
	}
	for i := range want {
		if issues[i] != want[i] {
			t.Errorf("issue %d:\n got %+v\nwant %+v", i, issues[i], want[i])
		}
	}
	for key := range seen {
		if NativeInvariant(key) {
			t.Errorf("native invariant %s was passed to the checker", key)
		}
	}
	if got := len(seen["pat-1"]); got != 2 {
		t.Errorf("pat-1 evaluated %d times, want once per contact (2)", got)
	}
	if org := seen["org-1"]; len(org) != 1 || org[0].Type != "Organization" || org[0].Resource["id"] != "o" || org[0].RootResource["id"] != "p" {
		t.Errorf("org-1 context = %+v, want the contained Organization with the Patient as root", org)
	}
	if dom := seen["dom-6"]; len(dom) != 2 {
		t.Errorf("dom-6 evaluated %d times, want for the Patient and the contained Organization", len(dom))
	}
}
