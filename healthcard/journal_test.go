package healthcard

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A rotation whose next file cannot be opened leaves the journal without
// an active file only until the next append, which opens one: one failed
// open used to leave the closed file active, and every later append and
// sync failed until a restart (found by the session-5 review).
func TestJournalRecoversFromAFailedRotation(t *testing.T) {
	dir := t.TempDir()
	j, left, _, err := openJournal(dir)
	if err != nil || len(left) != 0 {
		t.Fatalf("open: %v, %d left", err, len(left))
	}
	use := func(n int) obj {
		return obj{"resourceType": "AuditEvent", "meta": obj{"source": fmt.Sprintf("%s#%d", SourceUses, n)}}
	}
	if err := j.append([]obj{use(1)}); err != nil {
		t.Fatal(err)
	}
	// The next file's name is taken: its exclusive create fails.
	taken := filepath.Join(dir, fmt.Sprintf("%s%020d%s", journalPrefix, j.seq+1, journalSuffix))
	if err := os.WriteFile(taken, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := j.rotate(); err == nil {
		t.Fatal("rotate opened a file whose name was taken")
	}
	if len(j.closed) != 1 {
		t.Fatalf("the rotated file is not kept for done: %v", j.closed)
	}
	if err := j.sync(); err == nil {
		t.Error("sync without an active file succeeded")
	}
	if err := j.append([]obj{use(2)}); err != nil {
		t.Fatalf("append after a failed rotation: %v", err)
	}
	if err := j.sync(); err != nil {
		t.Fatalf("sync after a failed rotation: %v", err)
	}
	if err := j.rotate(); err != nil {
		t.Fatalf("rotate after a failed rotation: %v", err)
	}
	var got []string
	for _, name := range j.closed {
		evs, err := readJournalFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			got = append(got, str(object(ev["meta"])["source"]))
		}
	}
	if want := []string{SourceUses + "#1", SourceUses + "#2"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rotated files hold %v, want %v", got, want)
	}
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
}

// A crash's use files are found in a folder whose name holds a glob
// character: the journal listed its folder with filepath.Glob, which read
// "[1]" in the database's path as a pattern and found nothing, so the
// uses were never written and the numbering started again at 1.
func TestJournalFindsItsFilesInAFolderWithGlobCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "xietong[1].db.health-card-uses")
	j, _, _, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	use := obj{"resourceType": "AuditEvent", "meta": obj{"source": SourceUses + "#1"}}
	if err := j.append([]obj{use}); err != nil {
		t.Fatal(err)
	}
	if err := j.sync(); err != nil {
		t.Fatal(err)
	}
	seq := j.seq
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	j2, left, names, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.close()
	if len(left) != 1 || len(names) != 1 {
		t.Fatalf("reopened journal found %d uses in %d files, want the crash's 1 in 1", len(left), len(names))
	}
	if j2.seq < seq {
		t.Errorf("numbering restarted at %d after %d", j2.seq, seq)
	}
}
