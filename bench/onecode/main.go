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
	"github.com/xietong/xietong/healthcard"
	"github.com/xietong/xietong/internal/cputime"
	"github.com/xietong/xietong/server"
)

func main() {
	db := flag.String("db", "/tmp/xietong-onecode.db", "database: a SQLite path or a postgres:// URL")
	patients := flag.Int("patients", 100000, "patients with a card")
	n := flag.Int("n", 2000, "resolves per phase")
	conc := flag.Int("c", 4, "concurrent clients in the last phase")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the known-patient static-code phase")
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
	if err := load(ctx, srv, *patients); err != nil {
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
	phase("first visit (dynamic code, record created)", 1, dynamic)
	srv.HealthCards().Flush()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	phase("known patient (static code)", 1, static)
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	phase("known patient (dynamic code)", *conc, dynamic)
	srv.HealthCards().Flush()
	call = func(p pair, _ string) (time.Duration, bool) { return read(p) }
	phase("baseline: GET Patient/id (same handler)", 1, static)
	phase("baseline: GET Patient/id (same handler)", *conc, static)
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

func patientID(i int) string { return fmt.Sprintf("onecode-pat-%06d", i) }

// load writes the institutions and patients unless the last patient exists.
func load(ctx context.Context, srv *server.Server, patients int) error {
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
	surnames := []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"}
	given := []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军"}
	issued := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	for b := 0; b < patients; b += 1000 {
		entries = entries[:0]
		for i := b; i < min(b+1000, patients); i++ {
			name := surnames[i%10] + given[(i/10)%10]
			entries = append(entries, map[string]any{
				"resource": map[string]any{"resourceType": "Patient", "id": patientID(i),
					"identifier": []any{map[string]any{"use": "official", "type": map[string]any{"text": "电子健康卡"},
						"system": healthcard.SystemCardID, "value": cardID(i), "period": map[string]any{"start": issued}}},
					"name":      []any{map[string]any{"text": name, "family": name[:3], "given": []any{name[3:]}}},
					"gender":    []string{"male", "female"}[i%2],
					"birthDate": fmt.Sprintf("%04d-%02d-%02d", 1940+i%70, 1+i%12, 1+i%28)},
				"request": map[string]any{"method": "PUT", "url": "Patient/" + patientID(i)},
			})
		}
		if _, err := srv.Transaction(ctx, map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries}); err != nil {
			return err
		}
		if (b/1000)%10 == 9 {
			fmt.Fprintf(os.Stderr, "loaded %d patients in %s\n", b+1000, time.Since(start).Round(time.Second))
		}
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
