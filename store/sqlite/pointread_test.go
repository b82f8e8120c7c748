package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/xietong/xietong/internal/cputime"
	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/storetest"
)

func TestPointReadAfterClose(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Put(ctx, &store.Write{Type: "Patient", ID: "p1", VersionID: 1, LastUpdated: time.Now(), Method: "POST", Body: []byte(`{"resourceType":"Patient","id":"p1"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// Readers in flight while the database closes either finish or are
	// refused; none panics or hangs.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				v, err := db.Read(ctx, "Patient", "p1")
				if err != nil {
					if errors.Is(err, store.ErrNotFound) {
						t.Errorf("read: %v", err)
					}
					return
				}
				if v.VersionID != 1 || v.Method != "POST" || string(v.Body) != `{"resourceType":"Patient","id":"p1"}` {
					t.Errorf("read %+v", v)
					return
				}
			}
		}()
	}
	time.Sleep(time.Millisecond)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if _, err := db.Read(ctx, "Patient", "p1"); err == nil {
		t.Fatal("read after Close succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	db2, err := Open(ctx, filepath.Join(t.TempDir(), "q.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, err := db2.Read(cctx, "Patient", "p1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("read with an ended context: %v, want context.Canceled", err)
	}
}

// BenchmarkPointRead compares, in one run, point reads through the search
// pool and database/sql (how Read ran before decision 016) with the point
// readers, with no writes and with a commit every 250 ms (the audit
// trail's appends of read records: each commit makes every reader drop
// its page cache). cpu-ns/op is this process's CPU per read.
//
//	go test -run XXX -bench PointRead -benchtime 40000x -count 3 ./store/sqlite
func BenchmarkPointRead(b *testing.B) {
	corpus := storetest.Synthea(b, 2000)
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range corpus {
		if err := tx.Put(ctx, &store.Write{Type: r.Type, ID: r.ID, VersionID: 1, LastUpdated: time.Now(), Method: "POST", Body: r.Body, Index: storetest.SyntheticIndex(r)}); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	paths := map[string]func(ctx context.Context, typ, id string) (*store.Version, error){
		"sql-pool": db.read.Read,
		"point":    db.Read,
	}
	for _, commits := range []bool{false, true} {
		for _, name := range []string{"sql-pool", "point"} {
			read := paths[name]
			label := name + "/no-writes"
			if commits {
				label = name + "/commit-every-250ms"
			}
			b.Run(label, func(b *testing.B) {
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() {
					defer close(done)
					if !commits {
						return
					}
					tick := time.NewTicker(250 * time.Millisecond)
					defer tick.Stop()
					// A small write to the resources' file: each commit
					// unmaps the readers' mapping of it. (Audit appends
					// no longer do: they go to a file of their own.)
					n := 0
					commit := func() error {
						n++
						tx, err := db.Begin(ctx)
						if err != nil {
							return err
						}
						id := fmt.Sprint("bench-commit-", n)
						if err := tx.Put(ctx, &store.Write{Type: "Basic", ID: id, VersionID: 1, LastUpdated: time.Now(), Method: "POST", Body: []byte(`{"resourceType":"Basic","id":"` + id + `"}`)}); err != nil {
							tx.Rollback()
							return err
						}
						return tx.Commit()
					}
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
							if err := commit(); err != nil {
								b.Error(err)
							}
						}
					}
				}()
				b.ResetTimer()
				c0 := cputime.Process()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						r := corpus[(i*7919)%len(corpus)]
						i++
						if _, err := read(ctx, r.Type, r.ID); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64((cputime.Process()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
				close(stop)
				<-done
			})
		}
	}
}

// A point reader reuses its snapshot only while nothing was committed: a
// read always sees the writes acknowledged before it, however quickly it
// follows them; a write by another handle on the file (another process) is
// seen once the snapshot's hold has passed; and idle snapshots are ended.
func TestPointReadSnapshots(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(ctx, path, Options{Migrate: true, ReadConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	put := func(db *DB, version int64, active string) {
		t.Helper()
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		body := `{"resourceType":"Patient","id":"p","meta":{"versionId":"` + fmt.Sprint(version) + `"},"active":` + active + `}`
		if err := tx.Put(ctx, &store.Write{Type: "Patient", ID: "p", VersionID: version, LastUpdated: time.Now(), Method: "PUT", Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	read := func(db *DB) int64 {
		t.Helper()
		v, err := db.Read(ctx, "Patient", "p")
		if err != nil {
			t.Fatal(err)
		}
		return v.VersionID
	}
	if _, err := db.Read(ctx, "Patient", "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before any write: %v", err)
	}
	// The not-found read left a snapshot open; the write must still be
	// seen at once, every time.
	for v := int64(1); v <= 50; v++ {
		put(db, v, "true")
		if got := read(db); got != v {
			t.Fatalf("read after write %d: version %d", v, got)
		}
		if got := read(db); got != v {
			t.Fatalf("second read after write %d: version %d", v, got)
		}
	}
	// Another handle's write (as another process's) is seen after the hold.
	other, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	read(db) // a fresh snapshot, held
	put(other, 51, "false")
	deadline := time.Now().Add(10 * time.Second)
	for read(db) != 51 {
		if time.Now().After(deadline) {
			t.Fatal("the other handle's write is never seen")
		}
		time.Sleep(snapshotHold / 2)
	}
	// While a COMMIT is in flight (the generation odd, as tx.go sets it
	// before the COMMIT), a snapshot taken then must not be reused: the
	// COMMIT may land right after it, other connections see its rows, and
	// a search that found them would be followed by a read that did not.
	// The other handle's write stands in for the landing COMMIT.
	db.generation.Add(1)
	before := read(db) // a snapshot taken during the "COMMIT"
	put(other, before+1, "true")
	if got := read(db); got != before+1 {
		t.Fatalf("read after a COMMIT that landed while the generation was odd: version %d, want %d", got, before+1)
	}
	db.generation.Add(1)
	// Idle snapshots are ended.
	deadline = time.Now().Add(10 * time.Second)
	for {
		db.point.mu.Lock()
		open := 0
		for _, c := range db.point.free {
			if c.inTx {
				open++
			}
		}
		db.point.mu.Unlock()
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle snapshots still open", open)
		}
		time.Sleep(snapshotHold)
	}
}

// Under concurrent writers and readers, a read that starts after a write was
// acknowledged (handed over through a channel) sees it or a later version.
func TestPointReadSeesAcknowledgedWritesConcurrently(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"), Options{Migrate: true, ReadConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	type ack struct {
		id string
		v  int64
	}
	acks := make(chan ack, 64)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("p", w)
			for i, v := 0, int64(1); v <= 60; i++ {
				tx, err := db.Begin(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if err := tx.Put(ctx, &store.Write{Type: "Patient", ID: id, VersionID: v, LastUpdated: time.Now(), Method: "PUT", Body: []byte(`{"resourceType":"Patient"}`)}); err != nil {
					t.Error(err)
					tx.Rollback()
					return
				}
				if i%7 == 3 { // a member that rolls back
					tx.Rollback()
					continue
				}
				if err := tx.Commit(); err != nil {
					t.Error(err)
					return
				}
				acks <- ack{id, v}
				v++
			}
		}()
	}
	go func() { wg.Wait(); close(acks) }()
	var rg sync.WaitGroup
	for range 3 {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for a := range acks {
				got, err := db.Read(ctx, "Patient", a.id)
				if err != nil || got.VersionID < a.v {
					t.Errorf("read %s after version %d was acknowledged: %v %v", a.id, a.v, got, err)
				}
				if _, err := db.VRead(ctx, "Patient", a.id, a.v); err != nil {
					t.Errorf("vread %s/%d after it was acknowledged: %v", a.id, a.v, err)
				}
			}
		}()
	}
	rg.Wait()
}

// A point read runs its prepared statements as they are: SQLite never
// parses and plans them again, whatever type and id are bound. (With
// "r.type = ?" the plan depended on the bound type through the partial
// index resource_patient_live, and every read was re-prepared: decision
// 023.)
func TestPointReadIsNotReprepared(t *testing.T) {
	ctx := context.Background()
	var ws []*store.Write
	for _, r := range [][2]string{{"Patient", "p1"}, {"Patient", "p2"}, {"Observation", "o1"}, {"Encounter", "e1"}} {
		body := `{"resourceType":"` + r[0] + `","id":"` + r[1] + `"}`
		ws = append(ws, &store.Write{Type: r[0], ID: r[1], VersionID: 1, LastUpdated: time.Now(), Method: "PUT", Body: []byte(body)})
	}
	db := pointDB(t, 2, ws...)
	for range 10 {
		for _, r := range [][2]string{{"Patient", "p1"}, {"Observation", "o1"}, {"Patient", "p2"}, {"Encounter", "e1"}, {"Observation", "nope"}, {"Patient", "nope"}} {
			_, err := db.Read(ctx, r[0], r[1])
			if want := r[1] != "nope"; (err == nil) != want {
				t.Fatalf("read %s/%s: %v", r[0], r[1], err)
			}
			_, err = db.VRead(ctx, r[0], r[1], 1)
			if want := r[1] != "nope"; (err == nil) != want {
				t.Fatalf("vread %s/%s: %v", r[0], r[1], err)
			}
		}
	}
	runs := 0
	// Under the pool's lock: the idle release may be ending a snapshot on
	// one of these handles, which SQLite does not lock itself.
	db.point.mu.Lock()
	defer db.point.mu.Unlock()
	for _, c := range db.point.all {
		for i, st := range c.stmts {
			runs += int(sqlite3.Xsqlite3_stmt_status(c.tls, st, sqlite3.SQLITE_STMTSTATUS_RUN, 0))
			if n := sqlite3.Xsqlite3_stmt_status(c.tls, st, sqlite3.SQLITE_STMTSTATUS_REPREPARE, 0); n != 0 {
				t.Errorf("statement %d (%s) was prepared again %d times", i, libc.GoString(sqlite3.Xsqlite3_sql(c.tls, st)), n)
			}
		}
	}
	if runs < 120 {
		t.Errorf("the statements ran %d times, want at least 120: the test did not see the reads", runs)
	}
}

// Values too long for a point reader's own C memory are bound as copies:
// such an id is read like any other, and an unknown one is not found.
func TestPointReadLongValues(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("x", pointArgSize+10)
	body := `{"resourceType":"Basic","id":"` + long + `"}`
	var ws []*store.Write
	for _, id := range []string{long, "short"} {
		ws = append(ws, &store.Write{Type: "Basic", ID: id, VersionID: 1, LastUpdated: time.Now(), Method: "PUT", Body: []byte(body)})
	}
	db := pointDB(t, 1, ws...)
	for range 3 { // long and short in turn: each binding replaces the other
		for _, id := range []string{long, "short"} {
			v, err := db.Read(ctx, "Basic", id)
			if err != nil || v.ID != id || string(v.Body) != body || v.Method != "PUT" || v.VersionID != 1 {
				t.Fatalf("read %.20s...: %+v %v", id, v, err)
			}
			if _, err := db.VRead(ctx, "Basic", id, 1); err != nil {
				t.Fatalf("vread %.20s...: %v", id, err)
			}
		}
		if _, err := db.Read(ctx, "Basic", long+"y"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("read of an unknown long id: %v", err)
		}
	}
}

// pointDB opens a migrated database with conns point readers and stores
// ws in one transaction; it is closed when the test ends.
func pointDB(t *testing.T, conns int, ws ...*store.Write) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{Migrate: true, ReadConns: conns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if err := tx.Put(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return db
}

// A point reader that cannot be opened (no such file, no schema) is an
// error of Open, not a panic: the cleanup of a half-opened handle closed
// a nil one (found by the session-5 review).
func TestPointReadersOpenFailure(t *testing.T) {
	if _, err := openPointReaders(filepath.Join(t.TempDir(), "nope", "x.db")+"?_query_only=1", 1, func() int64 { return 0 }); err == nil {
		t.Error("point readers opened on a missing file")
	}
	p := filepath.Join(t.TempDir(), "empty.db")
	d, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec("CREATE TABLE x(a)"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := openPointReaders(p+"?_query_only=1", 1, func() int64 { return 0 }); err == nil {
		t.Error("point readers opened on a file without the schema")
	}
}
