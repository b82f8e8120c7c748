// Package sharedtest locates ../shared — the third-party data every
// developer and CI has beside the repository (FHIR definitions and
// examples, the FHIRPath suite, Synthea, HL7 v2 samples) — for tests.
// Without it a test is skipped with a message, unless
// XIETONG_SHARED_REQUIRED=1 (CI), where its absence is a failure.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// RequiredEnv makes a missing ../shared a test failure.
const RequiredEnv = "XIETONG_SHARED_REQUIRED"

// Dir returns the shared folder, or skips (or fails) tb without it.
func Dir(tb testing.TB) string {
	tb.Helper()
	if dir := Find(); dir != "" {
		return dir
	}
	if os.Getenv(RequiredEnv) == "1" {
		tb.Fatalf("../shared (next to the module root) is missing and %s=1", RequiredEnv)
	}
	tb.Skip("../shared (next to the module root) is missing: skipping a test over the shared data")
	return ""
}

// Path is Dir joined with elem.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	return filepath.Join(append([]string{Dir(tb)}, elem...)...)
}

// Find returns the shared folder beside the module root (the folder
// holding go.mod above the working directory), or "" when there is none.
func Find() string {
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
			return ""
		}
		dir = parent
	}
	shared := filepath.Join(dir, "..", "shared")
	if fi, err := os.Stat(shared); err == nil && fi.IsDir() {
		return shared
	}
	return ""
}

// ExampleSeeds returns every step-th official R4 example (those under
// 20 KB), to seed fuzz tests with real resources; nil without ../shared.
func ExampleSeeds(step int) [][]byte {
	dir := Find()
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

// ReadFile reads a file or fails tb.
func ReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
