package profile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/xietong/xietong/internal/profile"
)

// Each capture writes a non-empty file once stopped; an empty path
// writes nothing and its stop is a no-op.
func TestCaptures(t *testing.T) {
	for name, start := range map[string]func(string) (func() error, error){"cpu": profile.CPU, "trace": profile.Trace} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			stop, err := start(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if st, err := os.Stat(path); err != nil || st.Size() == 0 {
				t.Fatalf("%s: %v (empty or missing)", name, err)
			}
			stop, err = start("")
			if err != nil || stop() != nil {
				t.Fatalf("an empty path: %v", err)
			}
		})
	}
}
