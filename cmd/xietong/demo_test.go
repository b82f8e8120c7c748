package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunDemoGenerate(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := runDemo(context.Background(), []string{"generate", "--out", dir, "--patients", "20", "--practitioners", "45"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "Patient") || !strings.Contains(out.String(), "bundles") {
		t.Errorf("summary: %s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "0001-directory-0001.json")); err != nil {
		t.Error(err)
	}
}

func TestRunDemoUsage(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{nil, {"generate"}, {"nonsense"}, {"generate", "--out", "x", "--patients", "0"}} {
		if code := runDemo(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("runDemo(%q) = %d, want 2", args, code)
		}
	}
}
