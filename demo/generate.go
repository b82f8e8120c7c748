package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/xietong/xietong/fhir/fhirjson"
)

// Config sizes the demo region. Zero fields take the Default values.
type Config struct {
	Patients      int    // residents with records (default 20,000)
	Practitioners int    // health workers across the region (default 300)
	Months        int    // months of results before demo today, 2026-11-01 (default 18)
	Seed          uint64 // everything derives from it (default 20261101)
}

// Default is the region of issue 7: about 40 institutions, 300
// practitioners, 20,000 patients and 18 months of results.
func Default() Config {
	return Config{Patients: 20000, Practitioners: 300, Months: 18, Seed: 20261101}
}

// Small is a region for tests: the full directory, 60 practitioners and
// 200 patients.
func Small() Config {
	return Config{Patients: 200, Practitioners: 60, Months: 18, Seed: 20261101}
}

func (c Config) withDefaults() Config {
	d := Default()
	if c.Patients <= 0 {
		c.Patients = d.Patients
	}
	if c.Practitioners <= 0 {
		c.Practitioners = d.Practitioners
	}
	if c.Months <= 0 {
		c.Months = d.Months
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	return c
}

const (
	// MaxEntries bounds the entries of one Bundle; an encounter and its
	// results are never split across Bundles.
	MaxEntries = 500
	// patientsPerChunk is how many patients one patients Bundle holds;
	// their results follow in results Bundles.
	patientsPerChunk = 250
)

// bundler collects entries into groups of at most MaxEntries, handing
// each full group with its section name to out.
type bundler struct {
	out     func(section string, entries []any) error
	section string
	entries []any
}

func (b *bundler) add(res obj) {
	typ := res["resourceType"].(string)
	id := res["id"].(string)
	b.entries = append(b.entries, obj{
		"fullUrl":  "urn:uuid:" + uuidFor(typ, id),
		"resource": res,
		"request":  obj{"method": "PUT", "url": typ + "/" + id},
	})
}

// room flushes first when n more entries would not fit.
func (b *bundler) room(n int) error {
	if len(b.entries)+n > MaxEntries {
		return b.flush()
	}
	return nil
}

func (b *bundler) flush() error {
	if len(b.entries) == 0 {
		return nil
	}
	e := b.entries
	b.entries = nil
	return b.out(b.section, e)
}

func (b *bundler) start(section string) error {
	if err := b.flush(); err != nil {
		return err
	}
	b.section = section
	return nil
}

// part is the entries of one Bundle before it is numbered.
type part struct {
	section string
	entries []any
}

// Generate builds the demo region for cfg and hands it to emit as
// transaction Bundles with ids "demo-<section>-<nnnn>", in order: the
// directory (organisations, affiliations, locations, services), the
// practitioners (with roles and expert pools), then for each group of 250
// patients a Bundle of patients followed by Bundles of their encounters
// and results. Groups of patients are generated in parallel (one per CPU)
// and emitted in order; nothing is kept after it is emitted, so memory
// stays flat whatever the size. emit is called from one goroutine at a
// time. Generate stops at the first error emit returns.
func Generate(cfg Config, emit func(bundle map[string]any) error) error {
	cfg = cfg.withDefaults()
	count := map[string]int{}
	out := func(section string, entries []any) error {
		count[section]++
		return emit(obj{
			"resourceType": "Bundle",
			"id":           fmt.Sprintf("demo-%s-%04d", section, count[section]),
			"type":         "transaction",
			"entry":        entries,
		})
	}
	dir := buildDirectory(cfg)
	b := &bundler{out: out}
	if err := b.start("directory"); err != nil {
		return err
	}
	for _, res := range dir.directoryResources() {
		if err := b.room(1); err != nil {
			return err
		}
		b.add(res)
	}
	if err := b.start("practitioners"); err != nil {
		return err
	}
	for _, res := range dir.staffResources() {
		if err := b.room(1); err != nil {
			return err
		}
		b.add(res)
	}
	if err := b.flush(); err != nil {
		return err
	}

	g := newRegion(cfg, dir)
	chunks := (cfg.Patients + patientsPerChunk - 1) / patientsPerChunk
	ready := make([]chan []part, chunks)
	for k := range ready {
		ready[k] = make(chan []part, 1)
	}
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	done := make(chan struct{})
	defer close(done)
	go func() {
		for k := range chunks {
			select {
			case slots <- struct{}{}:
			case <-done:
				return
			}
			go func() {
				first := 1 + k*patientsPerChunk
				ready[k] <- g.chunk(first, min(cfg.Patients, first+patientsPerChunk-1))
			}()
		}
	}()
	for k := range chunks {
		parts := <-ready[k]
		<-slots
		for _, p := range parts {
			if err := out(p.section, p.entries); err != nil {
				return err
			}
		}
	}
	return nil
}

// chunk generates patients first..last and their results.
func (g *region) chunk(first, last int) []part {
	var parts []part
	b := &bundler{out: func(section string, entries []any) error {
		parts = append(parts, part{section, entries})
		return nil
	}}
	pats := make([]*patient, 0, last-first+1)
	b.start("patients")
	for n := first; n <= last; n++ {
		p := g.patient(n)
		pats = append(pats, p)
		b.add(p.resource())
		if dup := g.duplicate(p); dup != nil {
			b.add(dup)
		}
	}
	b.start("results")
	var group []obj
	add := func(res obj) { group = append(group, res) }
	for _, p := range pats {
		r := rand.New(rand.NewPCG(g.seed, 0x7E5A_0000_0000+uint64(p.n)))
		for _, ep := range p.episodes {
			group = group[:0]
			g.results(p, ep, r, add)
			b.room(len(group))
			for _, res := range group {
				b.add(res)
			}
		}
	}
	b.flush()
	return parts
}

func (d *directory) directoryResources() []obj {
	out := []obj{d.region()}
	for _, in := range d.insts {
		out = append(out, in.organization())
	}
	for _, in := range d.insts {
		for _, dp := range in.depts {
			out = append(out, in.department(dp))
		}
	}
	for _, c := range d.coops {
		out = append(out, d.cooperationOrg(c))
	}
	for _, c := range d.coops {
		for i, mb := range c.members {
			out = append(out, d.affiliation(c, i, mb))
		}
	}
	out = append(out, d.recognitionResources()...)
	for _, in := range d.insts {
		out = append(out, in.location())
	}
	for _, in := range d.insts {
		for _, s := range in.services() {
			out = append(out, in.healthcareService(s))
		}
	}
	return out
}

func (d *directory) staffResources() []obj {
	var out []obj
	for _, p := range d.pracs {
		out = append(out, p.resource())
	}
	for _, p := range d.pracs {
		for _, ro := range p.roles {
			out = append(out, ro.resource())
		}
	}
	for _, pl := range d.pools() {
		out = append(out, d.pool(pl))
	}
	return out
}

// Stats counts what WriteDirStats wrote.
type Stats struct {
	Bundles   int
	Resources int
	Bytes     int64
	ByType    map[string]int
}

// MarshalBundle is the file form of a Bundle: the project's canonical
// FHIR JSON (fhirjson: compact, elements in definition order, non-ASCII
// characters as they are) and a final newline.
func MarshalBundle(bundle map[string]any) ([]byte, error) {
	b, err := fhirjson.AppendMarshal(make([]byte, 0, 1<<20), bundle)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// BundleFileName names the seq-th Bundle (1-based) after its id:
// "0001-directory-0001.json", "0003-patients-0001.json".
func BundleFileName(seq int, bundle map[string]any) string {
	id, _ := bundle["id"].(string)
	return fmt.Sprintf("%04d-%s.json", seq, strings.TrimPrefix(id, "demo-"))
}

// WriteDir generates the region for cfg into dir (created if missing) as
// numbered transaction Bundle files, to be POSTed to [base] in name order.
func WriteDir(cfg Config, dir string) error {
	_, err := WriteDirStats(context.Background(), cfg, dir)
	return err
}

// WriteDirStats is WriteDir reporting what it wrote, stopping early when
// ctx is done. Bundles are encoded and written by one worker per CPU while
// generation goes on.
func WriteDirStats(ctx context.Context, cfg Config, dir string) (Stats, error) {
	st := Stats{ByType: map[string]int{}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, err
	}
	type job struct {
		name   string
		bundle map[string]any
	}
	jobs := make(chan job, 2*runtime.GOMAXPROCS(0))
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				data, err := MarshalBundle(j.bundle)
				if err == nil {
					err = os.WriteFile(filepath.Join(dir, j.name), data, 0o644)
				}
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				st.Bytes += int64(len(data))
				mu.Unlock()
			}
		}()
	}
	err := Generate(cfg, func(bundle map[string]any) error {
		mu.Lock()
		e := firstErr
		mu.Unlock()
		if e != nil {
			return e
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		st.Bundles++
		for _, e := range bundle["entry"].([]any) {
			st.ByType[e.(obj)["resource"].(obj)["resourceType"].(string)]++
			st.Resources++
		}
		jobs <- job{BundleFileName(st.Bundles, bundle), bundle}
		return nil
	})
	close(jobs)
	wg.Wait()
	if err == nil {
		err = firstErr
	}
	return st, err
}
