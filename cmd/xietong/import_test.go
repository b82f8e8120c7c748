package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunImportDirectory(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	var out, errb bytes.Buffer
	if code := runImport(context.Background(), []string{"directory", "--db", db, "../../directory/testdata/directory.csv"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "imported 42 rows") || !strings.Contains(out.String(), "institution       6") {
		t.Errorf("summary: %s", out.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("kind,id,name,parent,code\ndepartment,dx,科,nowhere,03\ndepartment,dy,,cd-jinjiang-1,3\n"), 0o600)
	out.Reset()
	errb.Reset()
	if code := runImport(context.Background(), []string{"directory", "--db", db, bad}, &out, &errb); code != 1 {
		t.Fatalf("bad file: exit %d", code)
	}
	for _, want := range []string{"nothing imported; 3 problems", "row 2, column parent", "row 3, column name", "row 3, column code"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("missing %q in:\n%s", want, errb.String())
		}
	}
	for _, args := range [][]string{nil, {"people"}, {"directory"}, {"directory", "a.csv", "b.csv"}} {
		if code := runImport(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("runImport(%q) = %d, want 2", args, code)
		}
	}
}

func TestRunHealthCardKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.json")
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := runKeys(context.Background(), append(args, "--health-card-keys", file), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := run("list"); code != 0 || strings.Count(out, "(active)") != 1 {
		t.Fatalf("list: %d %s", code, out)
	}
	code, out := run("rotate")
	if code != 0 || !strings.Contains(out, "new active key") || strings.Count(out, "\n  ") != 2 {
		t.Fatalf("rotate: %d %s", code, out)
	}
	// The key that is not active any more (the listing's order is the
	// key ids', which are random).
	first := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "  ") && !strings.Contains(line, "(active)") {
			first = strings.Fields(line)[0]
		}
	}
	if first == "" {
		t.Fatalf("rotate listed no retired key: %s", out)
	}
	if code, out := run("retire", first); code != 0 || strings.Contains(out, first+"\n") && strings.Count(out, "\n  ") != 1 {
		t.Fatalf("retire: %d %s", code, out)
	}
	// Key ids are base64url: one starting with "-" is a key id, not a flag.
	if code, out := run("retire", "-bYcv9PNwqsX24sq"); code != 1 || !strings.Contains(out, "-bYcv9PNwqsX24sq") {
		t.Fatalf("retire a key id starting with '-': %d %s", code, out)
	}
	if code, _ := run("retire", "unknown"); code != 1 {
		t.Fatalf("retire unknown: %d", code)
	}
	if code, _ := run("dance"); code != 2 {
		t.Fatalf("unknown verb: %d", code)
	}
}
