// Command onecode measures resolving e-health card codes
// (Patient/$resolve-health-card) through the real HTTP handler in process
// (server.New + httptest recorder, the principal of an institution), on a
// database where cards were issued to many patients.
//
//	go run ./bench/onecode -db /tmp/onecode.db -patients 100000 -n 2000
//	go run ./bench/onecode -db 'postgres://postgres@127.0.0.1:5432/xietong_onecode?sslmode=disable' -patients 100000 -n 2000
//
// Load (skipped when the patients are there): 20 institutions in the
// three cities of 通武廊, then the patients in transactions of 1,000
// through the node's API, each carrying its card identifier exactly as
// $issue-health-card writes it (and $issue-health-card is called for a
// sample to check). Measure: -n resolves of fresh dynamic codes of
// random patients at random institutions, first visits (the local record
// is created: a transaction), then the same pairs again with static codes
// (the record exists: reads only), then again with -c concurrent clients.
// It prints p50, p90, p99 and max per phase.
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
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/empi"
	"github.com/xietong/xietong/healthcard"
	"github.com/xietong/xietong/identity/idnumber"
	"github.com/xietong/xietong/internal/cputime"
	"github.com/xietong/xietong/server"
)

func main() {
	db := flag.String("db", "/tmp/xietong-onecode.db", "database: a SQLite path or a postgres:// URL")
	patients := flag.Int("patients", 100000, "patients with a card")
	n := flag.Int("n", 2000, "resolves per phase")
	conc := flag.Int("c", 4, "concurrent clients in the last phase")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the known-patient static-code phase")
	loadWorkers := flag.Int("load-workers", 4, "concurrent transactions when loading")
	firstprofile := flag.String("firstprofile", "", "write a CPU profile of the first-visit phase")
	keys := flag.String("keys", "", "key file (default: next to a SQLite file, else in the temp folder)")
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
	h := srv.Handler()
	kr := srv.HealthCards().Keys()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	type pair struct{ pat, inst int }
	pairs := make([]pair, *n)
	seen := map[pair]bool{}
	for i := range pairs {
		for {
			p := pair{rng.IntN(*patients), rng.IntN(len(institutions))}
			if !seen[p] {
				seen[p] = true
				pairs[i] = p
				break
			}
		}
	}
	resolve := func(p pair, code string) (time.Duration, bool) {
		inst := institutions[p.inst]
		body := `{"resourceType":"Parameters","parameter":[{"name":"code","valueString":"` + code + `"},` +
			`{"name":"institution","valueString":"` + inst.code + `"},{"name":"channel","valueCode":"0300"},{"name":"careStep","valueCode":"registration"}]}`
		pctx := access.WithPrincipal(ctx, access.Principal{Subject: "his-" + inst.code, Role: "clinician", Organization: "Organization/" + inst.id})
		req := httptest.NewRequestWithContext(pctx, http.MethodPost, "/fhir/Patient/$resolve-health-card", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/fhir+json")
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(start)
		if rec.Code != 200 {
			log.Fatalf("resolve answered %d: %s", rec.Code, rec.Body.String())
		}
		return d, bytes.Contains(rec.Body.Bytes(), []byte(`"name":"created","valueBoolean":true`))
	}
	read := func(p pair) (time.Duration, bool) {
		inst := institutions[p.inst]
		pctx := access.WithPrincipal(ctx, access.Principal{Subject: "his-" + inst.code, Role: "clinician", Organization: "Organization/" + inst.id})
		req := httptest.NewRequestWithContext(pctx, http.MethodGet, "/fhir/Patient/"+patientID(p.pat), nil)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(start)
		if rec.Code != 200 {
			log.Fatalf("read answered %d: %s", rec.Code, rec.Body.String())
		}
		return d, false
	}
	var call func(p pair, code string) (time.Duration, bool) = resolve
	phase := func(name string, clients int, code func(p pair) string) {
		ds := make([]time.Duration, len(pairs))
		var wg sync.WaitGroup
		var mu sync.Mutex
		createdN := 0
		next := make(chan int)
		start, cpu0 := time.Now(), cputime.Process()
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					d, created := call(pairs[i], code(pairs[i]))
					if created {
						mu.Lock()
						createdN++
						mu.Unlock()
					}
					ds[i] = d
				}
			}()
		}
		for i := range pairs {
			next <- i
		}
		close(next)
		wg.Wait()
		wall := time.Since(start)
		cpu := cputime.Process() - cpu0
		slices.Sort(ds)
		q := func(f float64) string {
			return fmt.Sprintf("%.2f", float64(ds[int(f*float64(len(ds)-1))].Microseconds())/1000)
		}
		fmt.Printf("%-40s clients %d  n %d (created %4d)  p50 %s ms  p90 %s ms  p99 %s ms  max %s ms  %.0f/s  cpu %.2f ms/call\n",
			name, clients, len(ds), createdN, q(0.5), q(0.9), q(0.99), q(1), float64(len(ds))/wall.Seconds(), float64(cpu.Microseconds())/1000/float64(len(ds)))
	}
	dynamic := func(p pair) string {
		return kr.Sign(healthcard.PlainText(cardID(p.pat), healthcard.TypeDynamic, time.Now().Add(time.Minute)))
	}
	static := func(p pair) string {
		return kr.Sign(healthcard.PlainText(cardID(p.pat), healthcard.TypeStatic, time.Time{}))
	}
	fmt.Printf("db %s, %d patients with cards, %d institutions\n", redact(*db), *patients, len(institutions))
	stop := startProfile(*firstprofile)
	phase("first visit (dynamic code, record created)", 1, dynamic)
	srv.HealthCards().Flush()
	stop()
	stop = startProfile(*cpuprofile)
	phase("known patient (static code)", 1, static)
	stop()
	phase("known patient (dynamic code)", *conc, dynamic)
	srv.HealthCards().Flush()
	call = func(p pair, _ string) (time.Duration, bool) { return read(p) }
	phase("baseline: GET Patient/id (same handler)", 1, static)
	phase("baseline: GET Patient/id (same handler)", *conc, static)
}

// startProfile starts a CPU profile into path (none when path is empty)
// and returns what stops it.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
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
