package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/xietong/xietong/internal/cputime"
	"github.com/xietong/xietong/server"
)

// kind is one query shape of the list.
type kind struct {
	Name  string
	Label string
	N     int                       // measured requests
	Make  func(r *rand.Rand) string // a request path (after /fhir/)
}

type result struct {
	Kind       kind
	Lat        []time.Duration
	CPU        []time.Duration // the process's CPU time per request
	Matches    int             // summed entries with search.mode=match
	Included   int
	Totals     int // summed totals, when reported
	Failures   int
	FirstError string
	slow       []slowReq
}

// slowReq is one measured request, for -slowest.
type slowReq struct {
	path      string
	wall, cpu time.Duration
}

func (r *result) pct(p float64) time.Duration { return pctOf(r.Lat, p) }

// pctOf is the p-th percentile (nearest rank) of sorted durations.
func pctOf(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(float64(len(d))*p/100+0.999999) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// sample is what the query phase draws parameters from: the patients
// loaded (in generation order) and facts of their source bundles.
type sample struct {
	src         []*srcBundle
	patients    int
	commonCodes []string // the 10 most frequent observation codes
}

func (s *sample) patient(r *rand.Rand) (id string, b *srcBundle) {
	k := r.IntN(s.patients)
	b = s.src[k%len(s.src)]
	return newID(k/len(s.src), b.PatientURL), b
}

func kinds(s *sample, n int) []kind {
	q := func(path string, v url.Values) string { return path + "?" + v.Encode() }
	return []kind{
		{Name: "a", Label: "one patient's Observations by code and date range", N: n, Make: func(r *rand.Rand) string {
			for {
				id, b := s.patient(r)
				if len(b.Obs) == 0 {
					continue
				}
				o := b.Obs[r.IntN(len(b.Obs))]
				d, err := time.Parse("2006-01-02", o.Effective[:10])
				if err != nil {
					continue
				}
				return q("Observation", url.Values{
					"patient": {"Patient/" + id},
					"code":    {o.System + "|" + o.Code},
					"date":    {"ge" + d.AddDate(0, -6, 0).Format("2006-01-02"), "le" + d.AddDate(0, 6, 0).Format("2006-01-02")},
				})
			}
		}},
		{Name: "b", Label: "token search on a common code, all patients, _count=50", N: n, Make: func(r *rand.Rand) string {
			return q("Observation", url.Values{"code": {s.commonCodes[r.IntN(len(s.commonCodes))]}, "_count": {"50"}})
		}},
		{Name: "c", Label: "chain: Observation?subject:Patient.name=<family>, _count=50", N: n, Make: func(r *rand.Rand) string {
			_, b := s.patient(r)
			return q("Observation", url.Values{"subject:Patient.name": {b.Family}, "_count": {"50"}})
		}},
		{Name: "d", Label: "_has: Patient?_has:Observation:patient:code=<code>, _count=50", N: n, Make: func(r *rand.Rand) string {
			for {
				_, b := s.patient(r)
				if len(b.Obs) == 0 {
					continue
				}
				o := b.Obs[r.IntN(len(b.Obs))]
				return q("Patient", url.Values{"_has:Observation:patient:code": {o.System + "|" + o.Code}, "_count": {"50"}})
			}
		}},
		{Name: "e1", Label: "_include: Observation?patient=X&_include=Observation:patient", N: n, Make: func(r *rand.Rand) string {
			id, _ := s.patient(r)
			return q("Observation", url.Values{"patient": {"Patient/" + id}, "_include": {"Observation:patient"}})
		}},
		{Name: "e2", Label: "_include: Encounter?patient=X&_include=Encounter:practitioner", N: n, Make: func(r *rand.Rand) string {
			id, _ := s.patient(r)
			return q("Encounter", url.Values{"patient": {"Patient/" + id}, "_include": {"Encounter:practitioner"}})
		}},
		{Name: "f", Label: "Observation?_summary=count (all Observations)", N: max(n/10, 5), Make: func(r *rand.Rand) string {
			return "Observation?_summary=count"
		}},
		{Name: "g", Label: "Patient/X/$everything (first page)", N: n, Make: func(r *rand.Rand) string {
			id, _ := s.patient(r)
			return "Patient/" + id + "/$everything"
		}},
	}
}

type bundleOut struct {
	ResourceType string `json:"resourceType"`
	Total        *int   `json:"total"`
	Entry        []struct {
		Search struct {
			Mode string `json:"mode"`
		} `json:"search"`
	} `json:"entry"`
}

// do runs one request against h and returns its latency.
func do(h http.Handler, path string) (time.Duration, *httptest.ResponseRecorder) {
	lat, _, rec := doCPU(h, path)
	return lat, rec
}

// doCPU also returns the CPU time the process spent during the request
// (user + system, all threads): on a machine shared with other work the
// wall time includes waiting for a core, the CPU time does not. With
// SQLite in-process it is the query's cost; with PostgreSQL the server's
// work is in another process and not counted.
func doCPU(h http.Handler, path string) (time.Duration, time.Duration, *httptest.ResponseRecorder) {
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/fhir/"+path, nil)
	req.Header.Set("Accept", "application/fhir+json")
	rec := httptest.NewRecorder()
	c0 := cputime.Process()
	t0 := time.Now()
	h.ServeHTTP(rec, req)
	return time.Since(t0), cputime.Process() - c0, rec
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

func runQueries(ctx context.Context, dsn, tz string, src []*srcBundle, n, warm int, seed uint64, only string, slowest int) ([]*result, error) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(ctx, server.Config{DB: dsn, TimeZone: tz, Logger: logger})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	h := srv.Handler()

	s := &sample{src: src}
	_, rec := do(h, "Patient?_summary=count")
	var cnt bundleOut
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &cnt) != nil || cnt.Total == nil {
		return nil, fmt.Errorf("counting patients: %d %s", rec.Code, rec.Body.String())
	}
	s.patients = *cnt.Total
	if s.patients == 0 {
		return nil, fmt.Errorf("no patients in %s: run -load first", dsn)
	}
	// The 10 most frequent observation codes.
	freq := map[string]int{}
	for _, b := range src {
		for _, o := range b.Obs {
			freq[o.System+"|"+o.Code]++
		}
	}
	for c := range freq {
		s.commonCodes = append(s.commonCodes, c)
	}
	sort.Slice(s.commonCodes, func(i, j int) bool {
		a, b := s.commonCodes[i], s.commonCodes[j]
		return freq[a] > freq[b] || freq[a] == freq[b] && a < b
	})
	s.commonCodes = s.commonCodes[:min(10, len(s.commonCodes))]
	fmt.Printf("%d patients loaded; common codes %v; load average %s\n", s.patients, s.commonCodes, loadavg())

	var out []*result
	for _, k := range kinds(s, n) {
		if only != "" && !strings.Contains(","+only+",", ","+k.Name+",") {
			continue
		}
		r := rand.New(rand.NewPCG(seed, uint64(len(k.Name))+uint64(k.Name[0])))
		// Warm: the cache, the statement caches, the plans.
		for i := 0; i < min(warm, k.N); i++ {
			do(h, k.Make(r))
		}
		res := &result{Kind: k}
		for i := 0; i < k.N; i++ {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			path := k.Make(r)
			lat, cpu, rec := doCPU(h, path)
			if rec.Code != 200 {
				res.Failures++
				if res.FirstError == "" {
					res.FirstError = fmt.Sprintf("%s: %d %.300s", path, rec.Code, rec.Body.String())
				}
				continue
			}
			res.Lat = append(res.Lat, lat)
			res.CPU = append(res.CPU, cpu)
			res.slow = append(res.slow, slowReq{path, lat, cpu})
			var b bundleOut
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err == nil {
				for _, e := range b.Entry {
					if e.Search.Mode == "include" {
						res.Included++
					} else {
						res.Matches++
					}
				}
				if b.Total != nil {
					res.Totals += *b.Total
				}
			}
		}
		sort.Slice(res.Lat, func(i, j int) bool { return res.Lat[i] < res.Lat[j] })
		sort.Slice(res.CPU, func(i, j int) bool { return res.CPU[i] < res.CPU[j] })
		fmt.Printf("%-3s p50 %8s  p99 %8s  cpu p50 %8s p99 %8s  n=%d fail=%d  matches/req %.1f included/req %.1f total/req %.0f  (load %s)  %s\n",
			k.Name, ms(res.pct(50)), ms(res.pct(99)), ms(pctOf(res.CPU, 50)), ms(pctOf(res.CPU, 99)), len(res.Lat), res.Failures,
			per(res.Matches, len(res.Lat)), per(res.Included, len(res.Lat)), per(res.Totals, len(res.Lat)), loadavg(), k.Label)
		if slowest > 0 {
			sort.Slice(res.slow, func(i, j int) bool { return res.slow[i].cpu > res.slow[j].cpu })
			for _, q := range res.slow[:min(slowest, len(res.slow))] {
				fmt.Printf("    slow: cpu %s wall %s  %s\n", ms(q.cpu), ms(q.wall), q.path)
			}
		}
		if res.FirstError != "" {
			fmt.Printf("    first failure: %s\n", res.FirstError)
		}
		out = append(out, res)
	}
	return out, nil
}

func per(a, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(a) / float64(n)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
