package fhirjson

import (
	"testing"

	"github.com/xietong/xietong/internal/sharedtest"
)

// Test helpers over ../shared (see internal/sharedtest).

func sharedDir(tb testing.TB) string {
	tb.Helper()
	return sharedtest.Dir(tb)
}

func exampleSeeds(step int) [][]byte { return sharedtest.ExampleSeeds(step) }

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	return sharedtest.ReadFile(tb, path)
}
