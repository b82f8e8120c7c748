package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	msqlite "modernc.org/sqlite"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

// The trail an earlier version kept in the resources' file (audit_log)
// stays readable: ReadAudit merges it with the audit file's chunks, in
// one order, with distinct sequence numbers continuing after it, and the
// audit file's appends never touch the resources' file.
func TestAuditFileKeepsTheOlderTrailReadable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "n.db")
	base := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	db, err := Open(ctx, path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	// What an earlier version appended: odd seconds, in audit_log.
	for i := range 40 {
		r := store.AuditRecord{Time: base.Add(time.Duration(2*i+1) * time.Second), Subject: "old", Role: "clinician",
			Action: "read", ResourceType: "Patient", ID: fmt.Sprint("p", i%4), Allowed: i%9 != 0}
		args := sqlstore.AuditArgs(nil, &r)
		if _, err := db.writer.ExecContext(ctx, `INSERT INTO audit_log (`+sqlstore.AuditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	db, err = Open(ctx, path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.audit.legacy != 40 {
		t.Fatalf("legacy seq %d, want 40", db.audit.legacy)
	}
	// New records, even seconds (interleaved with the old ones in time),
	// in two appends, the second more than a chunk.
	var recs []store.AuditRecord
	for i := range auditChunkMax + 60 {
		recs = append(recs, store.AuditRecord{Time: base.Add(time.Duration(2*(i%50)) * time.Second), Subject: fmt.Sprint("new", i%3),
			Role: "admin", Organization: "org", Demo: true, Action: "read", ResourceType: "Observation", ID: fmt.Sprint("o", i%17),
			Source: "127.0.0.1:5", Allowed: i%11 != 0, Reason: map[bool]string{true: "", false: "access denied: role"}[i%11 != 0]})
	}
	before := fileSize(t, path) + fileSize(t, path+"-wal")
	if err := db.AppendAudit(ctx, recs[:5]); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendAudit(ctx, recs[5:]); err != nil {
		t.Fatal(err)
	}
	if after := fileSize(t, path) + fileSize(t, path+"-wal"); after != before {
		t.Errorf("the resources' file changed on an audit append: %d -> %d bytes", before, after)
	}
	all := func(q store.AuditQuery) []store.AuditRecord {
		t.Helper()
		var out []store.AuditRecord
		for range 10000 {
			page, next, err := db.ReadAudit(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page...)
			if next == "" {
				return out
			}
			q.Cursor = next
		}
		t.Fatal("endless paging")
		return nil
	}
	got := all(store.AuditQuery{Count: 37})
	if len(got) != 40+len(recs) {
		t.Fatalf("%d records, want %d", len(got), 40+len(recs))
	}
	seen := map[int64]bool{}
	for i, r := range got {
		if seen[r.Seq] {
			t.Fatalf("seq %d twice", r.Seq)
		}
		seen[r.Seq] = true
		if i > 0 && (r.Time.After(got[i-1].Time) || r.Time.Equal(got[i-1].Time) && r.Seq > got[i-1].Seq) {
			t.Fatalf("not newest first at %d", i)
		}
		if r.Subject != "old" && r.Seq <= 40 {
			t.Fatalf("a new record with an old seq: %+v", r)
		}
	}
	// The last record appended round-trips (it has the highest seq).
	want := recs[len(recs)-1]
	var last store.AuditRecord
	for _, r := range got {
		if r.Seq > last.Seq {
			last = r
		}
	}
	want.Seq = last.Seq
	if last != want {
		t.Fatalf("round trip:\n got %+v\nwant %+v", last, want)
	}
	no := false
	for _, c := range []struct {
		q    store.AuditQuery
		keep func(r *store.AuditRecord) bool
	}{
		{store.AuditQuery{Subject: "old"}, func(r *store.AuditRecord) bool { return r.Subject == "old" }},
		{store.AuditQuery{Subject: "new1"}, func(r *store.AuditRecord) bool { return r.Subject == "new1" }},
		{store.AuditQuery{ResourceType: "Patient", ID: "p2"}, func(r *store.AuditRecord) bool { return r.ID == "p2" }},
		{store.AuditQuery{ResourceType: "Observation", ID: "o5"}, func(r *store.AuditRecord) bool { return r.ID == "o5" }},
		{store.AuditQuery{ResourceType: "Observation"}, func(r *store.AuditRecord) bool { return r.ResourceType == "Observation" }},
		{store.AuditQuery{Allowed: &no}, func(r *store.AuditRecord) bool { return !r.Allowed }},
		{store.AuditQuery{Since: base.Add(20 * time.Second), Until: base.Add(41 * time.Second)}, func(r *store.AuditRecord) bool {
			return !r.Time.Before(base.Add(20*time.Second)) && r.Time.Before(base.Add(41*time.Second))
		}},
	} {
		n := 0
		for i := range got {
			if c.keep(&got[i]) {
				n++
			}
		}
		res := all(store.AuditQuery{Since: c.q.Since, Until: c.q.Until, Subject: c.q.Subject, ResourceType: c.q.ResourceType, ID: c.q.ID, Allowed: c.q.Allowed, Count: 13})
		if len(res) != n || n == 0 {
			t.Errorf("%+v: %d records, want %d", c.q, len(res), n)
		}
		for i := range res {
			if !c.keep(&res[i]) {
				t.Errorf("%+v: %+v does not match", c.q, res[i])
			}
		}
	}
	// The audit file is an ordinary SQLite database beside the other.
	raw, err := sql.Open("sqlite", AuditPath(path))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var chunks, n int
	if err := raw.QueryRow(`SELECT count(*), sum(n) FROM audit_chunk`).Scan(&chunks, &n); err != nil || chunks != 3 || n != len(recs) {
		t.Fatalf("audit file: %d chunks of %d records (%v), want 3 of %d", chunks, n, err, len(recs))
	}
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// A damaged chunk is an error, never a panic or a wrong record.
func FuzzDecodeChunk(f *testing.F) {
	var e chunkEncoder
	data, _, _ := e.encode([]store.AuditRecord{
		{Time: time.Now(), Subject: "s", Role: "r", Action: "read", ResourceType: "Patient", ID: "1", Allowed: true},
		{Time: time.Now().Add(-time.Second), Subject: "s", Action: "search", Reason: "denied"},
	})
	f.Add(append([]byte(nil), data...))
	f.Add([]byte{chunkVersion})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := decodeChunk(nil, data, 1)
		if err == nil && len(data) < 4 && len(recs) > 0 {
			t.Fatalf("%d records from %d bytes", len(recs), len(data))
		}
	})
}

// A database whose trail is kept in an audit file refuses to start without
// it (a restore of the resources' file alone, a move that left it behind):
// it must not begin a new, empty trail silently. An empty file in its place
// starts a new trail deliberately.
func TestAuditFileMissingIsAnError(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "m.db")
	db, err := Open(ctx, path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AppendAudit(ctx, []store.AuditRecord{{Time: time.Now(), Subject: "s", Action: "read", ResourceType: "Patient", ID: "p", Allowed: true}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Reopening with the file in place works.
	if db, err = Open(ctx, path, Options{Migrate: true}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, s := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(AuditPath(path) + s); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if db, err := Open(ctx, path, Options{Migrate: true}); err == nil {
		db.Close()
		t.Fatal("opened without its audit file")
	} else if !strings.Contains(err.Error(), AuditPath(path)) {
		t.Fatalf("the error does not name the audit file: %v", err)
	}
	if _, err := os.Stat(AuditPath(path)); !os.IsNotExist(err) {
		t.Fatalf("a failed open left an audit file behind: %v", err)
	}
	if err := os.WriteFile(AuditPath(path), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err = Open(ctx, path, Options{Migrate: true}); err != nil {
		t.Fatalf("with an empty audit file: %v", err)
	}
	recs, _, err := db.ReadAudit(ctx, store.AuditQuery{})
	db.Close()
	if err != nil || len(recs) != 0 {
		t.Fatalf("a new trail: %d records, %v", len(recs), err)
	}
	// The same through a file: URI.
	upath := "file:" + filepath.Join(dir, "u.db")
	if db, err = Open(ctx, upath, Options{Migrate: true}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = Open(ctx, upath, Options{Migrate: true}); err != nil {
		t.Fatalf("reopening %s: %v", upath, err)
	}
	db.Close()
}

// Appends run their INSERTs from statements prepared once on the writer:
// SQLite compiles them on the first append (and again after anything
// expires them), not on every append. The writer connection's authorizer
// sees every compilation.
func TestAuditAppendReusesItsStatements(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// 300 records, 202 distinct keys: a chunk INSERT and key INSERTs of
	// 128 and 74 rows per append.
	recs := make([]store.AuditRecord, 300)
	for i := range recs {
		recs[i] = store.AuditRecord{Time: time.Now(), Subject: "u", Role: "clinician", Action: "read", ResourceType: "Observation", ID: fmt.Sprint("o", i%200), Allowed: true}
	}
	if err := db.AppendAudit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	inserts := 0
	conn, err := db.audit.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Raw(func(dc any) error {
		return dc.(msqlite.AuthorizerRegisterer).RegisterAuthorizer(func(a msqlite.AuthorizerActionCode, _, _, _, _ string) msqlite.AuthorizerReturnCode {
			if a == msqlite.AuthInsert {
				inserts++
			}
			return msqlite.AuthorizerOK
		})
	}); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	// The authorizer expired the prepared statements: compiled once more.
	if err := db.AppendAudit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if inserts == 0 {
		t.Fatal("the authorizer saw no INSERT compiled: the test cannot see compilations")
	}
	before := inserts
	for range 3 {
		if err := db.AppendAudit(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	if n := inserts - before; n != 0 {
		t.Errorf("three appends compiled their INSERTs %d times; want none", n)
	}
	got, _, err := db.ReadAudit(ctx, store.AuditQuery{ResourceType: "Observation", ID: "o7", Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5*2 { // o7 is in records 7 and 207 of each of five appends
		t.Errorf("o7: %d records, want 10", len(got))
	}
}
