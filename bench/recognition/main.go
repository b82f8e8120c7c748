// Command recognition generates a region's lab results at scale, loads
// them through the store's write path in-process with the recognition
// engine's hook (the projection rows and the HR mark are written exactly as
// the API writes them), and measures the check at the point of ordering
// (recognition.Engine.Check) on the loaded database.
//
//	go run ./bench/recognition -db /tmp/recog.db -patients 10000 -obs 500000 -load
//	go run ./bench/recognition -db /tmp/recog.db -patients 200000 -obs 10000000 -seed 10000 -replicate 20 -sqlite3 sqlite3
//	go run ./bench/recognition -db /tmp/recog.db -patients 200000 -query -n 2000 -warm 200 [-http]
//
// The second step grows the seed into copies by SQL and verifies samples
// through the store (replicate.go); -load -patients 200000 alone loads
// everything through the write path instead (hours on a shared machine).
//
// Every resource is stored as the API stores it: the resource row, its
// version, its search-index rows and (for results) the recognition
// projection row, in transactions of -batch resources. The search index of
// an Observation is what search.Indexer computes; by default (-index
// template) it is computed once per template (the result with its patient,
// performer and date replaced by placeholders: code, value, unit, status,
// category and HR mark stay) and adapted per copy (the placeholders'
// references and the date range replaced), and every -verify-th copy is
// indexed by the indexer too and compared entry by entry (a difference
// stops the load). -index full runs the indexer on every result; -index
// none writes no index rows (the check does not read them).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/internal/cputime"
	"github.com/xietong/xietong/recognition"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/server"
	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/open"
	"github.com/xietong/xietong/store/sqlite"
)

var (
	dbFlag    = flag.String("db", "/tmp/recog.db", "SQLite path or postgres:// URL")
	patients  = flag.Int("patients", 200000, "patients")
	obs       = flag.Int("obs", 10000000, "Observations (spread evenly over the patients)")
	orgs      = flag.Int("orgs", 300, "institutions (two thirds in the programme)")
	indexMode = flag.String("index", "template", "search index of results: template (the indexer's entries per template, adapted per copy), full (the indexer on every result), none")
	verify    = flag.Int("verify", 1000, "with -index template, recompute every n-th result's index with the indexer and stop on any difference")
	batch     = flag.Int("batch", 20000, "resources per transaction")
	workers   = flag.Int("workers", 2, "generating workers")
	from      = flag.Int("from", 0, "resume the load at this patient number")
	doLoad    = flag.Bool("load", false, "generate and load")
	seedN     = flag.Int("seed", 0, "with -replicate: the patients loaded by -load (0..seed-1)")
	copies    = flag.Int("replicate", 0, "grow the database to this many copies of the seed's patients (see replicate.go), then verify samples")
	sqliteCLI = flag.String("sqlite3", "", "with -replicate: run the copies' SQL through this sqlite3 shell instead of the Go driver")
	doQuery   = flag.Bool("query", false, "measure the check")
	n         = flag.Int("n", 2000, "measured checks")
	warm      = flag.Int("warm", 200, "warm-up checks")
	nItems    = flag.Int("items", 3, "items per check")
	cpuProf   = flag.String("cpuprofile", "", "write a CPU profile of the load or the checks to this file")
	viaHTTP   = flag.Bool("http", false, "call Patient/[id]/$recognition-check through a node's HTTP handler in-process (access check and audit included) instead of the Go API")
)

// zone is the node's zone (the indexer's and the search parser's).
var zone = time.FixedZone("+08:00", 8*3600)

// now is the fixed "today" of the generated data and the checks.
var now = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// labCodes are the LOINC codes the generated Observations use (the
// demo's and Synthea's, all in the default catalogue), with units.
var labCodes = []struct{ code, unit, item string }{
	{"6298-4", "mmol/L", "K"}, {"2947-0", "mmol/L", "Na"}, {"2069-3", "mmol/L", "Cl"}, {"49765-1", "mg/dL", "Ca"},
	{"2339-0", "mg/dL", "Glu"}, {"6299-2", "mg/dL", "Urea"}, {"38483-4", "mg/dL", "Cre"}, {"2093-3", "mg/dL", "TC"},
	{"2571-8", "mg/dL", "TG"}, {"2085-9", "mg/dL", "HDL-C"}, {"18262-6", "mg/dL", "LDL-C"}, {"4548-4", "%", "HbA1c"},
	{"1742-6", "U/L", "ALT"}, {"1920-8", "U/L", "AST"}, {"6768-6", "U/L", "ALP"}, {"2885-2", "g/dL", "TP"},
	{"1751-7", "g/dL", "Alb"}, {"6690-2", "10*3/uL", "WBC"}, {"789-8", "10*6/uL", "RBC"}, {"718-7", "g/dL", "Hb"},
	{"777-3", "10*3/uL", "PLT"}, {"4544-3", "%", "Hct"}, {"3016-3", "mIU/L", "TSH"}, {"1834-1", "ng/mL", "AFP"},
	{"2039-6", "ng/mL", "CEA"},
}

func orgID(i int) string     { return "bench-org-" + strconv.Itoa(i) }
func patientID(i int) string { return "bench-pat-" + strconv.Itoa(i) }

func main() {
	flag.Parse()
	log.SetFlags(log.Ltime)
	ctx := context.Background()
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if *doLoad {
		if err := load(ctx); err != nil {
			log.Fatal(err)
		}
	}
	if *copies > 1 {
		if err := replicate(ctx, *seedN, *copies); err != nil {
			log.Fatal(err)
		}
		st, err := openStore(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if err := verifyCopies(ctx, st, *seedN, *copies, 200); err != nil {
			log.Fatal(err)
		}
		st.Close()
	}
	if *doQuery {
		if err := query(ctx); err != nil {
			log.Fatal(err)
		}
	}
}

func openStore(ctx context.Context) (store.Store, error) {
	return open.Open(ctx, *dbFlag, open.WithMigrate(), open.WithSQLite(sqlite.Options{Synchronous: "NORMAL"}))
}

// directory is the catalogue, the institutions, memberships and EQA.
func directory() []map[string]any {
	cat := recognition.Default()
	var items []string
	for _, it := range cat.Programmes[0].Items {
		items = append(items, it.Code)
	}
	for i := range *orgs {
		if i%3 == 2 {
			continue // a third takes part in no programme
		}
		cat.Members = append(cat.Members, recognition.Membership{Programme: "jjj-lab", Organization: orgID(i), From: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
		for _, it := range items {
			for y := 2024; y <= 2026; y++ {
				cat.EQA = append(cat.EQA, recognition.EQAResult{Organization: orgID(i), Item: it, Year: y, Date: time.Date(y, 4, 15, 0, 0, 0, 0, time.UTC), Passed: !(i%17 == 0 && y == 2026 && it == "K")})
			}
		}
	}
	res := cat.Resources()
	for i := range *orgs {
		res = append(res, map[string]any{"resourceType": "Organization", "id": orgID(i), "name": "医院 " + strconv.Itoa(i),
			"type":    []any{map[string]any{"coding": []any{map[string]any{"system": "https://xietong.dev/fhir/CodeSystem/hospital-grade", "code": []string{"3A", "2A", "1A"}[i%3]}}}},
			"address": []any{map[string]any{"city": []string{"北京市", "天津市", "廊坊市"}[i%3]}}})
	}
	return res
}

func write(ctx context.Context, tx store.Tx, ix *search.Indexer, res map[string]any, t time.Time) (*store.Write, error) {
	typ, id := res["resourceType"].(string), res["id"].(string)
	setMeta(res, t)
	w := &store.Write{Type: typ, ID: id, VersionID: 1, LastUpdated: t, Method: "PUT"}
	if ix != nil {
		x, err := ix.Index(typ, res)
		if err != nil {
			return nil, err
		}
		w.Index = x
	}
	b, err := fhirjson.Marshal(res)
	if err != nil {
		return nil, err
	}
	w.Body = b
	return w, nil
}

// setMeta stamps version 1 and the time into meta, keeping its tags (the
// HR mark Prepare set).
func setMeta(res map[string]any, t time.Time) {
	meta, _ := res["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		res["meta"] = meta
	}
	meta["versionId"] = "1"
	meta["lastUpdated"] = t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// The placeholders of a template.
const (
	tplPatient = "tpl-patient"
	tplOrg     = "tpl-org"
	tplID      = "tpl-id"
)

var tplEff = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// templates computes an Observation's search index once per template and
// adapts it per copy.
type templates struct {
	ix      *search.Indexer
	mu      sync.Mutex
	m       map[string]store.Index
	n       atomic.Int64 // copies indexed
	checked atomic.Int64 // copies compared with the indexer
}

// index is the search index of o (already prepared, meta set), whose
// subject, performer, effectiveDateTime and id vary per copy.
func (tp *templates) index(o map[string]any, body []byte) (store.Index, error) {
	pat := strings.TrimPrefix(o["subject"].(map[string]any)["reference"].(string), "Patient/")
	org := strings.TrimPrefix(o["performer"].([]any)[0].(map[string]any)["reference"].(string), "Organization/")
	eff, err := time.Parse(time.RFC3339, o["effectiveDateTime"].(string))
	if err != nil {
		return store.Index{}, err
	}
	id := o["id"].(string)
	t := maps.Clone(o)
	t["id"] = tplID
	t["subject"] = map[string]any{"reference": "Patient/" + tplPatient}
	t["performer"] = []any{map[string]any{"reference": "Organization/" + tplOrg}}
	t["effectiveDateTime"] = tplEff.Format(time.RFC3339)
	kb, err := fhirjson.Marshal(t)
	if err != nil {
		return store.Index{}, err
	}
	key := string(kb)
	tp.mu.Lock()
	x, ok := tp.m[key]
	tp.mu.Unlock()
	if !ok {
		// Indexed from the decoded JSON, as the API indexes a request body.
		dec, err := fhirjson.Decode(kb, fhirjson.Limits{})
		if err != nil {
			return store.Index{}, err
		}
		if x, err = tp.ix.Index("Observation", dec); err != nil {
			return store.Index{}, err
		}
		tp.mu.Lock()
		tp.m[key] = x
		tp.mu.Unlock()
	}
	shift := eff.Sub(tplEff).Microseconds()
	lo, hi := tplEff.UnixMicro(), tplEff.Add(time.Second).UnixMicro()-1
	var out store.Index
	out.Strings = slices.Clone(x.Strings)
	out.Tokens = slices.Clone(x.Tokens)
	for i, e := range out.Tokens {
		if e.Code == tplID {
			out.Tokens[i].Code = id
		}
	}
	out.References = slices.Clone(x.References)
	for i, e := range out.References {
		switch {
		case e.TargetType == "Patient" && e.TargetID == tplPatient:
			out.References[i].TargetID = pat
		case e.TargetType == "Organization" && e.TargetID == tplOrg:
			out.References[i].TargetID = org
		}
	}
	out.Dates = slices.Clone(x.Dates)
	for i, e := range out.Dates {
		if e.Low >= lo && e.High <= hi {
			out.Dates[i].Low += shift
			out.Dates[i].High += shift
		}
	}
	out.Numbers, out.Quantities, out.URIs, out.Composites = slices.Clone(x.Numbers), slices.Clone(x.Quantities), slices.Clone(x.URIs), slices.Clone(x.Composites)
	if n := tp.n.Add(1); *verify > 0 && (n-1)%int64(*verify) == 0 {
		dec, err := fhirjson.Decode(body, fhirjson.Limits{})
		if err != nil {
			return store.Index{}, err
		}
		want, err := tp.ix.Index("Observation", dec)
		if err != nil {
			return store.Index{}, err
		}
		if !reflect.DeepEqual(want, out) {
			return store.Index{}, fmt.Errorf("the adapted index of %s differs from the indexer's:\nindexer: %+v\nadapted: %+v", id, want, out)
		}
		tp.checked.Add(1)
	}
	return out, nil
}

func load(ctx context.Context) error {
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	eng, err := recognition.New(ctx, st, recognition.Options{Now: func() time.Time { return now }})
	if err != nil {
		return err
	}
	full := search.NewIndexer(zone)
	var ix *search.Indexer
	var tp *templates
	switch *indexMode {
	case "full":
		ix = full
	case "template":
		tp = &templates{ix: full, m: map[string]store.Index{}}
	case "none":
	default:
		return fmt.Errorf("-index %q: want template, full or none", *indexMode)
	}
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	if *from == 0 {
		tx, err := st.Begin(ctx)
		if err != nil {
			return err
		}
		for _, r := range directory() {
			w, err := write(ctx, tx, full, r, t0)
			if err != nil {
				return err
			}
			if err := tx.Put(ctx, w); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if err := eng.Reload(ctx); err != nil {
			return err
		}
	}
	per := *obs / *patients
	type job struct {
		ws  []*store.Write
		res []map[string]any
	}
	jobs := make(chan job, 4)
	pats := make(chan int, 64)
	var wg sync.WaitGroup
	errc := make(chan error, *workers+1)
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range pats {
				rng := rand.New(rand.NewPCG(uint64(p), 7))
				var j job
				pat := map[string]any{"resourceType": "Patient", "id": patientID(p), "gender": []string{"male", "female"}[p%2],
					"name": []any{map[string]any{"family": "测试", "given": []any{strconv.Itoa(p)}}}}
				w, err := write(ctx, nil, full, pat, t0)
				if err != nil {
					errc <- err
					return
				}
				j.ws, j.res = append(j.ws, w), append(j.res, nil)
				for k := range per {
					lc := labCodes[rng.IntN(len(labCodes))]
					// Half of the results are of the last 60 days (the windows
					// are 7 to 90 days), half of the two years before.
					eff := now.Add(-time.Duration(rng.IntN(730*24)) * time.Hour)
					if rng.IntN(2) == 0 {
						eff = now.Add(-time.Duration(rng.IntN(60*24)) * time.Hour)
					}
					o := map[string]any{"resourceType": "Observation", "id": "bench-obs-" + strconv.Itoa(p) + "-" + strconv.Itoa(k),
						"status":            "final",
						"category":          []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}}}},
						"code":              map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": lc.code}}},
						"subject":           map[string]any{"reference": "Patient/" + patientID(p)},
						"effectiveDateTime": eff.Format(time.RFC3339),
						"performer":         []any{map[string]any{"reference": "Organization/" + orgID(rng.IntN(*orgs))}},
						"valueQuantity":     map[string]any{"value": float64(rng.IntN(1000)) / 10, "unit": lc.unit, "system": "http://unitsofmeasure.org", "code": lc.unit},
					}
					if err := eng.Prepare(ctx, "Observation", o["id"].(string), o); err != nil {
						errc <- err
						return
					}
					w, err := write(ctx, nil, ix, o, t0)
					if err != nil {
						errc <- err
						return
					}
					if tp != nil {
						if w.Index, err = tp.index(o, w.Body); err != nil {
							errc <- err
							return
						}
					}
					j.ws, j.res = append(j.ws, w), append(j.res, o)
				}
				jobs <- j
			}
		}()
	}
	go func() {
		for p := *from; p < *patients; p++ {
			pats <- p
		}
		close(pats)
		wg.Wait()
		close(jobs)
	}()
	start, last := time.Now(), time.Now()
	written, inTx := 0, 0
	var tx store.Tx
	for j := range jobs {
		if tx == nil {
			if tx, err = st.Begin(ctx); err != nil {
				return err
			}
		}
		for i, w := range j.ws {
			if err := tx.Put(ctx, w); err != nil {
				return err
			}
			if j.res[i] != nil {
				v := &store.Version{Type: w.Type, ID: w.ID, VersionID: 1, LastUpdated: w.LastUpdated, Method: w.Method, Body: w.Body}
				if _, err := eng.Written(ctx, tx, v, j.res[i]); err != nil {
					return err
				}
			}
		}
		written += len(j.ws)
		inTx += len(j.ws)
		if inTx >= *batch {
			if err := tx.Commit(); err != nil {
				return err
			}
			tx, inTx = nil, 0
		}
		if time.Since(last) > 30*time.Second {
			last = time.Now()
			el := time.Since(start).Seconds()
			log.Printf("%d resources in %.0f s: %.0f/s (patient %s)", written, el, float64(written)/el, j.ws[0].ID)
			if tp != nil {
				tp.mu.Lock()
				log.Printf("  index: %d templates, %d copies, %d compared with the indexer (all equal)", len(tp.m), tp.n.Load(), tp.checked.Load())
				tp.mu.Unlock()
			}
		}
		select {
		case err := <-errc:
			return err
		default:
		}
	}
	if tx != nil {
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	el := time.Since(start)
	log.Printf("loaded %d resources (%d patients from %d, %d Observations each) in %s: %.0f/s", written, *patients-*from, *from, per, el.Round(time.Second), float64(written)/el.Seconds())
	return nil
}

func query(ctx context.Context) error {
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	eng, err := recognition.New(ctx, st, recognition.Options{Now: func() time.Time { return now }})
	if err != nil {
		return err
	}
	var handler http.Handler
	if *viaHTTP {
		srv, err := server.New(ctx, server.Config{DB: *dbFlag, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			return err
		}
		defer srv.Close()
		handler = srv.Handler()
	}
	rng := rand.New(rand.NewPCG(42, 42))
	var lat []time.Duration
	var cpu0 time.Duration
	// The Go API check runs on this goroutine, locked to its thread, so
	// the thread's CPU time is the check's own work (without the time it
	// waited for a core on a shared machine).
	runtime.LockOSThread()
	var onCPU []time.Duration
	found, reasons := 0, map[string]int{}
	for i := range *warm + *n {
		req := recognition.CheckRequest{Patient: patientID(rng.IntN(*patients)), Orderer: orgID(3 * rng.IntN(*orgs/3))}
		for range *nItems {
			lc := labCodes[rng.IntN(len(labCodes))]
			if rng.IntN(2) == 0 {
				req.Items = append(req.Items, lc.item)
			} else {
				req.Items = append(req.Items, "http://loinc.org|"+lc.code)
			}
		}
		var res *recognition.CheckResult
		var d time.Duration
		if handler != nil {
			q := url.Values{"orderer": {"Organization/" + req.Orderer}, "item": req.Items, "date": {now.Format(time.RFC3339)}}
			hr := httptest.NewRequest("GET", "/fhir/Patient/"+req.Patient+"/$recognition-check?"+q.Encode(), nil)
			rec := httptest.NewRecorder()
			t := time.Now()
			handler.ServeHTTP(rec, hr)
			d = time.Since(t)
			if rec.Code != 200 {
				return fmt.Errorf("check %s: %d %s", hr.URL, rec.Code, rec.Body)
			}
			res = &recognition.CheckResult{}
			if i >= *warm {
				found += strings.Count(rec.Body.String(), `"recognisable","valueBoolean":true`)
			}
		} else {
			c0 := threadCPU()
			t := time.Now()
			res, err = eng.Check(ctx, req)
			d = time.Since(t)
			if i >= *warm {
				onCPU = append(onCPU, threadCPU()-c0)
			}
			if err != nil {
				return fmt.Errorf("check %+v: %w", req, err)
			}
		}
		if i < *warm {
			if i == *warm-1 {
				cpu0 = cputime.Process()
			}
			continue
		}
		lat = append(lat, d)
		for _, it := range res.Items {
			if len(it.Recognisable) > 0 {
				found++
			}
			for _, r := range it.Reasons {
				reasons[r]++
			}
		}
	}
	cpu := cputime.Process() - cpu0
	slices.Sort(lat)
	if len(onCPU) > 0 {
		slices.Sort(onCPU)
		fmt.Fprintf(os.Stdout, "thread CPU per check: p50 %s p99 %s max %s\n", onCPU[len(onCPU)/2], onCPU[min(len(onCPU)-1, len(onCPU)*99/100)], onCPU[len(onCPU)-1])
	}
	over := 0
	for _, d := range lat {
		if d > 5*time.Millisecond {
			over++
		}
	}
	fmt.Fprintf(os.Stdout, "checks over 5 ms: %d of %d\n", over, len(lat))
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Fprintf(os.Stdout, "checks %d (%d items each, http=%v): p50 %s p90 %s p99 %s max %s; process CPU %s per check; items with a recognisable result %d/%d; reasons %v\n",
		len(lat), *nItems, *viaHTTP, pct(0.5), pct(0.9), pct(0.99), lat[len(lat)-1], (cpu / time.Duration(len(lat))).Round(time.Microsecond), found, len(lat)**nItems, reasons)
	return nil
}

// threadCPU is the calling thread's CPU time (Linux
// clock_gettime(CLOCK_THREAD_CPUTIME_ID), nanosecond precision).
func threadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}
