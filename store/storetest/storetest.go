// Package storetest is the conformance suite every store.Store
// implementation passes: the same tests, run by store/sqlite and
// store/postgres against a fresh database each. A behaviour is part of the
// store contract when it is tested here.
//
// It depends only on store and the standard library.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/xietong/xietong/store"
)

// Run runs the suite. open returns a new, empty store for one subtest and
// arranges its cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateReadUpdateDelete", testCRUD},
		{"NotFound", testNotFound},
		{"BodyBytesKept", testBodyBytes},
		{"VersionConflict", testConflict},
		{"ConcurrentConflictOneWins", testConcurrentConflict},
		{"RollbackLeavesNothing", testRollback},
		{"TxSeesOwnWrites", testTxOwnWrites},
		{"History", testHistory},
		{"HistoryPagingStableUnderWrites", testHistoryPaging},
		{"Search", testSearch},
		{"SearchSortAndPaging", testSearchPaging},
		{"SearchIncludes", testIncludes},
		{"SearchErrors", testSearchErrors},
		{"IndexReplacedOnUpdate", testIndexReplacement},
		{"ManyWritesInOneTx", testManyWritesInOneTx},
		{"Concurrency", testConcurrency},
		{"Timeout", testTimeout},
		{"CloseRollsBackOpenTx", testCloseRollsBack},
		{"AuditLog", testAudit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

var base = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// at is base plus n minutes: distinct, ordered LastUpdated values.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

func body(typ, id string, v int64) []byte {
	return fmt.Appendf(nil, `{"resourceType":%q,"id":%q,"meta":{"versionId":"%d"}}`, typ, id, v)
}

func write(typ, id string, v int64, when time.Time, idx store.Index) *store.Write {
	method := "PUT"
	if v == 1 {
		method = "POST"
	}
	return &store.Write{Type: typ, ID: id, VersionID: v, LastUpdated: when, Method: method, Body: body(typ, id, v), Index: idx}
}

func deletion(typ, id string, v int64, when time.Time) *store.Write {
	return &store.Write{Type: typ, ID: id, VersionID: v, LastUpdated: when, Method: "DELETE", Delete: true}
}

// MustPut writes ws in one transaction and commits it.
func MustPut(t testing.TB, s store.Store, ws ...*store.Write) {
	t.Helper()
	if err := put(s, ws...); err != nil {
		t.Fatalf("put: %v", err)
	}
}

func put(s store.Store, ws ...*store.Write) error {
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, w := range ws {
		if err := tx.Put(ctx, w); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func mustRead(t *testing.T, r store.Reader, typ, id string) *store.Version {
	t.Helper()
	v, err := r.Read(context.Background(), typ, id)
	if err != nil {
		t.Fatalf("Read %s/%s: %v", typ, id, err)
	}
	return v
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func testCRUD(t *testing.T, s store.Store) {
	ctx := context.Background()
	MustPut(t, s, write("Patient", "a", 1, at(1), store.Index{}))
	v := mustRead(t, s, "Patient", "a")
	if v.VersionID != 1 || v.Method != "POST" || v.Deleted || !v.LastUpdated.Equal(at(1)) || v.LastUpdated.Location() != time.UTC {
		t.Fatalf("read v1 = %+v", v)
	}
	MustPut(t, s, write("Patient", "a", 2, at(2), store.Index{}))
	if v := mustRead(t, s, "Patient", "a"); v.VersionID != 2 || string(v.Body) != string(body("Patient", "a", 2)) {
		t.Fatalf("read after update = %+v", v)
	}
	v1, err := s.VRead(ctx, "Patient", "a", 1)
	if err != nil || v1.VersionID != 1 || string(v1.Body) != string(body("Patient", "a", 1)) {
		t.Fatalf("vread 1 = %+v, %v", v1, err)
	}
	MustPut(t, s, deletion("Patient", "a", 3, at(3)))
	v, err = s.Read(ctx, "Patient", "a")
	wantErr(t, err, store.ErrGone)
	if v == nil || !v.Deleted || v.VersionID != 3 || v.Method != "DELETE" || v.Body != nil {
		t.Fatalf("read deleted = %+v", v)
	}
	_, err = s.VRead(ctx, "Patient", "a", 3)
	wantErr(t, err, store.ErrGone)
	if v, err := s.VRead(ctx, "Patient", "a", 2); err != nil || v.VersionID != 2 {
		t.Fatalf("vread 2 after delete = %+v, %v", v, err)
	}
	// Re-create after delete continues the version sequence.
	MustPut(t, s, write("Patient", "a", 4, at(4), store.Index{}))
	if v := mustRead(t, s, "Patient", "a"); v.VersionID != 4 || v.Deleted {
		t.Fatalf("read re-created = %+v", v)
	}
	h, err := s.History(ctx, store.HistoryQuery{Type: "Patient", ID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(h.Versions); !slices.Equal(got, []int64{4, 3, 2, 1}) || h.Total != 4 || h.NextCursor != "" {
		t.Fatalf("history = %v total %d next %q", got, h.Total, h.NextCursor)
	}
	if !h.Versions[1].Deleted || h.Versions[1].Method != "DELETE" {
		t.Fatalf("history keeps the deletion: %+v", h.Versions[1])
	}
}

func versions(vs []*store.Version) []int64 {
	var out []int64
	for _, v := range vs {
		out = append(out, v.VersionID)
	}
	return out
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.Read(ctx, "Patient", "nope")
	wantErr(t, err, store.ErrNotFound)
	MustPut(t, s, write("Patient", "a", 1, at(1), store.Index{}))
	_, err = s.VRead(ctx, "Patient", "a", 2)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.Read(ctx, "Observation", "a")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.History(ctx, store.HistoryQuery{Type: "Patient", ID: "nope"})
	wantErr(t, err, store.ErrNotFound)
}

func testBodyBytes(t *testing.T, s store.Store) {
	// Not canonical JSON on purpose: the store keeps bytes, not values.
	raw := []byte("{ \"resourceType\" : \"Patient\",\n\t\"id\":\"b\", \"name\":[{\"text\":\"张三 \\u00e9\"}],\"x\":1.50 }")
	w := write("Patient", "b", 1, at(1), store.Index{})
	w.Body = raw
	MustPut(t, s, w)
	if v := mustRead(t, s, "Patient", "b"); string(v.Body) != string(raw) {
		t.Fatalf("body changed:\n got %q\nwant %q", v.Body, raw)
	}
}

func testConflict(t *testing.T, s store.Store) {
	MustPut(t, s, write("Patient", "a", 1, at(1), store.Index{}))
	for _, w := range []*store.Write{
		write("Patient", "a", 1, at(2), store.Index{}),   // create again
		write("Patient", "a", 3, at(2), store.Index{}),   // skips 2
		write("Patient", "new", 2, at(2), store.Index{}), // never existed
		deletion("Patient", "a", 1, at(2)),
	} {
		wantErr(t, put(s, w), store.ErrConflict)
	}
	if v := mustRead(t, s, "Patient", "a"); v.VersionID != 1 {
		t.Fatalf("a conflict changed the resource: %+v", v)
	}
	_, err := s.Read(context.Background(), "Patient", "new")
	wantErr(t, err, store.ErrNotFound)
}

// testConcurrentConflict: many transactions write version 2 of the same
// resource at once (and version 1 of a new one); exactly one of each wins.
func testConcurrentConflict(t *testing.T, s store.Store) {
	MustPut(t, s, write("Patient", "a", 1, at(1), store.Index{}))
	const n = 8
	for _, target := range []struct {
		id string
		v  int64
	}{{"a", 2}, {"fresh", 1}} {
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				w := write("Patient", target.id, target.v, at(10+i), store.Index{
					Tokens: []store.TokenEntry{{Param: "identifier", System: "urn:w", Code: fmt.Sprint(i)}},
				})
				errs[i] = put(s, w)
			}(i)
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrConflict):
			default:
				t.Fatalf("%s: unexpected error %v", target.id, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%s: %d writers won, want exactly 1 (%v)", target.id, wins, errs)
		}
		if v := mustRead(t, s, "Patient", target.id); v.VersionID != target.v {
			t.Fatalf("%s: version %d", target.id, v.VersionID)
		}
	}
	// The winner's index entries, and only those, are in place.
	res := search(t, s, &store.Query{Types: []string{"Patient"}, Where: []store.Clause{{{Param: "identifier", Type: store.TypeToken, AnySystem: true, System: "urn:w"}}}})
	if res.Total != 2 {
		t.Fatalf("index entries after the race: total %d, want 2", res.Total)
	}
}

func testRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	MustPut(t, s, write("Patient", "a", 1, at(1), store.Index{}))
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	idx := store.Index{Tokens: []store.TokenEntry{{Param: "gender", System: "s", Code: "male"}}}
	if err := tx.Put(ctx, write("Patient", "b", 1, at(2), idx)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Put(ctx, write("Patient", "a", 2, at(2), idx)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	_, err = s.Read(ctx, "Patient", "b")
	wantErr(t, err, store.ErrNotFound)
	if v := mustRead(t, s, "Patient", "a"); v.VersionID != 1 {
		t.Fatalf("rolled-back update visible: %+v", v)
	}
	h, err := s.History(ctx, store.HistoryQuery{})
	if err != nil || h.Total != 1 {
		t.Fatalf("history after rollback: total %v, %v", h, err)
	}
	if res := search(t, s, &store.Query{Where: []store.Clause{{{Param: "gender", Type: store.TypeToken, Code: "male", AnySystem: true}}}}); res.Total != 0 {
		t.Fatalf("rolled-back index entries found: %d", res.Total)
	}
	// The resource can still be created afterwards: nothing was reserved.
	MustPut(t, s, write("Patient", "b", 1, at(3), store.Index{}))
	// A failed Put inside a transaction does not poison the others.
	tx, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	wantErr(t, tx.Put(ctx, write("Patient", "b", 1, at(4), store.Index{})), store.ErrConflict)
	if err := tx.Put(ctx, write("Patient", "c", 1, at(4), store.Index{})); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	mustRead(t, s, "Patient", "c")
}

func testTxOwnWrites(t *testing.T, s store.Store) {
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	idx := store.Index{Strings: []store.StringEntry{{Param: "name", Norm: "own", Exact: "Own"}}}
	if err := tx.Put(ctx, write("Patient", "a", 1, at(1), idx)); err != nil {
		t.Fatal(err)
	}
	if v := mustRead(t, tx, "Patient", "a"); v.VersionID != 1 {
		t.Fatalf("tx read: %+v", v)
	}
	if err := tx.Put(ctx, write("Patient", "a", 2, at(2), idx)); err != nil {
		t.Fatal(err)
	}
	if v, err := tx.VRead(ctx, "Patient", "a", 2); err != nil || v.VersionID != 2 {
		t.Fatalf("tx vread: %+v %v", v, err)
	}
	res, err := tx.Search(ctx, &store.Query{Types: []string{"Patient"}, Where: []store.Clause{{{Param: "name", Type: store.TypeString, String: "ow"}}}})
	if err != nil || len(res.Matches) != 1 || res.Matches[0].VersionID != 2 {
		t.Fatalf("tx search: %+v %v", res, err)
	}
	h, err := tx.History(ctx, store.HistoryQuery{Type: "Patient", ID: "a"})
	if err != nil || h.Total != 2 {
		t.Fatalf("tx history: %+v %v", h, err)
	}
	// Not visible outside before Commit.
	_, err = s.Read(ctx, "Patient", "a")
	wantErr(t, err, store.ErrNotFound)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if v := mustRead(t, s, "Patient", "a"); v.VersionID != 2 {
		t.Fatalf("after commit: %+v", v)
	}
}

func testHistory(t *testing.T, s store.Store) {
	ctx := context.Background()
	MustPut(t, s, write("Patient", "a", 1, at(1), store.Index{}))
	MustPut(t, s, write("Observation", "o", 1, at(2), store.Index{}))
	MustPut(t, s, write("Patient", "a", 2, at(3), store.Index{}), write("Patient", "b", 1, at(3), store.Index{}))
	MustPut(t, s, deletion("Patient", "b", 2, at(4)))
	MustPut(t, s, write("Patient", "a", 3, at(5), store.Index{}))
	type hv struct {
		id string
		v  int64
	}
	get := func(q store.HistoryQuery) []hv {
		t.Helper()
		h, err := s.History(ctx, q)
		if err != nil {
			t.Fatalf("history %+v: %v", q, err)
		}
		var out []hv
		for _, v := range h.Versions {
			out = append(out, hv{v.ID, v.VersionID})
		}
		if h.Total != len(out) {
			t.Fatalf("history %+v: total %d for %d versions", q, h.Total, len(out))
		}
		return out
	}
	cases := []struct {
		name string
		q    store.HistoryQuery
		want []hv
	}{
		{"system", store.HistoryQuery{}, []hv{{"a", 3}, {"b", 2}, {"b", 1}, {"a", 2}, {"o", 1}, {"a", 1}}},
		{"type", store.HistoryQuery{Type: "Patient"}, []hv{{"a", 3}, {"b", 2}, {"b", 1}, {"a", 2}, {"a", 1}}},
		{"resource", store.HistoryQuery{Type: "Patient", ID: "a"}, []hv{{"a", 3}, {"a", 2}, {"a", 1}}},
		{"since", store.HistoryQuery{Since: at(3)}, []hv{{"a", 3}, {"b", 2}, {"b", 1}, {"a", 2}}},
		{"since resource", store.HistoryQuery{Type: "Patient", ID: "a", Since: at(4)}, []hv{{"a", 3}}},
		{"since nothing", store.HistoryQuery{Type: "Patient", ID: "a", Since: at(9)}, nil},
		// _at: the versions current at that instant.
		{"at", store.HistoryQuery{Type: "Patient", At: at(3)}, []hv{{"b", 1}, {"a", 2}}},
		{"at 4", store.HistoryQuery{At: at(4)}, []hv{{"b", 2}, {"a", 2}, {"o", 1}}},
	}
	for _, c := range cases {
		if got := get(c.q); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	_, err := s.History(ctx, store.HistoryQuery{Cursor: "garbage!"})
	wantErr(t, err, store.ErrInvalid)
}

func testHistoryPaging(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := 1; i <= 7; i++ {
		MustPut(t, s, write("Patient", fmt.Sprint("p", i), 1, at(i), store.Index{}))
	}
	var seen []string
	q := store.HistoryQuery{Type: "Patient", Count: 3}
	for page := 0; ; page++ {
		h, err := s.History(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if page == 0 && h.Total != 7 {
			t.Fatalf("total %d", h.Total)
		}
		for _, v := range h.Versions {
			seen = append(seen, v.ID)
		}
		if page == 0 {
			// New versions written between pages must neither shift the
			// following pages nor appear in them.
			MustPut(t, s, write("Patient", "late", 1, at(20), store.Index{}), write("Patient", "p7", 2, at(20), store.Index{}))
		}
		if h.NextCursor == "" {
			break
		}
		if len(h.Versions) != 3 {
			t.Fatalf("page %d has %d versions", page, len(h.Versions))
		}
		q.Cursor = h.NextCursor
	}
	want := []string{"p7", "p6", "p5", "p4", "p3", "p2", "p1"}
	if !slices.Equal(seen, want) {
		t.Fatalf("paged history = %v, want %v", seen, want)
	}
}

// ---- search ----

func search(t *testing.T, r store.Reader, q *store.Query) *store.SearchResult {
	t.Helper()
	res, err := r.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	return res
}

func ids(vs []*store.Version) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.ID)
	}
	return out
}

func sortedIDs(vs []*store.Version) []string {
	out := ids(vs)
	sort.Strings(out)
	return out
}

// micros of a UTC instant.
func us(y int, m time.Month, d, h, min int) int64 {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC).UnixMicro()
}

// day, month and year ranges as the search package produces them.
func dayRange(y int, m time.Month, d int) (int64, int64) {
	lo := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return lo.UnixMicro(), lo.AddDate(0, 0, 1).UnixMicro() - 1
}

func monthRange(y int, m time.Month) (int64, int64) {
	lo := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	return lo.UnixMicro(), lo.AddDate(0, 1, 0).UnixMicro() - 1
}

func yearRange(y int) (int64, int64) {
	lo := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	return lo.UnixMicro(), lo.AddDate(1, 0, 0).UnixMicro() - 1
}

const (
	genderSys = "http://hl7.org/fhir/administrative-gender"
	loinc     = "http://loinc.org"
	ucum      = "http://unitsofmeasure.org"
)

func dateEntry(param string, lo, hi int64) store.DateEntry {
	return store.DateEntry{Param: param, Low: lo, High: hi}
}

// loadFixture writes four patients and five observations.
func loadFixture(t *testing.T, s store.Store) {
	t.Helper()
	d1l, d1h := dayRange(1980, 5, 1)
	y2l, y2h := yearRange(1990)
	d4l, d4h := dayRange(2000, 1, 1)
	pat := func(id string, n int, name, exact, genderSystem, gender string, dates ...store.DateEntry) *store.Write {
		idx := store.Index{
			Strings: []store.StringEntry{{Param: "name", Norm: name, Exact: exact}},
			Tokens:  []store.TokenEntry{{Param: "gender", System: genderSystem, Code: gender}},
			Dates:   dates,
		}
		return write("Patient", id, 1, at(n), idx)
	}
	glucose := store.TokenEntry{Param: "code", System: loinc, Code: "1234-5", Text: "Glucose [Mass/volume] in Blood"}
	obs := func(id string, n int, idx store.Index) *store.Write { return write("Observation", id, 1, at(n), idx) }
	MustPut(t, s,
		pat("p1", 1, "zhang san", "Zhang San", genderSys, "male", dateEntry("birthdate", d1l, d1h)),
		pat("p2", 2, "li si", "Li Si", genderSys, "female", dateEntry("birthdate", y2l, y2h)),
		pat("p3", 3, "zhao liu", "Zhao Liu", genderSys, "male"),
		pat("p4", 4, "wang wu", "Wang Wu", "", "unknown", dateEntry("birthdate", d4l, d4h)),
	)
	MustPut(t, s,
		obs("o1", 5, store.Index{
			Tokens:     []store.TokenEntry{glucose},
			References: []store.ReferenceEntry{{Param: "subject", TargetType: "Patient", TargetID: "p1"}},
			Quantities: []store.QuantityEntry{{Param: "value-quantity", System: ucum, Code: "mg", Low: 5.35, High: 5.45, CanonicalCode: "g", CanonicalLow: 0.00535, CanonicalHigh: 0.00545}},
			Numbers:    []store.NumberEntry{{Param: "probability", Value: 3, Low: 2.5, High: 3.5}},
			Dates:      []store.DateEntry{dateEntry("date", us(2024, 3, 1, 10, 0), us(2024, 3, 1, 10, 0))},
		}),
		obs("o2", 6, store.Index{
			Tokens:     []store.TokenEntry{glucose},
			References: []store.ReferenceEntry{{Param: "subject", TargetType: "Patient", TargetID: "p2"}},
			Quantities: []store.QuantityEntry{{Param: "value-quantity", System: ucum, Code: "mg", Low: 9.5, High: 10.5, CanonicalCode: "g", CanonicalLow: 0.0095, CanonicalHigh: 0.0105}},
			Numbers:    []store.NumberEntry{{Param: "probability", Value: 100, Low: 99.5, High: 100.5}},
			Dates:      []store.DateEntry{dateEntry("date", us(2024, 3, 15, 8, 30), us(2024, 3, 15, 8, 30))},
		}),
		obs("o3", 7, store.Index{
			Tokens:     []store.TokenEntry{{Param: "code", System: "http://snomed.info/sct", Code: "999", Text: "Something else"}},
			References: []store.ReferenceEntry{{Param: "subject", TargetType: "Patient", TargetID: "p1"}},
			Dates:      []store.DateEntry{dateEntry("date", us(2023, 12, 31, 23, 0), us(2023, 12, 31, 23, 0))},
		}),
		obs("o4", 8, store.Index{
			Tokens:     []store.TokenEntry{{Param: "code", System: loinc, Code: "5678-9"}},
			References: []store.ReferenceEntry{{Param: "subject", URL: "http://other.example/fhir/Patient/x"}},
		}),
		obs("o5", 9, store.Index{
			Tokens:     []store.TokenEntry{glucose},
			References: []store.ReferenceEntry{{Param: "subject", TargetType: "Patient", TargetID: "p3"}},
			URIs:       []store.URIEntry{{Param: "instantiates", URI: "http://example.org/q"}},
		}),
	)
}

func boolp(b bool) *bool { return &b }

// P builds a one-predicate clause list quickly in tables.
func where(ps ...store.Predicate) []store.Clause {
	var cs []store.Clause
	for _, p := range ps {
		cs = append(cs, store.Clause{p})
	}
	return cs
}

func date(param string, p store.Prefix, lo, hi int64) store.Predicate {
	return store.Predicate{Param: param, Type: store.TypeDate, Prefix: p, DateLow: lo, DateHigh: hi}
}

func qty(p store.Prefix, lo, hi float64) store.Predicate {
	return store.Predicate{Param: "value-quantity", Type: store.TypeQuantity, Prefix: p, NumLow: lo, NumHigh: hi}
}

func testSearch(t *testing.T, s store.Store) {
	loadFixture(t, s)
	pats, obsT := []string{"Patient"}, []string{"Observation"}
	d1l, d1h := dayRange(1980, 5, 1)
	m1l, m1h := monthRange(1980, 5)
	y85l, y85h := yearRange(1985)
	y90l, y90h := yearRange(1990)
	d90l, d90h := dayRange(1990, 6, 1)
	gender := func(sys, code string, any bool) store.Predicate {
		return store.Predicate{Param: "gender", Type: store.TypeToken, System: sys, Code: code, AnySystem: any}
	}
	name := func(v string, m store.StringMatch) store.Predicate {
		return store.Predicate{Param: "name", Type: store.TypeString, String: v, Match: m}
	}
	subject := func(typ, id, url string) store.Predicate {
		return store.Predicate{Param: "subject", Type: store.TypeReference, TargetType: typ, TargetID: id, URL: url}
	}
	not := func(p store.Predicate) store.Predicate { p.Not = true; return p }
	missing := func(p store.Predicate, m bool) store.Predicate { p.Missing = boolp(m); return p }
	canon := qty(store.PrefixEq, 0.0053, 0.0055)
	canon.Canonical, canon.Code = true, "g"
	withUnit := func(p store.Predicate, sys, code string) store.Predicate { p.System, p.Code = sys, code; return p }
	num := func(p store.Prefix, lo, hi float64) store.Predicate {
		return store.Predicate{Param: "probability", Type: store.TypeNumber, Prefix: p, NumLow: lo, NumHigh: hi}
	}

	cases := []struct {
		name  string
		types []string
		where []store.Clause
		want  []string
	}{
		{"all patients", pats, nil, []string{"p1", "p2", "p3", "p4"}},
		{"system search, all types", nil, nil, []string{"o1", "o2", "o3", "o4", "o5", "p1", "p2", "p3", "p4"}},
		{"several types", []string{"Patient", "Observation"}, where(store.Predicate{Param: store.ParamID, Type: store.TypeToken, Code: "p1"}), []string{"p1"}},
		{"_id", pats, where(store.Predicate{Param: store.ParamID, Type: store.TypeToken, Code: "p2"}), []string{"p2"}},
		{"_id OR", pats, []store.Clause{{{Param: store.ParamID, Type: store.TypeToken, Code: "p2"}, {Param: store.ParamID, Type: store.TypeToken, Code: "p3"}}}, []string{"p2", "p3"}},
		{"_id:not", pats, where(store.Predicate{Param: store.ParamID, Type: store.TypeToken, Code: "p2", Not: true}), []string{"p1", "p3", "p4"}},
		{"_lastUpdated ge", nil, where(date(store.ParamLastUpdated, store.PrefixGe, at(8).UnixMicro(), at(8).UnixMicro()+59_999_999)), []string{"o4", "o5"}},
		{"_lastUpdated lt", nil, where(date(store.ParamLastUpdated, store.PrefixLt, at(2).UnixMicro(), at(2).UnixMicro())), []string{"p1"}},
		{"_lastUpdated eq minute", nil, where(date(store.ParamLastUpdated, store.PrefixEq, at(3).UnixMicro(), at(4).UnixMicro()-1)), []string{"p3"}},

		{"token code any system", pats, where(gender("", "male", true)), []string{"p1", "p3"}},
		{"token system|code", pats, where(gender(genderSys, "male", false)), []string{"p1", "p3"}},
		{"token |code (no system)", pats, where(gender("", "unknown", false)), []string{"p4"}},
		{"token |code does not match a system", pats, where(gender("", "male", false)), nil},
		{"token system|", pats, where(gender(genderSys, "", false)), []string{"p1", "p2", "p3"}},
		{"token wrong system", pats, where(gender("urn:other", "male", false)), nil},
		{"token :not", pats, where(not(gender("", "male", true))), []string{"p2", "p4"}},
		{"token :not system|code", pats, where(not(gender(genderSys, "female", false))), []string{"p1", "p3", "p4"}},
		{"token OR", pats, []store.Clause{{gender("", "male", true), gender("", "female", true)}}, []string{"p1", "p2", "p3"}},
		{"token :text", obsT, where(store.Predicate{Param: "code", Type: store.TypeToken, TextSearch: true, String: "gluc"}), []string{"o1", "o2", "o5"}},
		{"token :text word", obsT, where(store.Predicate{Param: "code", Type: store.TypeToken, TextSearch: true, String: "blood"}), []string{"o1", "o2", "o5"}},

		{"string starts-with", pats, where(name("zh", store.StringStartsWith)), []string{"p1", "p3"}},
		{"string starts-with word", pats, where(name("zhang", store.StringStartsWith)), []string{"p1"}},
		{"string starts-with not inside", pats, where(name("san", store.StringStartsWith)), nil},
		{"string :exact", pats, where(name("Zhang San", store.StringExact)), []string{"p1"}},
		{"string :exact is case-sensitive", pats, where(name("zhang san", store.StringExact)), nil},
		{"string :contains", pats, where(name("an", store.StringContains)), []string{"p1", "p4"}},
		{"string :contains LIKE metacharacters are literal", pats, where(name("%", store.StringContains)), nil},
		{"string :contains underscore literal", pats, where(name("_", store.StringContains)), nil},
		{"AND across clauses", pats, where(gender("", "male", true), name("zhang", store.StringStartsWith)), []string{"p1"}},
		{"OR within, AND across", pats, []store.Clause{{name("li", store.StringStartsWith), name("wang", store.StringStartsWith)}, {gender(genderSys, "female", false)}}, []string{"p2"}},

		{"reference type/id", obsT, where(subject("Patient", "p1", "")), []string{"o1", "o3"}},
		{"reference id any type", obsT, where(subject("", "p1", "")), []string{"o1", "o3"}},
		{"reference wrong type", obsT, where(subject("Group", "p1", "")), nil},
		{"reference URL", obsT, where(subject("", "", "http://other.example/fhir/Patient/x")), []string{"o4"}},
		{"reference OR", obsT, []store.Clause{{subject("Patient", "p2", ""), subject("Patient", "p3", "")}}, []string{"o2", "o5"}},

		{"date eq day", pats, where(date("birthdate", store.PrefixEq, d1l, d1h)), []string{"p1"}},
		{"date eq month contains day", pats, where(date("birthdate", store.PrefixEq, m1l, m1h)), []string{"p1"}},
		{"date eq day inside a year value", pats, where(date("birthdate", store.PrefixEq, d90l, d90h)), nil},
		{"date ne", pats, where(date("birthdate", store.PrefixNe, d1l, d1h)), []string{"p2", "p4"}},
		{"date gt", pats, where(date("birthdate", store.PrefixGt, y85l, y85h)), []string{"p2", "p4"}},
		{"date lt", pats, where(date("birthdate", store.PrefixLt, y85l, y85h)), []string{"p1"}},
		{"date ge includes equal", pats, where(date("birthdate", store.PrefixGe, y90l, y90h)), []string{"p2", "p4"}},
		{"date le includes equal", pats, where(date("birthdate", store.PrefixLe, y90l, y90h)), []string{"p1", "p2"}},
		{"date gt overlapping range", pats, where(date("birthdate", store.PrefixGt, d90l, d90h)), []string{"p2", "p4"}},
		{"date lt overlapping range", pats, where(date("birthdate", store.PrefixLt, d90l, d90h)), []string{"p1", "p2"}},
		{"date sa", pats, where(date("birthdate", store.PrefixSa, d90l, d90h)), []string{"p4"}},
		{"date eb", pats, where(date("birthdate", store.PrefixEb, d90l, d90h)), []string{"p1"}},
		{"date sa excludes overlap", pats, where(date("birthdate", store.PrefixSa, y85l, y85h)), []string{"p2", "p4"}},
		{"date ap", pats, where(date("birthdate", store.PrefixAp, d90l, d90h)), []string{"p2"}},
		{"date instant in day", obsT, where(date("date", store.PrefixEq, us(2024, 3, 1, 0, 0), us(2024, 3, 2, 0, 0)-1)), []string{"o1"}},
		{"date :missing=true", pats, where(missing(store.Predicate{Param: "birthdate", Type: store.TypeDate}, true)), []string{"p3"}},
		{"date :missing=false", pats, where(missing(store.Predicate{Param: "birthdate", Type: store.TypeDate}, false)), []string{"p1", "p2", "p4"}},

		{"quantity eq", obsT, where(qty(store.PrefixEq, 5.35, 5.45)), []string{"o1"}},
		{"quantity eq with unit", obsT, where(withUnit(qty(store.PrefixEq, 5.35, 5.45), ucum, "mg")), []string{"o1"}},
		{"quantity eq wrong unit", obsT, where(withUnit(qty(store.PrefixEq, 5.35, 5.45), ucum, "g")), nil},
		{"quantity canonical", obsT, where(canon), []string{"o1"}},
		{"quantity gt", obsT, where(qty(store.PrefixGt, 5.95, 6.05)), []string{"o2"}},
		{"quantity lt", obsT, where(qty(store.PrefixLt, 5.95, 6.05)), []string{"o1"}},
		{"quantity ge equal", obsT, where(qty(store.PrefixGe, 9.5, 10.5)), []string{"o2"}},
		{"quantity le", obsT, where(qty(store.PrefixLe, 9.5, 10.5)), []string{"o1", "o2"}},
		{"quantity ne", obsT, where(qty(store.PrefixNe, 9.5, 10.5)), []string{"o1"}},
		{"quantity ap", obsT, where(qty(store.PrefixAp, 10.95, 11.05)), []string{"o2"}},
		{"quantity sa", obsT, where(qty(store.PrefixSa, 5.45, 5.55)), []string{"o2"}},
		{"quantity eb", obsT, where(qty(store.PrefixEb, 5.55, 5.65)), []string{"o1"}},
		{"quantity eb excludes touching", obsT, where(qty(store.PrefixEb, 5.45, 5.55)), nil},
		{"quantity :missing", obsT, where(missing(store.Predicate{Param: "value-quantity", Type: store.TypeQuantity}, true)), []string{"o3", "o4", "o5"}},
		{"number eq", obsT, where(num(store.PrefixEq, 2.5, 3.5)), []string{"o1"}},
		{"number eq precise", obsT, where(num(store.PrefixEq, 99.95, 100.05)), nil},
		{"number gt", obsT, where(num(store.PrefixGt, 49.5, 50.5)), []string{"o2"}},
		{"number le", obsT, where(num(store.PrefixLe, 2.5, 3.5)), []string{"o1"}},
		{"number ne", obsT, where(num(store.PrefixNe, 2.5, 3.5)), []string{"o2"}},
		{"uri", obsT, where(store.Predicate{Param: "instantiates", Type: store.TypeURI, URI: "http://example.org/q"}), []string{"o5"}},
		{"uri no prefix match", obsT, where(store.Predicate{Param: "instantiates", Type: store.TypeURI, URI: "http://example.org/"}), nil},
		{"string :missing=true", obsT, where(missing(store.Predicate{Param: "name", Type: store.TypeString}, true)), []string{"o1", "o2", "o3", "o4", "o5"}},
		{"reference :missing=false", obsT, where(missing(store.Predicate{Param: "subject", Type: store.TypeReference}, false)), []string{"o1", "o2", "o3", "o4", "o5"}},

		{"chain", obsT, where(store.Predicate{Param: "subject", Type: store.TypeReference, Chain: &store.Chain{
			Types: []string{"Patient"}, Where: where(name("zhang", store.StringStartsWith))}}), []string{"o1", "o3"}},
		{"chain OR with plain", obsT, []store.Clause{{
			{Param: "subject", Type: store.TypeReference, Chain: &store.Chain{Types: []string{"Patient"}, Where: where(gender("", "female", true))}},
			subject("", "", "http://other.example/fhir/Patient/x"),
		}}, []string{"o2", "o4"}},
		{"has", pats, where(store.Predicate{Has: &store.Has{Type: "Observation", Param: "subject", Where: where(store.Predicate{Param: "code", Type: store.TypeToken, System: loinc, Code: "1234-5"})}}), []string{"p1", "p2", "p3"}},
		{"has nested in chain", obsT, where(store.Predicate{Param: "subject", Type: store.TypeReference, Chain: &store.Chain{
			Types: []string{"Patient"}, Where: where(store.Predicate{Has: &store.Has{Type: "Observation", Param: "subject",
				Where: where(store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "999"})}})}}), []string{"o1", "o3"}},

		// One clause drives (the reference), the others are probes of its
		// rows: every kind of predicate as a probe.
		{"driven: reference, token, dates", obsT, where(subject("Patient", "p1", ""), store.Predicate{Param: "code", Type: store.TypeToken, System: loinc, Code: "1234-5"},
			date("date", store.PrefixGe, us(2024, 1, 1, 0, 0), us(2024, 1, 2, 0, 0)-1), date("date", store.PrefixLe, us(2024, 12, 31, 0, 0), us(2025, 1, 1, 0, 0)-1)), []string{"o1"}},
		{"driven: reference and :not", obsT, where(subject("Patient", "p1", ""), not(store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "1234-5"})), []string{"o3"}},
		{"driven: token and :missing", obsT, where(store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "1234-5"},
			missing(store.Predicate{Param: "value-quantity", Type: store.TypeQuantity}, true)), []string{"o5"}},
		{"driven: token and :missing=false", obsT, where(store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "1234-5"},
			missing(store.Predicate{Param: "date", Type: store.TypeDate}, false)), []string{"o1", "o2"}},
		{"driven: token and chain probe", obsT, where(store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "1234-5"},
			store.Predicate{Param: "subject", Type: store.TypeReference, Chain: &store.Chain{Types: []string{"Patient"}, Where: where(gender("", "male", true))}}), []string{"o1", "o5"}},
		{"driven: token and _has probe", pats, where(gender("", "male", true),
			store.Predicate{Has: &store.Has{Type: "Observation", Param: "subject", Where: where(store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "999"})}}), []string{"p1"}},
		{"driven: _has probe with a nested filter", pats, where(gender("", "male", true),
			store.Predicate{Has: &store.Has{Type: "Observation", Param: "subject", Where: where(
				store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "1234-5"},
				date("date", store.PrefixGe, us(2024, 3, 1, 0, 0), us(2024, 3, 2, 0, 0)-1))}}), []string{"p1"}},
		{"driven: chain probe with _id inside", obsT, where(store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "1234-5"},
			store.Predicate{Param: "subject", Type: store.TypeReference, Chain: &store.Chain{Types: []string{"Patient"}, Where: where(store.Predicate{Param: store.ParamID, Type: store.TypeToken, Code: "p3"})}}), []string{"o5"}},
		{"_id and a token", pats, where(store.Predicate{Param: store.ParamID, Type: store.TypeToken, Code: "p1"}, gender("", "male", true)), []string{"p1"}},
		{"OR of reference and _id (a compartment)", pats, []store.Clause{{
			{Param: "link", Type: store.TypeReference, TargetType: "Patient", TargetID: "p2"},
			{Param: store.ParamID, Type: store.TypeToken, Code: "p2"},
		}}, []string{"p2"}},
		{"OR of two references to one target", obsT, []store.Clause{{
			subject("Patient", "p1", ""),
			{Param: "performer", Type: store.TypeReference, TargetType: "Patient", TargetID: "p1"},
		}}, []string{"o1", "o3"}},
		{"OR of token and date drives", obsT, []store.Clause{{
			{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "999"},
			date("date", store.PrefixEq, us(2024, 3, 15, 0, 0), us(2024, 3, 16, 0, 0)-1),
		}}, []string{"o2", "o3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := search(t, s, &store.Query{Types: c.types, Where: c.where})
			got := sortedIDs(res.Matches)
			want := append([]string{}, c.want...)
			if want == nil {
				want = []string{}
			}
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			if res.Total != len(want) {
				t.Fatalf("total %d, want %d", res.Total, len(want))
			}
			for _, v := range res.Matches {
				if string(v.Body) != string(body(v.Type, v.ID, v.VersionID)) {
					t.Fatalf("match %s/%s body %q", v.Type, v.ID, v.Body)
				}
			}
		})
	}
}

func testSearchPaging(t *testing.T, s store.Store) {
	loadFixture(t, s)
	pats := []string{"Patient"}
	by := func(param string, typ store.ParamType, desc bool) []store.Sort {
		return []store.Sort{{Param: param, Type: typ, Desc: desc}}
	}
	sorted := []struct {
		name string
		sort []store.Sort
		want []string
	}{
		{"_id", by(store.ParamID, store.TypeToken, false), []string{"p1", "p2", "p3", "p4"}},
		{"-_id", by(store.ParamID, store.TypeToken, true), []string{"p4", "p3", "p2", "p1"}},
		{"_lastUpdated", by(store.ParamLastUpdated, store.TypeDate, false), []string{"p1", "p2", "p3", "p4"}},
		{"-_lastUpdated", by(store.ParamLastUpdated, store.TypeDate, true), []string{"p4", "p3", "p2", "p1"}},
		{"string", by("name", store.TypeString, false), []string{"p2", "p4", "p1", "p3"}},
		{"-string", by("name", store.TypeString, true), []string{"p3", "p1", "p4", "p2"}},
		{"date, missing last", by("birthdate", store.TypeDate, false), []string{"p1", "p2", "p4", "p3"}},
		{"-date, missing last", by("birthdate", store.TypeDate, true), []string{"p4", "p2", "p1", "p3"}},
		{"token then -_id", []store.Sort{{Param: "gender", Type: store.TypeToken}, {Param: store.ParamID, Type: store.TypeToken, Desc: true}}, []string{"p2", "p3", "p1", "p4"}},
	}
	for _, c := range sorted {
		t.Run("sort "+c.name, func(t *testing.T) {
			res := search(t, s, &store.Query{Types: pats, Sort: c.sort})
			if got := ids(res.Matches); !slices.Equal(got, c.want) {
				t.Fatalf("order %v, want %v", got, c.want)
			}
			// Paging one at a time with cursors yields the same order.
			for _, size := range []int{1, 3} {
				var got []string
				q := &store.Query{Types: pats, Sort: c.sort, Count: size}
				for i := 0; i < 10; i++ {
					res := search(t, s, q)
					got = append(got, ids(res.Matches)...)
					if res.Total != 4 {
						t.Fatalf("total on page %d: %d", i, res.Total)
					}
					if res.NextCursor == "" {
						break
					}
					q.Cursor = res.NextCursor
				}
				if !slices.Equal(got, c.want) {
					t.Fatalf("cursor pages of %d: %v, want %v", size, got, c.want)
				}
			}
		})
	}
	t.Run("offset", func(t *testing.T) {
		res := search(t, s, &store.Query{Types: pats, Sort: by(store.ParamID, store.TypeToken, false), Count: 2, Offset: 1})
		if got := ids(res.Matches); !slices.Equal(got, []string{"p2", "p3"}) || res.NextCursor == "" {
			t.Fatalf("offset page %v next %q", got, res.NextCursor)
		}
		next := search(t, s, &store.Query{Types: pats, Sort: by(store.ParamID, store.TypeToken, false), Count: 2, Offset: 1, Cursor: res.NextCursor})
		if got := ids(next.Matches); !slices.Equal(got, []string{"p4"}) || next.NextCursor != "" {
			t.Fatalf("cursor after offset page %v next %q", got, next.NextCursor)
		}
	})
	t.Run("cursor pages do not shift under writes", func(t *testing.T) {
		q := &store.Query{Types: pats, Sort: by(store.ParamID, store.TypeToken, false), Count: 2}
		first := search(t, s, q)
		// A resource sorting before the cursor and one after it appear
		// while the client pages: no match repeats, none is skipped.
		MustPut(t, s, write("Patient", "p0", 1, at(50), store.Index{}), write("Patient", "p9", 1, at(50), store.Index{}))
		q.Cursor = first.NextCursor
		second := search(t, s, q)
		got := append(ids(first.Matches), ids(second.Matches)...)
		if want := []string{"p1", "p2", "p3", "p4"}; !slices.Equal(got, want) {
			t.Fatalf("pages %v, want %v", got, want)
		}
		q.Cursor = second.NextCursor
		if third := search(t, s, q); !slices.Equal(ids(third.Matches), []string{"p9"}) {
			t.Fatalf("third page %v", ids(third.Matches))
		}
		MustPut(t, s, deletion("Patient", "p0", 2, at(51)), deletion("Patient", "p9", 2, at(51)))
	})
	t.Run("offset past the end", func(t *testing.T) {
		res := search(t, s, &store.Query{Types: pats, Offset: 10})
		if len(res.Matches) != 0 || res.NextCursor != "" || res.Total != 4 {
			t.Fatalf("%d matches, next %q, total %d", len(res.Matches), res.NextCursor, res.Total)
		}
	})
	t.Run("exact page has no next", func(t *testing.T) {
		res := search(t, s, &store.Query{Types: pats, Count: 4})
		if len(res.Matches) != 4 || res.NextCursor != "" {
			t.Fatalf("%d matches, next %q", len(res.Matches), res.NextCursor)
		}
	})
	t.Run("default page size", func(t *testing.T) {
		for i := 0; i < 60; i++ {
			MustPut(t, s, write("Device", fmt.Sprint("d", i), 1, at(100+i), store.Index{}))
		}
		res := search(t, s, &store.Query{Types: []string{"Device"}})
		if len(res.Matches) != 50 || res.NextCursor == "" || res.Total != 60 {
			t.Fatalf("%d matches, total %d, next %q", len(res.Matches), res.Total, res.NextCursor)
		}
	})
	t.Run("total none", func(t *testing.T) {
		res := search(t, s, &store.Query{Types: pats, Total: store.TotalNone})
		if res.Total != -1 || len(res.Matches) != 4 {
			t.Fatalf("total %d, %d matches", res.Total, len(res.Matches))
		}
	})
	t.Run("total estimate", func(t *testing.T) {
		res := search(t, s, &store.Query{Types: pats, Total: store.TotalEstimate})
		if res.Total < 0 {
			t.Fatalf("total %d", res.Total)
		}
	})
	t.Run("count only", func(t *testing.T) {
		res := search(t, s, &store.Query{Types: pats, CountOnly: true, Where: where(store.Predicate{Param: "gender", Type: store.TypeToken, AnySystem: true, Code: "male"})})
		if res.Total != 2 || len(res.Matches) != 0 {
			t.Fatalf("total %d, %d matches", res.Total, len(res.Matches))
		}
	})
	t.Run("cursor for another sort is rejected", func(t *testing.T) {
		res := search(t, s, &store.Query{Types: pats, Sort: by("name", store.TypeString, false), Count: 1})
		_, err := s.Search(context.Background(), &store.Query{Types: pats, Count: 1, Cursor: res.NextCursor,
			Sort: []store.Sort{{Param: "name", Type: store.TypeString}, {Param: store.ParamID, Type: store.TypeToken}}})
		wantErr(t, err, store.ErrInvalid)
		_, err = s.Search(context.Background(), &store.Query{Types: pats, Cursor: "%%%"})
		wantErr(t, err, store.ErrInvalid)
	})
}

func testIncludes(t *testing.T, s store.Store) {
	loadFixture(t, s)
	// An encounter o1 points at, to exercise :iterate.
	w := write("Observation", "o1", 2, at(20), store.Index{
		References: []store.ReferenceEntry{{Param: "subject", TargetType: "Patient", TargetID: "p1"}, {Param: "encounter", TargetType: "Encounter", TargetID: "e1"}},
	})
	MustPut(t, s, w, write("Encounter", "e1", 1, at(20), store.Index{
		References: []store.ReferenceEntry{{Param: "subject", TargetType: "Patient", TargetID: "p4"}},
	}))
	code999 := where(store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: "999"})
	cases := []struct {
		name     string
		q        store.Query
		matches  []string
		included []string
	}{
		{"include", store.Query{Types: []string{"Observation"}, Where: code999,
			Include: []store.Include{{SourceType: "Observation", Param: "subject"}}}, []string{"o3"}, []string{"p1"}},
		{"include target type", store.Query{Types: []string{"Observation"}, Where: code999,
			Include: []store.Include{{SourceType: "Observation", Param: "subject", TargetType: "Group"}}}, []string{"o3"}, []string{}},
		{"include *", store.Query{Types: []string{"Observation"}, Where: where(store.Predicate{Param: store.ParamID, Type: store.TypeToken, Code: "o1"}),
			Include: []store.Include{{SourceType: "Observation", Param: "*"}}}, []string{"o1"}, []string{"e1", "p1"}},
		{"include iterate", store.Query{Types: []string{"Observation"}, Where: where(store.Predicate{Param: store.ParamID, Type: store.TypeToken, Code: "o1"}),
			Include: []store.Include{{SourceType: "Observation", Param: "encounter"}, {SourceType: "Encounter", Param: "subject", Iterate: true}}}, []string{"o1"}, []string{"e1", "p4"}},
		{"revinclude", store.Query{Types: []string{"Patient"}, Where: where(store.Predicate{Param: store.ParamID, Type: store.TypeToken, Code: "p1"}),
			RevInclude: []store.Include{{SourceType: "Observation", Param: "subject"}}}, []string{"p1"}, []string{"o1", "o3"}},
		{"include does not repeat a match", store.Query{Types: []string{"Observation", "Patient"}, Where: where(store.Predicate{Param: store.ParamID, Type: store.TypeToken, Code: "o3"}),
			Include: []store.Include{{Param: "subject"}, {Param: "subject"}}}, []string{"o3"}, []string{"p1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := search(t, s, &c.q)
			if got := sortedIDs(res.Matches); !slices.Equal(got, c.matches) {
				t.Fatalf("matches %v, want %v", got, c.matches)
			}
			if got := sortedIDs(res.Included); !slices.Equal(got, c.included) {
				t.Fatalf("included %v, want %v", got, c.included)
			}
		})
	}
}

func testSearchErrors(t *testing.T, s store.Store) {
	ctx := context.Background()
	cases := []struct {
		name string
		q    store.Query
		want error
	}{
		{"sort on a reference", store.Query{Sort: []store.Sort{{Param: "subject", Type: store.TypeReference}}}, store.ErrUnsupported},
		{"unknown parameter type", store.Query{Where: where(store.Predicate{Param: "x", Type: "special", String: "a"})}, store.ErrUnsupported},
		{"composite without components", store.Query{Where: where(store.Predicate{Param: "x", Type: store.TypeComposite})}, store.ErrInvalid},
		{":not on a string", store.Query{Where: where(store.Predicate{Param: "name", Type: store.TypeString, String: "a", Not: true})}, store.ErrUnsupported},
		{"unknown prefix", store.Query{Where: where(store.Predicate{Param: "d", Type: store.TypeDate, Prefix: "zz"})}, store.ErrUnsupported},
		{"empty clause", store.Query{Where: []store.Clause{{}}}, store.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Search(ctx, &c.q)
			wantErr(t, err, c.want)
		})
	}
}

// testManyWritesInOneTx: a store may buffer writes inside a transaction
// (store/sqlite does); creates, repeated updates, a deletion, a conflict
// and duplicate index entries in one transaction, with no read between
// them, must come out as if written one by one.
func testManyWritesInOneTx(t *testing.T, s store.Store) {
	ctx := context.Background()
	tok := func(codes ...string) store.Index {
		var x store.Index
		for _, c := range codes {
			x.Tokens = append(x.Tokens, store.TokenEntry{Param: "code", System: loinc, Code: c})
		}
		return x
	}
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for i := range 300 {
		if err := tx.Put(ctx, write("Observation", fmt.Sprint("o", i), 1, at(1), tok("all", fmt.Sprint("c", i), "all"))); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []*store.Write{
		write("Observation", "o1", 2, at(2), tok("all", "upd")),
		write("Observation", "o1", 3, at(3), tok("all", "upd3")),
		deletion("Observation", "o2", 2, at(2)),
	} {
		if err := tx.Put(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	// A conflict fails that Put only; the transaction goes on.
	wantErr(t, tx.Put(ctx, write("Observation", "o3", 1, at(3), tok("x"))), store.ErrConflict)
	if err := tx.Put(ctx, write("Observation", "o3", 2, at(3), tok("all", "o3"))); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	count := func(code string) int {
		t.Helper()
		return search(t, s, &store.Query{Types: []string{"Observation"}, Where: where(store.Predicate{Param: "code", Type: store.TypeToken, System: loinc, Code: code})}).Total
	}
	for code, want := range map[string]int{"all": 299, "c1": 0, "upd": 0, "upd3": 1, "c2": 0, "c3": 0, "o3": 1, "c299": 1, "x": 0} {
		if got := count(code); got != want {
			t.Errorf("code %s: %d matches, want %d", code, got, want)
		}
	}
	if v := mustRead(t, s, "Observation", "o1"); v.VersionID != 3 {
		t.Errorf("o1: version %d", v.VersionID)
	}
	if _, err := s.Read(ctx, "Observation", "o2"); !errors.Is(err, store.ErrGone) {
		t.Errorf("o2: %v, want gone", err)
	}
	h, err := s.History(ctx, store.HistoryQuery{Type: "Observation"})
	if err != nil || h.Total != 304 {
		t.Fatalf("history: %d versions, %v; want 304", h.Total, err)
	}
}

func testIndexReplacement(t *testing.T, s store.Store) {
	tok := func(code string) store.Index {
		return store.Index{
			Tokens:  []store.TokenEntry{{Param: "code", System: loinc, Code: code}},
			Strings: []store.StringEntry{{Param: "name", Norm: code, Exact: code}},
		}
	}
	count := func(code string) int {
		t.Helper()
		res := search(t, s, &store.Query{Types: []string{"Observation"}, Where: where(store.Predicate{Param: "code", Type: store.TypeToken, AnySystem: true, Code: code})})
		res2 := search(t, s, &store.Query{Types: []string{"Observation"}, Where: where(store.Predicate{Param: "name", Type: store.TypeString, String: code, Match: store.StringExact})})
		if res.Total != res2.Total {
			t.Fatalf("token and string index disagree for %s: %d vs %d", code, res.Total, res2.Total)
		}
		return res.Total
	}
	MustPut(t, s, write("Observation", "x", 1, at(1), tok("a")), write("Observation", "y", 1, at(1), tok("a")))
	MustPut(t, s, write("Observation", "x", 2, at(2), tok("b")))
	if a, b := count("a"), count("b"); a != 1 || b != 1 {
		t.Fatalf("after update: a=%d b=%d, want 1 1", a, b)
	}
	MustPut(t, s, deletion("Observation", "x", 3, at(3)))
	if b := count("b"); b != 0 {
		t.Fatalf("deleted resource still found: %d", b)
	}
	if res := search(t, s, &store.Query{Types: []string{"Observation"}}); res.Total != 1 {
		t.Fatalf("deleted resource counted: %d", res.Total)
	}
	MustPut(t, s, write("Observation", "x", 4, at(4), tok("c")))
	if b, c := count("b"), count("c"); b != 0 || c != 1 {
		t.Fatalf("after re-create: b=%d c=%d", b, c)
	}
	// An update with no index entries removes them all.
	MustPut(t, s, write("Observation", "x", 5, at(5), store.Index{}))
	if c := count("c"); c != 0 {
		t.Fatalf("emptied index still matches: %d", c)
	}
}

func testConcurrency(t *testing.T, s store.Store) {
	ctx := context.Background()
	const writers, perWriter, readers = 6, 15, 4
	var wg sync.WaitGroup
	errc := make(chan error, writers+readers)
	stop := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				idx := store.Index{Tokens: []store.TokenEntry{{Param: "writer", System: "urn:w", Code: fmt.Sprint(w)}}}
				ws := []*store.Write{write("Patient", id, 1, at(i), idx)}
				if i > 0 { // also update the previous one: reads and writes interleave
					ws = append(ws, write("Patient", fmt.Sprintf("w%d-%d", w, i-1), 2, at(i), idx))
				}
				if err := put(s, ws...); err != nil {
					errc <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		}(w)
	}
	var rwg sync.WaitGroup
	for r := 0; r < readers; r++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := s.Search(ctx, &store.Query{Types: []string{"Patient"}, Count: 5,
					Where: where(store.Predicate{Param: "writer", Type: store.TypeToken, AnySystem: true, Code: "1"})})
				if err != nil {
					errc <- err
					return
				}
				for _, v := range res.Matches {
					if _, err := s.Read(ctx, v.Type, v.ID); err != nil {
						errc <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rwg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	res := search(t, s, &store.Query{Types: []string{"Patient"}, CountOnly: true})
	if res.Total != writers*perWriter {
		t.Fatalf("%d patients, want %d", res.Total, writers*perWriter)
	}
	h, err := s.History(ctx, store.HistoryQuery{Type: "Patient", Count: 1})
	if err != nil || h.Total != writers*(2*perWriter-1) {
		t.Fatalf("history total %v, %v; want %d", h, err, writers*(2*perWriter-1))
	}
	for w := 0; w < writers; w++ {
		res := search(t, s, &store.Query{Types: []string{"Patient"}, CountOnly: true,
			Where: where(store.Predicate{Param: "writer", Type: store.TypeToken, AnySystem: true, Code: fmt.Sprint(w)})})
		if res.Total != perWriter {
			t.Fatalf("writer %d: %d indexed, want %d", w, res.Total, perWriter)
		}
	}
}

func testTimeout(t *testing.T, s store.Store) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := s.Search(ctx, &store.Query{})
	wantErr(t, err, store.ErrTimeout)
	_, err = s.Read(ctx, "Patient", "a")
	wantErr(t, err, store.ErrTimeout)
	if _, err := s.Begin(ctx); !errors.Is(err, store.ErrTimeout) {
		t.Fatalf("Begin with an expired deadline: %v", err)
	}
}

func testCloseRollsBack(t *testing.T, s store.Store) {
	ctx := context.Background()
	tx, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Put(ctx, write("Patient", "a", 1, at(1), store.Index{})); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for an open transaction")
	}
	if err := tx.Commit(); err == nil {
		t.Fatal("Commit after Close succeeded")
	}
	tx.Rollback()
}

// testAudit covers the optional store.AuditLog (skipped for a store
// without it).
func testAudit(t *testing.T, s store.Store) {
	al, ok := s.(store.AuditLog)
	if !ok {
		t.Skip("store has no AuditLog")
	}
	ctx := context.Background()
	if err := al.AppendAudit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	recs, next, err := al.ReadAudit(ctx, store.AuditQuery{})
	if err != nil || len(recs) != 0 || next != "" {
		t.Fatalf("empty log: %v %q %v", recs, next, err)
	}
	// 250 records; pairs share a time (ties are broken by Seq); every
	// 10th is a denial.
	var in []store.AuditRecord
	for i := range 250 {
		r := store.AuditRecord{
			Time:    base.Add(time.Duration(i/2)*time.Second + 123*time.Microsecond),
			Subject: fmt.Sprint("u", i%2), Role: "clinician", Organization: "org1", Demo: i%3 == 0,
			Action: "read", ResourceType: "Patient", ID: fmt.Sprint("p", i%7), Source: "127.0.0.1",
			Allowed: i%10 != 0,
		}
		if i%5 == 0 {
			r.ResourceType, r.ID, r.Action, r.Operation = "Observation", "", "search", ""
		}
		if !r.Allowed {
			r.Reason = "access denied: role"
		}
		in = append(in, r)
	}
	// Two batches, the second bigger than a chunk of the stores' INSERTs.
	if err := al.AppendAudit(ctx, in[:3]); err != nil {
		t.Fatal(err)
	}
	if err := al.AppendAudit(ctx, in[3:]); err != nil {
		t.Fatal(err)
	}
	all := func(q store.AuditQuery) []store.AuditRecord {
		t.Helper()
		var out []store.AuditRecord
		for page := 0; ; page++ {
			recs, next, err := al.ReadAudit(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if q.Count > 0 && len(recs) > q.Count {
				t.Fatalf("page of %d, count %d", len(recs), q.Count)
			}
			out = append(out, recs...)
			if next == "" {
				return out
			}
			if page > 1000 {
				t.Fatal("endless paging")
			}
			q.Cursor = next
		}
	}
	got := all(store.AuditQuery{Count: 100})
	if len(got) != 250 {
		t.Fatalf("read %d records, want 250", len(got))
	}
	seen := map[int64]bool{}
	for i, r := range got {
		if seen[r.Seq] {
			t.Fatalf("seq %d twice", r.Seq)
		}
		seen[r.Seq] = true
		if i > 0 {
			p := got[i-1]
			if r.Time.After(p.Time) || (r.Time.Equal(p.Time) && r.Seq >= p.Seq) {
				t.Fatalf("not newest first at %d: %v/%d after %v/%d", i, r.Time, r.Seq, p.Time, p.Seq)
			}
		}
	}
	// Fields round-trip (the newest record is in[249]).
	want := in[249]
	want.Seq = got[0].Seq
	if got[0] != want || got[0].Time.Location() != time.UTC {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got[0], want)
	}
	count := func(q store.AuditQuery, keep func(r *store.AuditRecord) bool) {
		t.Helper()
		n := 0
		for i := range in {
			if keep(&in[i]) {
				n++
			}
		}
		q.Count = 7
		res := all(q)
		if len(res) != n {
			t.Fatalf("%+v: %d records, want %d", q, len(res), n)
		}
		for i := range res {
			if !keep(&res[i]) {
				t.Fatalf("%+v: record %+v does not match", q, res[i])
			}
		}
	}
	no := false
	count(store.AuditQuery{Subject: "u1"}, func(r *store.AuditRecord) bool { return r.Subject == "u1" })
	count(store.AuditQuery{ResourceType: "Patient"}, func(r *store.AuditRecord) bool { return r.ResourceType == "Patient" })
	count(store.AuditQuery{ResourceType: "Patient", ID: "p3"}, func(r *store.AuditRecord) bool { return r.ResourceType == "Patient" && r.ID == "p3" })
	count(store.AuditQuery{Allowed: &no}, func(r *store.AuditRecord) bool { return !r.Allowed })
	since, until := base.Add(10*time.Second), base.Add(20*time.Second)
	count(store.AuditQuery{Since: since, Until: until, Subject: "u0"}, func(r *store.AuditRecord) bool {
		return !r.Time.Before(since) && r.Time.Before(until) && r.Subject == "u0"
	})
	// Pages do not shift when newer records arrive meanwhile.
	p1, next, err := al.ReadAudit(ctx, store.AuditQuery{Subject: "u0", Count: 10})
	if err != nil || next == "" {
		t.Fatal(err)
	}
	newer := in[0]
	newer.Time, newer.Subject = base.Add(time.Hour), "u0"
	if err := al.AppendAudit(ctx, []store.AuditRecord{newer}); err != nil {
		t.Fatal(err)
	}
	p2, _, err := al.ReadAudit(ctx, store.AuditQuery{Subject: "u0", Count: 10, Cursor: next})
	if err != nil || len(p2) != 10 || !p2[0].Time.Before(p1[9].Time) && p2[0].Seq >= p1[9].Seq {
		t.Fatalf("second page after an append: %v %v", p2, err)
	}
	if p2[0].Seq == p1[9].Seq || p2[0].Time.After(p1[9].Time) {
		t.Fatalf("second page repeats or goes back: %+v after %+v", p2[0], p1[9])
	}
	_, _, err = al.ReadAudit(ctx, store.AuditQuery{Cursor: "not-a-cursor"})
	wantErr(t, err, store.ErrInvalid)
	_, _, err = al.ReadAudit(ctx, store.AuditQuery{ID: "p1"})
	wantErr(t, err, store.ErrInvalid)
}
