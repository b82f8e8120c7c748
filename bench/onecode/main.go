// Command onecode measures resolving e-health card codes
// (Patient/$resolve-health-card) through the real HTTP handler in process
// (server.New + httptest recorder, the principal of an institution), on a
// database where cards were issued to many patients.
//
//	go run ./bench/onecode -db /tmp/onecode.db -patients 100000 -n 2000 -rate 100
//	go run ./bench/onecode -db /tmp/onecode.db -n 2000 -rate 100 -ingest ../shared/synthea/r4 -ingest-rate 300
//	go run ./bench/onecode -db 'postgres://postgres@127.0.0.1:5432/xietong_onecode?sslmode=disable' -patients 100000 -n 2000
//
// Load (skipped when the patients are there): 20 institutions in the
// three cities of 通武廊, then the patients in transactions of 1,000
// through the node's API, each carrying its card identifier exactly as
// $issue-health-card writes it (and $issue-health-card is called for a
// sample to check). Measure: -n resolves of fresh dynamic codes of
// random patients at random institutions, first visits (the local record
// is created: a transaction), then the same pairs again with static codes
// (the record exists: reads only), with -rate an open loop of static codes
// at that mean rate (Poisson arrivals, each call measured from its
// scheduled send time), then dynamic codes with -c concurrent clients,
// and a read by id as the machine's baseline. With -ingest (and -rate),
// a mixed open loop of known patients at -rate and first visits at
// -first-rate runs twice, side by side: without, then beside a steady
// write load (the folder's transaction Bundles posted through the same
// node at -ingest-rate resources per second). It prints p50, p90, p99,
// max, the process's CPU and allocations per call and the GCs per phase
// (decision 024 states the load model).
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/bench/ingest"
	"github.com/xietong/xietong/empi"
	"github.com/xietong/xietong/healthcard"
	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/internal/cputime"
	"github.com/xietong/xietong/internal/profile"
	"github.com/xietong/xietong/server"
)

func main() {
	db := flag.String("db", "/tmp/xietong-onecode.db", "database: a SQLite path or a postgres:// URL")
	patients := flag.Int("patients", 100000, "patients with a card")
	n := flag.Int("n", 2000, "resolves per phase")
	conc := flag.Int("c", 4, "concurrent clients in the last phase")
	rate := flag.Float64("rate", 0, "also measure an open-loop phase: known patients, static codes, sent at this mean rate per second (Poisson arrivals), latency from each call's scheduled send time")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the known-patient static-code phase (-profile-phase)")
	profilePhase := flag.String("profile-phase", "closed", "the phase that -cpuprofile and -trace cover: closed (known patients, one client), open (known patients, -rate), mixed or mixed-writes (the -ingest phases without and beside the write load)")
	memprofile := flag.String("memprofile", "", "write a heap profile of the node after its start (after a GC), before the phases")
	tracefile := flag.String("trace", "", "write an execution trace (runtime/trace) of the known-patient static-code phase (-profile-phase), each call a region")
	loadWorkers := flag.Int("load-workers", 4, "concurrent transactions when loading")
	firstprofile := flag.String("firstprofile", "", "write a CPU profile of the first-visit phase")
	keys := flag.String("keys", "", "key file (default: next to a SQLite file, else in the temp folder)")
	ingestDir := flag.String("ingest", "", "with -rate, also measure resolves beside a steady write load: transaction Bundles from this folder (../shared/synthea/r4) posted through the same node at -ingest-rate")
	ingestRate := flag.Float64("ingest-rate", 300, "resources per second the -ingest load writes (whole Bundles, spaced to this mean rate)")
	firstRate := flag.Float64("first-rate", 10, "first visits per second mixed into the -ingest phases' open loop")
	flag.Parse()
	if *keys == "" {
		*keys = server.HealthCardKeysPath(*db)
		if strings.Contains(*db, "://") {
			*keys = filepath.Join(os.TempDir(), "xietong-onecode-keys.json")
		}
	}
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DB: *db, HealthCardKeyFile: *keys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	if err := load(ctx, srv, *patients, *loadWorkers); err != nil {
		log.Fatal(err)
	}
	runtime.GC()
	gcStart, gcCPU := time.Now(), cputime.Process()
	runtime.GC() // a forced full collection of the node's heap: what a GC cycle marks
	gcWall, gcCost := time.Since(gcStart), cputime.Process()-gcCPU
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	if *memprofile != "" {
		writeHeapProfile(*memprofile)
	}
	b := &bench{h: srv.Handler(), ctx: ctx, cards: srv.HealthCards()}
	kr := srv.HealthCards().Keys()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	seen := map[pair]bool{}
	pairs := freshPairs(rng, seen, *n, *patients)
	dynamic := func(p pair) string {
		return kr.Sign(healthcard.PlainText(cardID(p.pat), healthcard.TypeDynamic, time.Now().Add(time.Minute)))
	}
	static := func(p pair) string {
		return kr.Sign(healthcard.PlainText(cardID(p.pat), healthcard.TypeStatic, time.Time{}))
	}
	fmt.Printf("db %s, %d patients with cards, %d institutions; live heap after start %d MB (%d objects); a forced GC %.0f ms (%.0f ms CPU)\n",
		redact(*db), *patients, len(institutions), mem.HeapAlloc>>20, mem.HeapObjects, ms(gcWall), ms(gcCost))
	stop := startProfile(*firstprofile)
	b.closedLoop("first visit (dynamic code, record created)", pairs, 1, dynamic, b.resolve)
	srv.HealthCards().Flush()
	stop()
	profiled := func(phase string, run func()) {
		if phase != *profilePhase {
			run()
			return
		}
		stop := startProfile(*cpuprofile)
		stopTrace := startTrace(*tracefile)
		run()
		stopTrace()
		stop()
	}
	profiled("closed", func() { b.closedLoop("known patient (static code)", pairs, 1, static, b.resolve) })
	if *rate > 0 {
		profiled("open", func() { b.openLoop("known patient (static code), open loop", pairs, *rate, static, rng) })
	}
	b.closedLoop("known patient (dynamic code)", pairs, *conc, dynamic, b.resolve)
	srv.HealthCards().Flush()
	if *ingestDir != "" && *rate > 0 {
		bundles, err := ingest.LoadDir(*ingestDir, 0)
		if err != nil {
			log.Fatal(err)
		}
		// The same mixed open loop twice, side by side in one run: known
		// patients at -rate and first visits at -first-rate, first
		// without, then with the write load beside it. Each run has
		// first visits of its own (pairs not resolved before).
		nFirst := max(1, int(float64(*n)**firstRate / *rate))
		for _, load := range []float64{0, *ingestRate} {
			fresh := freshPairs(rng, seen, nFirst, *patients)
			phase := "mixed"
			if load > 0 {
				phase = "mixed-writes"
			}
			profiled(phase, func() { b.mixedLoop(srv, pairs, fresh, *rate, *firstRate, static, dynamic, rng, bundles, load) })
			srv.HealthCards().Flush()
		}
	}
	b.closedLoop("baseline: GET Patient/id (same handler)", pairs, 1, static, b.read)
	b.closedLoop("baseline: GET Patient/id (same handler)", pairs, *conc, static, b.read)
}

type pair struct{ pat, inst int }

// freshPairs picks n (patient, institution) pairs not in seen (and adds
// them): first visits.
func freshPairs(rng *rand.Rand, seen map[pair]bool, n, patients int) []pair {
	out := make([]pair, 0, n)
	for len(out) < n {
		p := pair{rng.IntN(patients), rng.IntN(len(institutions))}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// mixedLoop is an open loop of known-patient resolves (static codes of
// known pairs) at rate and first visits (dynamic codes of fresh pairs) at
// firstRate, merged Poisson arrivals, each call measured from its
// scheduled send as in openLoop; with writeRate > 0 a writer posts the
// transaction Bundles (cycling through them) through the same handler
// beside it, whole Bundles spaced so that the resources arrive at
// writeRate per second on average (a region's results arriving all day),
// one at a time, each sent at its scheduled time or as soon as the one
// before is answered. It reports each kind of resolve, and what the
// writer wrote.
func (b *bench) mixedLoop(srv *server.Server, known, fresh []pair, rate, firstRate float64, static, dynamic func(pair) string, rng *rand.Rand,
	bundles []ingest.Bundle, writeRate float64) {
	type call struct {
		at    time.Duration
		p     pair
		first bool
		code  string
	}
	var calls []call
	var t time.Duration
	for _, p := range known {
		t += time.Duration(rng.ExpFloat64() / rate * float64(time.Second))
		calls = append(calls, call{at: t, p: p, code: static(p)})
	}
	span := t
	t = 0
	for _, p := range fresh {
		t += time.Duration(rng.ExpFloat64() / firstRate * float64(time.Second))
		if t > span {
			break
		}
		calls = append(calls, call{at: t, p: p, first: true})
	}
	slices.SortFunc(calls, func(x, y call) int { return int(x.at - y.at) })
	for i := range calls {
		if calls[i].first {
			// Dynamic codes live a minute: signed now, before the clock.
			calls[i].code = dynamic(calls[i].p)
		}
	}
	ds := make([]time.Duration, len(calls))
	created := make([]bool, len(calls))
	stopWriter := make(chan struct{})
	var writer sync.WaitGroup
	var wrote, wroteBundles atomic.Int64
	var wlat []time.Duration
	if writeRate > 0 {
		writer.Add(1)
		go func() {
			defer writer.Done()
			pctx := access.WithPrincipal(b.ctx, access.Principal{Subject: "lis-onecode-bench", Role: "clinician", Organization: "Organization/" + institutions[0].id})
			start := time.Now()
			var due time.Duration
			for i := 0; ; i++ {
				bu := bundles[i%len(bundles)]
				select {
				case <-stopWriter:
					return
				case <-time.After(time.Until(start.Add(due))):
				}
				req := httptest.NewRequestWithContext(pctx, http.MethodPost, "/fhir", bytes.NewReader(bu.Body))
				req.Header.Set("Content-Type", "application/fhir+json")
				req.Header.Set("Prefer", "return=minimal")
				rec := httptest.NewRecorder()
				t0 := time.Now()
				b.h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					log.Fatalf("the write load's Bundle %s answered %d: %.300s", bu.Name, rec.Code, rec.Body.String())
				}
				wlat = append(wlat, time.Since(t0))
				wrote.Add(int64(bu.Resources))
				wroteBundles.Add(1)
				due += time.Duration(float64(bu.Resources) / writeRate * float64(time.Second))
			}
		}()
		// Let the writer's first Bundle start before the clock does.
		time.Sleep(50 * time.Millisecond)
	}
	m := startMeasure()
	start := m.start
	var wg sync.WaitGroup
	late := 0
	for i, c := range calls {
		if d := time.Until(start.Add(c.at)); d > 0 {
			time.Sleep(d)
		} else if d < -time.Millisecond {
			late++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			region := "resolve"
			if c.first {
				region = "first visit"
			}
			created[i] = b.resolveIn(region, c.p, c.code)
			ds[i] = time.Since(start.Add(c.at))
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	close(stopWriter)
	writer.Wait()
	var kd, fd []time.Duration
	nCreated := 0
	for i, c := range calls {
		if c.first {
			fd = append(fd, ds[i])
			if created[i] {
				nCreated++
			}
		} else {
			kd = append(kd, ds[i])
		}
	}
	load := "no write load"
	if writeRate > 0 {
		load = fmt.Sprintf("writes %g res/s", writeRate)
	}
	lag := b.settle()
	m.report(fmt.Sprintf("mixed open loop, all calls (%s)", load), fmt.Sprintf("rate %g+%g/s", rate, firstRate), ds, nCreated)
	fmt.Printf("  known patients (static code):     %s\n", quantiles(kd))
	fmt.Printf("  first visits (dynamic, created %d): %s\n", nCreated, quantiles(fd))
	lag()
	if writeRate > 0 {
		fmt.Printf("  write load: %d Bundles, %d resources in %.1f s (%.0f res/s); Bundle %s; %d sends left more than 1 ms late\n",
			wroteBundles.Load(), wrote.Load(), wall.Seconds(), float64(wrote.Load())/wall.Seconds(), quantiles(wlat), late)
	} else {
		fmt.Printf("  %d sends left more than 1 ms late\n", late)
	}
}

// bench calls the node's handler as the institutions' systems do.
type bench struct {
	h     http.Handler
	ctx   context.Context
	cards *healthcard.Service
}

// settle waits, inside a phase's measurement, until the first visits it
// answered have their records in the store (decision 031: the records are
// written right behind the answers), so that the phase's CPU and wall
// time include that work; it returns a line with the lag from each
// answer to its record's commit, printed after the phase's. Nothing to
// wait for where first visits write before answering.
func (b *bench) settle() (lagLine func()) {
	b.cards.AwaitFirstVisits(b.ctx, time.Minute)
	lags := b.cards.FirstVisitLags()
	if len(lags) == 0 {
		return func() {}
	}
	return func() {
		fmt.Printf("  first-visit record lag (answer → committed in the store): %s\n", quantiles(lags))
	}
}

// resolve posts the code scanned at p's institution and reports whether
// the local record was created.
func (b *bench) resolve(p pair, code string) bool { return b.resolveIn("resolve", p, code) }

// resolveIn is resolve, the call a runtime/trace region of that name (-trace).
func (b *bench) resolveIn(region string, p pair, code string) bool {
	inst := institutions[p.inst]
	body := `{"resourceType":"Parameters","parameter":[{"name":"code","valueString":"` + code + `"},` +
		`{"name":"institution","valueString":"` + inst.code + `"},{"name":"channel","valueCode":"0300"},{"name":"careStep","valueCode":"registration"}]}`
	pctx := access.WithPrincipal(b.ctx, access.Principal{Subject: "his-" + inst.code, Role: "clinician", Organization: "Organization/" + inst.id})
	req := httptest.NewRequestWithContext(pctx, http.MethodPost, "/fhir/Patient/$resolve-health-card", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	rec := httptest.NewRecorder()
	trace.WithRegion(b.ctx, region, func() { b.h.ServeHTTP(rec, req) })
	if rec.Code != 200 {
		log.Fatalf("resolve answered %d: %s", rec.Code, rec.Body.String())
	}
	return bytes.Contains(rec.Body.Bytes(), []byte(`"name":"created","valueBoolean":true`))
}

// read is the baseline: GET Patient/id of p's patient.
func (b *bench) read(p pair, _ string) bool {
	inst := institutions[p.inst]
	pctx := access.WithPrincipal(b.ctx, access.Principal{Subject: "his-" + inst.code, Role: "clinician", Organization: "Organization/" + inst.id})
	req := httptest.NewRequestWithContext(pctx, http.MethodGet, "/fhir/Patient/"+patientID(p.pat), nil)
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		log.Fatalf("read answered %d: %s", rec.Code, rec.Body.String())
	}
	return false
}

// closedLoop calls call once per pair from clients concurrent clients,
// each sending its next call when the last one is answered.
func (b *bench) closedLoop(name string, pairs []pair, clients int, code func(pair) string, call func(pair, string) bool) {
	ds := make([]time.Duration, len(pairs))
	var created atomic.Int64
	next := make(chan int)
	m := startMeasure()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c := code(pairs[i])
				start := time.Now()
				if call(pairs[i], c) {
					created.Add(1)
				}
				ds[i] = time.Since(start)
			}
		}()
	}
	for i := range pairs {
		next <- i
	}
	close(next)
	wg.Wait()
	lag := b.settle()
	m.report(name, fmt.Sprintf("clients %d", clients), ds, int(created.Load()))
	lag()
}

// openLoop sends one resolve per pair at Poisson arrival times of mean
// rate per second, each from its own goroutine at its scheduled time
// whether or not earlier calls were answered (independent scans from many
// institutions), and measures each call from its scheduled send time: a
// call that could not start on time because the process was busy counts
// its wait (no coordinated omission). Codes are signed before the clock
// starts, as terminals sign nothing.
func (b *bench) openLoop(name string, pairs []pair, rate float64, code func(pair) string, rng *rand.Rand) {
	codes := make([]string, len(pairs))
	at := make([]time.Duration, len(pairs))
	var t time.Duration
	for i, p := range pairs {
		codes[i] = code(p)
		t += time.Duration(rng.ExpFloat64() / rate * float64(time.Second))
		at[i] = t
	}
	ds := make([]time.Duration, len(pairs))
	svc := make([]time.Duration, len(pairs)) // from the actual send, for comparison
	var late atomic.Int64
	m := startMeasure()
	start := m.start
	var wg sync.WaitGroup
	// The sender sleeps on a Go timer. In an idle process the runtime
	// waits for timers in epoll_wait, whose timeout is in milliseconds, so
	// a send can leave up to 1 ms late; that wait is in the figures. A
	// sleep in the kernel (nanosleep on a locked thread) was tried: the
	// call it starts then waits behind the sleeping thread's processor
	// until the runtime retakes it, and it measured worse (decision 024).
	for i, p := range pairs {
		if d := time.Until(start.Add(at[i])); d > 0 {
			time.Sleep(d)
		} else if d < -time.Millisecond {
			late.Add(1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := time.Now()
			b.resolve(p, codes[i])
			ds[i] = time.Since(start.Add(at[i]))
			svc[i] = time.Since(sent)
		}()
	}
	wg.Wait()
	m.report(name, fmt.Sprintf("rate %g/s", rate), ds, 0)
	slices.Sort(svc)
	fmt.Printf("  from the actual send instead: p50 %.2f ms  p99 %.2f ms; %d sends left more than 1 ms late (their wait is in the figures above)\n",
		ms(svc[len(svc)/2]), ms(svc[int(0.99*float64(len(svc)-1))]), late.Load())
}

// measure is one phase's clock, CPU time and GC count.
type measure struct {
	start          time.Time
	cpu            time.Duration
	gc             uint32
	mallocs, bytes uint64
}

func startMeasure() measure {
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	return measure{start: time.Now(), cpu: cputime.Process(), gc: mem.NumGC, mallocs: mem.Mallocs, bytes: mem.TotalAlloc}
}

func (m measure) report(name, load string, ds []time.Duration, created int) {
	wall := time.Since(m.start)
	cpu := cputime.Process() - m.cpu
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	ds = slices.Clone(ds)
	slices.Sort(ds)
	q := func(f float64) string { return fmt.Sprintf("%.2f", ms(ds[int(f*float64(len(ds)-1))])) }
	n := float64(len(ds))
	fmt.Printf("%-46s %-12s n %d (created %4d)  p50 %s ms  p90 %s ms  p99 %s ms  max %s ms  %.0f/s  cpu %.2f ms/call  %.0f allocs %.0f KB/call  gc %d\n",
		name, load, len(ds), created, q(0.5), q(0.9), q(0.99), q(1), n/wall.Seconds(),
		float64(cpu.Microseconds())/1000/n, float64(mem.Mallocs-m.mallocs)/n, float64(mem.TotalAlloc-m.bytes)/1024/n, mem.NumGC-m.gc)
}

// quantiles is the count, p50, p90, p99 and max of d in milliseconds.
func quantiles(d []time.Duration) string {
	d = slices.Clone(d)
	slices.Sort(d)
	q := func(f float64) float64 { return ms(d[int(f*float64(len(d)-1))]) }
	return fmt.Sprintf("n %d  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms", len(d), q(0.5), q(0.9), q(0.99), q(1))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		log.Fatal(err)
	}
}

// startProfile starts a CPU profile into path (none when path is empty)
// and returns what stops it.
func startProfile(path string) func() { return mustCapture(profile.CPU(path)) }

// startTrace starts an execution trace into path (none when path is
// empty) and returns what stops it.
func startTrace(path string) func() { return mustCapture(profile.Trace(path)) }

func mustCapture(stop func() error, err error) func() {
	if err != nil {
		log.Fatal(err)
	}
	return func() {
		if err := stop(); err != nil {
			log.Fatal(err)
		}
	}
}

type inst struct{ id, code, div, name string }

var institutions = func() []inst {
	divs := []string{"110112", "120114", "131003", "131082", "131028", "131024"}
	var out []inst
	for i := range 20 {
		d := divs[i%len(divs)]
		code := fmt.Sprintf("%s%03d", d, 100+i)
		out = append(out, inst{id: "onecode-org-" + code, code: code, div: d, name: fmt.Sprintf("一码通测试医院%02d", i)})
	}
	return out
}()

func cardID(i int) string {
	s := sha256.Sum256([]byte(fmt.Sprintf("onecode-bench-%d", i)))
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

// residentRecord is a patient of the benchmark: distinct persons, as a region's
// card holders are. Birth dates run over 70 years and names over 20
// surnames × 1,600 given names, so the EMPI's blocks stay the size of a
// real region's; each has a valid resident ID number (GB 11643) of its own,
// so no two are one person. (The first version cycled 100 names and 420
// birth dates: 2,100 distinct records, so each loaded record linked to a
// master shared with ~40 identical others, every load rebuilt such a
// master from all its sources, and the load slowed down quadratically:
// 77,000 cards in 48 minutes.)
type residentRecord struct {
	family, given, gender, idNumber string
	birth                           time.Time
}

// patientEntry is the transaction entry of patient i: an institution's
// record carrying the card identifier as $issue-health-card writes it.
func patientEntry(i int, issued string) map[string]any {
	r := resident(i)
	return map[string]any{
		"resource": map[string]any{"resourceType": "Patient", "id": patientID(i),
			"identifier": []any{
				map[string]any{"use": "official", "type": map[string]any{"text": "电子健康卡"},
					"system": healthcard.SystemCardID, "value": cardID(i), "period": map[string]any{"start": issued}},
				map[string]any{"system": empi.SystemResidentID, "value": r.idNumber}},
			"name":      []any{map[string]any{"text": r.family + r.given, "family": r.family, "given": []any{r.given}}},
			"gender":    r.gender,
			"birthDate": r.birth.Format("2006-01-02")},
		"request": map[string]any{"method": "PUT", "url": "Patient/" + patientID(i)},
	}
}

// resident is patient i.
func resident(i int) residentRecord {
	const days = 70 * 365
	surnames := []rune("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗")
	chars := []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉建国志红文斌宇浩凯鹏飞")
	h := uint64(i)*0x9E3779B97F4A7C15 + 12345
	h ^= h >> 29
	r := residentRecord{
		family: string(surnames[h%uint64(len(surnames))]),
		given:  string(chars[(h>>8)%uint64(len(chars))]) + string(chars[(h>>16)%uint64(len(chars))]),
		birth:  time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%days),
		gender: "female",
	}
	// The sequence's parity is the sex (odd: male); i/days keeps numbers
	// of the same birth date apart.
	seq := 2 * (i / days)
	if i%2 == 0 {
		r.gender, seq = "male", seq+1
	}
	divs := []string{"110112", "120114", "131002", "131082", "131028", "131024"}
	r.idNumber = idnumber.Generate(divs[i%len(divs)], r.birth, seq)
	return r
}

func patientID(i int) string { return fmt.Sprintf("onecode-pat-%06d", i) }

// load writes the institutions and patients unless the last patient exists.
func load(ctx context.Context, srv *server.Server, patients, loadWorkers int) error {
	if _, err := srv.Store().Read(ctx, "Patient", patientID(patients-1)); err == nil {
		return nil
	}
	start := time.Now()
	var entries []any
	for _, in := range institutions {
		entries = append(entries, map[string]any{
			"resource": map[string]any{"resourceType": "Organization", "id": in.id, "name": in.name, "active": true,
				"identifier": []any{map[string]any{"system": healthcard.SystemInstitutionCode, "value": in.code}},
				"address": []any{map[string]any{"extension": []any{map[string]any{"url": healthcard.ExtAddressDivision,
					"valueCoding": map[string]any{"system": "https://xietong.dev/fhir/CodeSystem/gbt-2260", "code": in.div}}}}}},
			"request": map[string]any{"method": "PUT", "url": "Organization/" + in.id},
		})
	}
	if _, err := srv.Transaction(ctx, map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries}); err != nil {
		return err
	}
	issued := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	// Batches go in -load-workers concurrent transactions (on PostgreSQL a
	// transaction waits on a round trip per row; SQLite's writer commits
	// concurrent ones together). A batch whose last Patient exists was
	// loaded by an earlier run and is skipped.
	batches := make(chan int)
	errs := make(chan error, loadWorkers)
	var done sync.WaitGroup
	var loaded sync.Mutex
	n := 0
	for range loadWorkers {
		done.Add(1)
		go func() {
			defer done.Done()
			for b := range batches {
				last := min(b+1000, patients) - 1
				if _, err := srv.Store().Read(ctx, "Patient", patientID(last)); err == nil {
					continue
				}
				var entries []any
				for i := b; i <= last; i++ {
					entries = append(entries, patientEntry(i, issued))
				}
				if _, err := srv.Transaction(ctx, map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries}); err != nil {
					errs <- err
					return
				}
				loaded.Lock()
				n += len(entries)
				if n%10000 == 0 {
					fmt.Fprintf(os.Stderr, "loaded %d patients in %s\n", n, time.Since(start).Round(time.Second))
				}
				loaded.Unlock()
			}
		}()
	}
	for b := 0; b < patients; b += 1000 {
		select {
		case batches <- b:
		case err := <-errs:
			close(batches)
			return err
		}
	}
	close(batches)
	done.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	// With the EMPI each loaded Patient is an institution's record linked
	// to a master it made, and the card is on that record (a card the
	// institution recorded) rather than on the master, where
	// $issue-health-card writes it; resolving finds the master through
	// the record's refer link, one read more than for a card on the
	// master, so the figures are conservative. Check that a code of a
	// loaded card resolves to the record's master.
	for _, i := range []int{0, patients / 2, patients - 1} {
		v, err := srv.Store().Read(ctx, "Patient", patientID(i))
		if err != nil {
			return err
		}
		code := srv.HealthCards().Keys().Sign(healthcard.PlainText(cardID(i), healthcard.TypeStatic, time.Time{}))
		res, err := srv.HealthCards().Resolve(ctx, healthcard.ResolveRequest{Code: code, Institution: institutions[0].code})
		if err != nil {
			return fmt.Errorf("resolve the card of %s: %w", patientID(i), err)
		}
		if !bytes.Contains(v.Body, []byte(`"Patient/`+fmt.Sprint(res.Master["id"])+`"`)) {
			return fmt.Errorf("the card of %s resolved to Patient/%v, not its master", patientID(i), res.Master["id"])
		}
	}
	fmt.Fprintf(os.Stderr, "loaded %d patients in %s\n", patients, time.Since(start).Round(time.Second))
	return nil
}

func redact(dsn string) string {
	if i := strings.Index(dsn, "?"); i >= 0 {
		return dsn[:i]
	}
	return dsn
}
