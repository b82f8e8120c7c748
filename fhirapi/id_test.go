package fhirapi

import (
	"regexp"
	"testing"

	"github.com/xietong/xietong/search"
)

// Server-assigned ids are UUIDs of version 7 that increase in the order
// they were made, and are valid FHIR ids.
func TestNewIDIsIncreasingUUIDv7(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	prev := ""
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		id := newID()
		if !re.MatchString(id) || !search.ValidID(id) {
			t.Fatalf("id %q is not a UUID v7", id)
		}
		if id <= prev {
			t.Fatalf("id %q after %q: not increasing", id, prev)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
		prev = id
	}
}
