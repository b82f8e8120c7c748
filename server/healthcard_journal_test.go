package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xietong/xietong/server"
	_ "modernc.org/sqlite"
)

// journalUses counts the use records in a node's journal folder.
func journalUses(dir string) int {
	names, _ := filepath.Glob(filepath.Join(dir, "uses-*"))
	n := 0
	for _, f := range names {
		b, _ := os.ReadFile(f)
		n += bytes.Count(b, []byte(`"resourceType"`))
	}
	return n
}

// knownCard issues a card to a new patient and resolves it once at
// institution 110112001 (the first visit writes its record): later
// resolves there are a known patient's. It returns the static code.
func knownCard(t *testing.T, base string) string {
	t.Helper()
	do(t, "POST", base+"/Organization", fj, institution("110112001", "110112", "运河医院")).wantStatus(t, 201)
	p := do(t, "POST", base+"/Patient", fj, `{"resourceType":"Patient","name":[{"text":"韩梅梅"}]}`).wantStatus(t, 201).str("id")
	static := paramStr(do(t, "POST", base+"/Patient/"+p+"/$issue-health-card", "", "").wantStatus(t, 200), "staticCode", "valueString")
	do(t, "POST", base+"/Patient/$resolve-health-card", fj, resolveBody(static, "110112001")).wantStatus(t, 200)
	return static
}

// journalGrows tells whether the journal holds more than before uses
// within 1.5 s (its sync interval is 200 ms).
func journalGrows(dir string, before int) bool {
	for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if journalUses(dir) > before {
			return true
		}
	}
	return false
}

// While a batch of uses waits for the store (here: another process holds
// SQLite's write lock, as `xietong import directory` does for its whole
// transaction), the uses answered meanwhile are still synced to the
// journal every interval (decision 024: a crash loses at most ~200 ms of
// uses). The store writes used to run on the journal's goroutine, so
// nothing was synced until the blocked write gave up (found by the
// session-5 review).
func TestHealthCardJournalSyncsWhileAWriteWaits(t *testing.T) {
	db := filepath.Join(t.TempDir(), "test.db")
	journal := db + ".health-card-uses"
	srv, base := restartableNode(t, db)
	defer srv.Close()
	// The first visit creates the institution's record (a write): before the lock.
	static := knownCard(t, base)
	srv.HealthCards().Flush()

	other, err := sql.Open("sqlite", db+"?_busy_timeout=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	do(t, "POST", base+"/Patient/$resolve-health-card", fj, resolveBody(static, "110112001")).wantStatus(t, 200)
	time.Sleep(2300 * time.Millisecond) // the use is due (every 2 s): its write now waits for the lock
	before := journalUses(journal)
	do(t, "POST", base+"/Patient/$resolve-health-card", fj, resolveBody(static, "110112001")).wantStatus(t, 200)
	synced := journalGrows(journal, before)
	if !synced {
		conn.ExecContext(ctx, "ROLLBACK")
		t.Fatalf("a use answered while a batch waited for the store was not in the journal 1.5 s later (%d records there)", journalUses(journal))
	}
	// Held past the store's busy timeout (5 s), the waiting write fails;
	// its file keeps the uses, and the node writes them again once the
	// lock is gone, without a restart (it used to wait for one).
	time.Sleep(5 * time.Second)
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	count := func() string {
		u := do(t, "GET", base+"/AuditEvent/$health-card-usage?event=resolve&by=event", "", "").wantStatus(t, 200)
		return u.str("parameter", 0, "valueInteger")
	}
	got := ""
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = count(); got == "3" {
			break
		}
	}
	if got != "3" {
		t.Errorf("resolves counted 4 s after the lock was released: %s, want 3", got)
	}
	srv.HealthCards().Flush()
	if got := count(); got != "3" {
		t.Errorf("resolves counted after a flush: %s, want 3 (each once)", got)
	}
	if n := journalUses(journal); n != 0 {
		t.Errorf("%d uses left in the journal after they were written", n)
	}
}

// A file a crash left with a very long line (an unsynced tail, zeros
// without a newline) is read past, not a reason to refuse the start: the
// reader had a 1 MiB line limit and the node failed with "token too
// long" (found by the session-5 review).
func TestHealthCardJournalLongTornLine(t *testing.T) {
	db := filepath.Join(t.TempDir(), "test.db")
	srv, _ := restartableNode(t, db)
	srv.Close()
	journal := db + ".health-card-uses"
	if err := os.WriteFile(filepath.Join(journal, "uses-00000000000000000009.jsonl"), make([]byte, 1<<20+1), 0o600); err != nil {
		t.Fatal(err)
	}
	var s *server.Server
	s, _ = restartableNode(t, db)
	s.Close()
}

// A node that found the journal's lock taken at start (an import, or a
// node still stopping) takes the journal over once the lock is free: it
// ran without one for the rest of its life (found by the session-5
// review).
func TestHealthCardJournalTakenOverWhenFree(t *testing.T) {
	db := filepath.Join(t.TempDir(), "test.db")
	journal := db + ".health-card-uses"
	first, base := restartableNode(t, db)
	static := knownCard(t, base)

	second, base2 := restartableNode(t, db) // the lock is the first's
	defer second.Close()
	first.Close()
	time.Sleep(2500 * time.Millisecond) // one lock retry (2 s) and a tick
	second.HealthCards().Flush()
	before := journalUses(journal)
	do(t, "POST", base2+"/Patient/$resolve-health-card", fj, resolveBody(static, "110112001")).wantStatus(t, 200)
	synced := journalGrows(journal, before)
	if !synced {
		t.Errorf("the second node's use is not in the journal after the first let the lock go")
	}
	second.HealthCards().Flush()
	u := do(t, "GET", base2+"/AuditEvent/$health-card-usage?event=resolve&by=event", "", "").wantStatus(t, 200)
	if got := u.str("parameter", 0, "valueInteger"); got != "2" {
		t.Errorf("resolves counted: %s, want 2 (once each)", got)
	}
}
