package fhirjson

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/xietong/xietong/internal/sharedtest"
)

func sharedDir(tb testing.TB) string {
	tb.Helper()
	return sharedtest.Dir(tb)
}

func findShared() string { return sharedtest.Find() }

// exampleSeeds returns every step-th official example, to seed fuzz tests
// with real resources when the shared data is there.
func exampleSeeds(step int) [][]byte {
	dir := findShared()
	if dir == "" {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(dir, "fhir", "r4", "examples", "*.json"))
	var out [][]byte
	for i := 0; i < len(files); i += step {
		if b, err := os.ReadFile(files[i]); err == nil && len(b) < 20000 {
			out = append(out, b)
		}
	}
	return out
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
