package recognition

import (
	"fmt"
	"testing"
)

// The cache of Encounters' serviceProviders answers by the body's bytes:
// another version of the same Encounter (or a rolled-back one rewritten
// under the same id) is never answered from an older body.
func TestProviderCacheAnswersByBody(t *testing.T) {
	var c providerCache
	enc := func(id, org string) []byte {
		return []byte(fmt.Sprintf(`{"resourceType":"Encounter","id":%q,"status":"finished","serviceProvider":{"reference":"Organization/%s"}}`, id, org))
	}
	for i := 0; i < 3; i++ {
		if got := c.of(enc("e1", "o1")); got != "o1" {
			t.Fatalf("round %d: e1 at o1 answered %q", i, got)
		}
		if got := c.of(enc("e1", "o2")); got != "o2" {
			t.Fatalf("round %d: e1 moved to o2 answered %q", i, got)
		}
	}
	if got := c.of([]byte(`{"resourceType":"Encounter","id":"e2"}`)); got != "" {
		t.Errorf("no serviceProvider: %q", got)
	}
	// Full: it starts again, and still answers right.
	for i := 0; i < providerCacheSize+10; i++ {
		org := fmt.Sprint("org", i)
		if got := c.of(enc(fmt.Sprint("e", i), org)); got != org {
			t.Fatalf("entry %d: %q, want %q", i, got, org)
		}
	}
	if n := len(c.m); n > providerCacheSize {
		t.Errorf("the cache holds %d bodies, more than %d", n, providerCacheSize)
	}
}
