package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/xietong/xietong/internal/cputime"
	"github.com/xietong/xietong/store"
)

// Resource is one resource of the benchmark corpus.
type Resource struct {
	Type, ID string
	Body     []byte
}

// SharedDir returns the project's shared/ data directory (beside the
// module root), skipping tb when it is absent unless
// XIETONG_SHARED_REQUIRED=1, which makes that a failure (CI).
func SharedDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("module root not found")
		}
		dir = parent
	}
	shared := filepath.Join(filepath.Dir(dir), "shared")
	if _, err := os.Stat(shared); err != nil {
		if os.Getenv("XIETONG_SHARED_REQUIRED") == "1" {
			tb.Fatalf("shared data required but missing: %v", err)
		}
		tb.Skipf("shared data not found at %s", shared)
	}
	return shared
}

// Synthea returns up to n resources from the Synthea bundles in shared/, in
// bundle order (n <= 0: all of them).
func Synthea(tb testing.TB, n int) []Resource {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(SharedDir(tb), "synthea", "r4", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no Synthea bundles: %v", err)
	}
	sort.Strings(files)
	var out []Resource
	seen := map[string]bool{} // bundles repeat shared Organizations and Practitioners
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var bundle struct {
			Entry []struct {
				FullURL  string          `json:"fullUrl"`
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(raw, &bundle); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		for _, e := range bundle.Entry {
			var h struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			}
			if err := json.Unmarshal(e.Resource, &h); err != nil {
				tb.Fatal(err)
			}
			if h.ID == "" { // transaction bundles name new resources by fullUrl
				h.ID = strings.TrimPrefix(e.FullURL, "urn:uuid:")
			}
			if seen[h.ResourceType+"/"+h.ID] {
				continue
			}
			seen[h.ResourceType+"/"+h.ID] = true
			out = append(out, Resource{Type: h.ResourceType, ID: h.ID, Body: []byte(e.Resource)})
			if n > 0 && len(out) == n {
				return out
			}
		}
	}
	return out
}

// SyntheticIndex returns 20 index entries for r, spread over every table
// with realistic cardinality (a few codes shared by many resources, dates
// spread over years, references to a few hundred targets), standing in
// for what the search package extracts from a typical clinical resource.
func SyntheticIndex(r Resource) store.Index {
	h := fnv.New64a()
	h.Write([]byte(r.Type + "/" + r.ID))
	x := h.Sum64()
	pick := func(mod uint64) uint64 { v := x % mod; x = x/mod + x*31; return v }
	day := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(pick(9000))).UnixMicro()
	var idx store.Index
	for i, p := range []string{"code", "category", "status", "identifier", "_tag", "_security"} {
		idx.Tokens = append(idx.Tokens, store.TokenEntry{Param: p, System: "http://loinc.org", Code: fmt.Sprint(i, "-", pick(500)), Text: "display text"})
	}
	for _, p := range []string{"name", "family", "given", "address"} {
		v := fmt.Sprint("value ", pick(2000))
		idx.Strings = append(idx.Strings, store.StringEntry{Param: p, Norm: v, Exact: v})
	}
	for _, p := range []string{"subject", "patient", "encounter", "performer"} {
		idx.References = append(idx.References, store.ReferenceEntry{Param: p, TargetType: "Patient", TargetID: fmt.Sprint("p", pick(300))})
	}
	for i, p := range []string{"date", "issued", "onset-date", "recorded-date"} {
		idx.Dates = append(idx.Dates, store.DateEntry{Param: p, Low: day + int64(i), High: day + 86_400_000_000 - 1})
	}
	v := float64(pick(1000)) / 10
	idx.Quantities = append(idx.Quantities, store.QuantityEntry{Param: "value-quantity", System: "http://unitsofmeasure.org", Code: "mg", Low: v - 0.05, High: v + 0.05, CanonicalCode: "g", CanonicalLow: (v - 0.05) / 1000, CanonicalHigh: (v + 0.05) / 1000})
	idx.URIs = append(idx.URIs, store.URIEntry{Param: "url", URI: fmt.Sprint("http://example.org/", pick(50))})
	return idx
}

// BenchmarkIngest stores the corpus in transactions of batch resources,
// each with its SyntheticIndex, as the ingest of a Synthea bundle does; ids
// are made unique per iteration so every write is a create. It reports
// resources/s.
func BenchmarkIngest(b *testing.B, s store.Store, corpus []Resource, batch int) {
	ctx := context.Background()
	idx := make([]store.Index, len(corpus))
	for i, r := range corpus {
		idx[i] = SyntheticIndex(r)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i := 0; i < len(corpus); i += batch {
			err := inTx(ctx, s, func(tx store.Tx) error {
				for j := i; j < min(i+batch, len(corpus)); j++ {
					r := corpus[j]
					w := &store.Write{Type: r.Type, ID: fmt.Sprint(r.ID, "-", n), VersionID: 1, LastUpdated: now,
						Method: "POST", Body: r.Body, Index: idx[j]}
					if err := tx.Put(ctx, w); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*len(corpus))/b.Elapsed().Seconds(), "resources/s")
}

// BenchmarkRead reads random corpus resources by id (after ingesting them).
func BenchmarkRead(b *testing.B, s store.Store, corpus []Resource) {
	ctx := context.Background()
	err := inTx(ctx, s, func(tx store.Tx) error {
		for _, r := range corpus {
			if err := tx.Put(ctx, &store.Write{Type: r.Type, ID: r.ID, VersionID: 1, LastUpdated: time.Now(), Method: "POST", Body: r.Body, Index: SyntheticIndex(r)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	c0 := cputime.Process()
	defer func() { b.ReportMetric(float64((cputime.Process()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op") }()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r := corpus[(i*7919)%len(corpus)]
			i++
			if _, err := s.Read(ctx, r.Type, r.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// Bodies returns the corpus bodies, for the storage floor.
func Bodies(corpus []Resource) [][]byte {
	out := make([][]byte, len(corpus))
	for i, r := range corpus {
		out[i] = r.Body
	}
	return out
}

// inTx runs fn in a transaction, committing if it returns nil and rolling
// back otherwise.
func inTx(ctx context.Context, s store.Store, fn func(tx store.Tx) error) error {
	tx, err := s.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// BenchmarkIngestVsFloor alternates the storage floor and the ingest of
// the same corpus, each into a fresh database, and reports their ratio
// (ingest time / floor time) besides both rates: on a shared machine the
// ratio of interleaved runs is steadier than either number alone.
func BenchmarkIngestVsFloor(b *testing.B, corpus []Resource, batch int,
	fresh func(b *testing.B) store.Store, floor func(bodies [][]byte, batch int) (time.Duration, error)) {
	bodies := Bodies(corpus)
	idx := make([]store.Index, len(corpus))
	for i, r := range corpus {
		idx[i] = SyntheticIndex(r)
	}
	ctx := context.Background()
	var tFloor, tIngest, cFloor, cIngest time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		c0 := cputime.Process()
		d, err := floor(bodies, batch)
		if err != nil {
			b.Fatal(err)
		}
		tFloor += d
		cFloor += cputime.Process() - c0
		b.StopTimer()
		s := fresh(b)
		b.StartTimer()
		c0 = cputime.Process()
		start := time.Now()
		for i := 0; i < len(corpus); i += batch {
			err := inTx(ctx, s, func(tx store.Tx) error {
				for j := i; j < min(i+batch, len(corpus)); j++ {
					r := corpus[j]
					if err := tx.Put(ctx, &store.Write{Type: r.Type, ID: r.ID, VersionID: 1, LastUpdated: time.Now(),
						Method: "POST", Body: r.Body, Index: idx[j]}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		tIngest += time.Since(start)
		cIngest += cputime.Process() - c0
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.StopTimer()
	total := float64(b.N * len(corpus))
	b.ReportMetric(total/tFloor.Seconds(), "floor-res/s")
	b.ReportMetric(total/tIngest.Seconds(), "store-res/s")
	b.ReportMetric(tIngest.Seconds()/tFloor.Seconds(), "x-floor")
	// This process's CPU time (user + system) per resource: steadier than
	// wall time on a shared machine; for PostgreSQL it leaves out the
	// server's own work.
	b.ReportMetric(float64(cFloor.Microseconds())/total, "floor-cpu-µs/res")
	b.ReportMetric(float64(cIngest.Microseconds())/total, "store-cpu-µs/res")
}

// BenchmarkAudit appends audit records in batches of 1,000 (what a
// batching recorder would hand over) to s, which must be a
// store.AuditLog, and reports records/s and this process's CPU time per
// record. Resource ids are random UUID-like strings, as on a real node.
func BenchmarkAudit(b *testing.B, s store.Store) {
	al := s.(store.AuditLog)
	ctx := context.Background()
	const batch, batches = 1000, 32
	roles := []string{"clinician", "cdc", "commission", "admin", "system"}
	actions := []string{"read", "search", "create", "update", "history"}
	types := []string{"Patient", "Observation", "Encounter", "Condition", "MedicationRequest"}
	// Records are made before the clock starts (32 distinct batches, used
	// in turn), so the figures are the store's alone.
	all := make([][]store.AuditRecord, batches)
	for n := range all {
		all[n] = make([]store.AuditRecord, batch)
		for i := range all[n] {
			h := fnv.New64a()
			fmt.Fprint(h, n, i)
			k := h.Sum64()
			r := store.AuditRecord{
				Subject: fmt.Sprint("user-", k%50), Role: roles[k%5], Organization: fmt.Sprint("org-", k%7),
				Demo: true, Action: actions[(k>>8)%5], ResourceType: types[(k>>16)%5],
				ID:     fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", k>>32, k>>16&0xffff, k>>4&0xfff, k&0xfff, k*2654435761&0xffffffffffff),
				Source: "10.0.0.1", Allowed: k%50 != 0,
			}
			if !r.Allowed {
				r.Reason = "access denied: role may not read this resource"
			}
			all[n][i] = r
		}
	}
	b.ResetTimer()
	c0, start := cputime.Process(), time.Now()
	for n := 0; n < b.N; n++ {
		recs := all[n%batches]
		now := time.Now()
		for i := range recs {
			recs[i].Time = now
		}
		if err := al.AppendAudit(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	elapsed, cpu := time.Since(start), cputime.Process()-c0
	b.StopTimer()
	total := float64(b.N * batch)
	b.ReportMetric(total/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Microseconds())/total, "cpu-µs/rec")
}
