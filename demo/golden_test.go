package demo_test

import (
	"encoding/hex"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/xietong/xietong/demo"
)

var update = flag.Bool("update", false, "rewrite testdata/small.sha256 with the current output")

// TestGolden pins the small region byte for byte: ids and contents that
// documentation links to must not move by accident, and a change in
// math/rand/v2's algorithms would show here. After an intended change to
// the generator, run go test ./demo -run Golden -update.
func TestGolden(t *testing.T) {
	sum := digest(t, demo.Small())
	got := hex.EncodeToString(sum[:])
	const file = "testdata/small.sha256"
	if *update {
		if err := os.WriteFile(file, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got != strings.TrimSpace(string(want)) {
		t.Errorf("the small region changed: SHA-256 %s, %s has %s (run with -update if intended)", got, file, strings.TrimSpace(string(want)))
	}
}
