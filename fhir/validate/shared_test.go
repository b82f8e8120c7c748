package validate

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
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
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
	if os.Getenv("XIETONG_SHARED_REQUIRED") == "1" {
		tb.Fatal("../shared (next to the module root) is missing and XIETONG_SHARED_REQUIRED=1")
	}
	tb.Skip("../shared (next to the module root) is missing: skipping the tests over the official examples and Synthea data")
	return ""
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
