package fhirjson

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDir finds ../shared next to the module root (the folder holding
// go.mod). Without it the test is skipped, unless XIETONG_SHARED_REQUIRED=1
// (CI), where its absence is a failure.
func sharedDir(tb testing.TB) string {
	tb.Helper()
	if dir := findShared(); dir != "" {
		return dir
	}
	if os.Getenv("XIETONG_SHARED_REQUIRED") == "1" {
		tb.Fatal("../shared (next to the module root) is missing and XIETONG_SHARED_REQUIRED=1")
	}
	tb.Skip("../shared (next to the module root) is missing: skipping the tests over the official examples and Synthea data")
	return ""
}

// findShared returns the shared folder, or "" when there is none.
func findShared() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			dir = ""
			break
		}
		dir = parent
	}
	if dir != "" {
		shared := filepath.Join(dir, "..", "shared")
		if fi, err := os.Stat(shared); err == nil && fi.IsDir() {
			return shared
		}
	}
	return ""
}

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
