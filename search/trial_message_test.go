package search

import (
	"net/url"
	"strings"
	"testing"
)

// An unsupported modifier is named in a sentence a person can act on: it
// read "Search parameter family:bogus (modifier :bogus on a string
// parameter) by this server."
func TestTrialUnsupportedModifierMessage(t *testing.T) {
	for q, want := range map[string]string{
		"family:bogus=x":    "Search parameter family:bogus (modifier :bogus on a string parameter) is not supported by this server.",
		"birthdate:above=x": "Search parameter birthdate:above (modifier :above on a date parameter) is not supported by this server.",
		"_text=x":           "Search parameter _text is not supported by this server.",
	} {
		v, _ := url.ParseQuery(q)
		_, err := Parse("Patient", v, Options{Strict: true})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", q, err, want)
		}
	}
}
