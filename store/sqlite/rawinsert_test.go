package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/xietong/xietong/store"
)

// The inserts on the writer's handle store every value as database/sql
// and the driver did: integers as INTEGER, float64 as REAL, a string as
// TEXT however short (an empty one too, never NULL), a nil []byte as NULL
// and an empty one as a zero-length BLOB, bytes kept exactly.
func TestRawInsertsStoreValuesAsTheDriverDid(t *testing.T) {
	ctx := context.Background()
	db := openGroupTest(t)
	odd := "a\x00b 中文 é" // a NUL inside, multi-byte characters
	w := patient("p", 1)
	w.Body = []byte{} // not nil: an empty body is a zero-length blob
	w.Index = store.Index{
		Tokens:     []store.TokenEntry{{Param: "identifier", System: "", Code: odd, Text: ""}},
		Dates:      []store.DateEntry{{Param: "birthdate", Low: -1, High: 1<<53 + 1}},
		Quantities: []store.QuantityEntry{{Param: "q", Low: 1.5, High: 2.5}, {Param: "q", Low: 1, High: 1, CanonicalCode: "g", CanonicalLow: 0.001, CanonicalHigh: 0.001}},
	}
	tx1, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx1.Put(ctx, w); err != nil {
		t.Fatal(err)
	}
	// A deletion: its version's body is NULL.
	if err := tx1.Put(ctx, patient("gone", 1)); err != nil {
		t.Fatal(err)
	}
	if err := tx1.Put(ctx, &store.Write{Type: "Patient", ID: "gone", VersionID: 2, LastUpdated: time.Unix(1700000001, 0), Method: "DELETE", Delete: true}); err != nil {
		t.Fatal(err)
	}
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	one := func(q string, dst ...any) {
		t.Helper()
		if err := db.reader.QueryRow(q).Scan(dst...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var ty1, ty2 string
	var n1, n2 int
	one(`SELECT typeof(body), length(body) FROM resource_version WHERE id = 'p' AND version = 1`, &ty1, &n1)
	one(`SELECT typeof(body), coalesce(length(body), -1) FROM resource_version WHERE id = 'gone' AND version = 2`, &ty2, &n2)
	if ty1 != "blob" || n1 != 0 || ty2 != "null" {
		t.Errorf("bodies: version 1 %s of %d bytes (want a zero-length blob), version 2 %s (want null)", ty1, n1, ty2)
	}
	var sys, text, code, tySys, tyText, tyCode, tyRid, tySeq string
	one(`SELECT system, text, code, typeof(system), typeof(text), typeof(code), typeof(rid), typeof(seq) FROM idx_token WHERE param = 'identifier'`,
		&sys, &text, &code, &tySys, &tyText, &tyCode, &tyRid, &tySeq)
	if sys != "" || text != "" || code != odd || tySys != "text" || tyText != "text" || tyCode != "text" || tyRid != "integer" || tySeq != "integer" {
		t.Errorf("token entry: system %q (%s), text %q (%s), code %q (%s), rid %s, seq %s", sys, tySys, text, tyText, code, tyCode, tyRid, tySeq)
	}
	var lo, hi int64
	var tyLo string
	one(`SELECT low, high, typeof(low) FROM idx_date`, &lo, &hi, &tyLo)
	if lo != -1 || hi != 1<<53+1 || tyLo != "integer" {
		t.Errorf("date entry: %d..%d (%s)", lo, hi, tyLo)
	}
	rows, err := db.reader.Query(`SELECT low, typeof(low), typeof(canonical_code), typeof(canonical_low), coalesce(canonical_low, -1) FROM idx_quantity ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var low, cl float64
		var a, b, c string
		if err := rows.Scan(&low, &a, &b, &c, &cl); err != nil {
			t.Fatal(err)
		}
		got = append(got, a+" "+b+" "+c)
		if low != 1.5 && low != 1 || c == "real" && cl != 0.001 {
			t.Errorf("quantity entry: low %v, canonical low %v", low, cl)
		}
	}
	if len(got) != 2 || got[0] != "real text null" || got[1] != "real text real" {
		t.Errorf("quantity entries' types: %q, want [real text null, real text real]", got)
	}
}

// An INSERT on the writer's handle outside a transaction would commit on
// its own; it is refused and writes nothing (the shared transaction can
// end under a member: OR ROLLBACK, Close).
func TestRawInsertOutsideATransactionIsRefused(t *testing.T) {
	db := openGroupTest(t)
	ti := -1
	for i, table := range bufferedTables {
		if table == "idx_uri" {
			ti = i
		}
	}
	ci := len(chunks) - 1 // one row
	if chunks[ci] != 1 {
		t.Fatalf("the last chunk size is %d, want 1", chunks[ci])
	}
	err := db.raw.insert(ti, ci, []val{vInt(99), vInt(0), vText("url"), vText("http://x")})
	if err == nil {
		t.Error("an insert with no transaction open succeeded")
	}
	var n int
	if err := db.reader.QueryRow(`SELECT count(*) FROM idx_uri`).Scan(&n); err != nil || n != 0 {
		t.Errorf("idx_uri rows after the refused insert: %d, %v", n, err)
	}
}

// A member still writing when the store closes fails at Commit and leaves
// nothing: its inserts stop with the store instead of running on a
// connection whose transaction was rolled back (or which is closed).
func TestMemberWritingAfterCloseFailsAndLeavesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := Open(ctx, path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, patient("late", 1)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(); err == nil {
		t.Fatal("Commit after Close succeeded")
	}
	db2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, err := db2.Read(ctx, "Patient", "late"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Patient/late after Close: %v, want ErrNotFound", err)
	}
	var n int
	if err := db2.reader.QueryRow(`SELECT count(*) FROM idx_token`).Scan(&n); err != nil || n != 0 {
		t.Errorf("token entries after Close: %d, %v", n, err)
	}
}

// A duplicate that only the unique index can see, found when an update
// flushes the pending rows, is a conflict for the Put that flushed: the
// error of the insert on the writer's handle carries SQLite's extended
// code as the driver's did.
func TestRawInsertUniqueViolationIsAConflict(t *testing.T) {
	ctx := context.Background()
	db := openGroupTest(t)
	setup, _ := db.Begin(ctx)
	for _, id := range []string{"a", "old"} {
		if err := setup.Put(ctx, patient(id, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := setup.Commit(); err != nil {
		t.Fatal(err)
	}
	b, _ := db.Begin(ctx)
	if err := b.(*tx).PutFresh(ctx, patient("a", 1)); err != nil {
		t.Fatal(err)
	}
	// The update flushes the pending rows first: Patient/a's current row
	// hits the unique index.
	if err := b.Put(ctx, patient("old", 2)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Put whose flush hit the unique index: %v, want ErrConflict", err)
	}
	b.Rollback()
	if v, err := db.Read(ctx, "Patient", "old"); err != nil || v.VersionID != 1 {
		t.Errorf("Patient/old after the failed transaction: %v, %+v", err, v)
	}
}
