package match

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/xietong/xietong/identity/chinese"
)

// MasterID identifies a master patient within an Index.
type MasterID uint32

// Decision is what to do with a record and a candidate master.
type Decision uint8

const (
	NoMatch Decision = iota // below the review threshold, or vetoed by RuleDifferentID
	Review                  // between the thresholds: a person decides
	Link                    // at or above AutoLink and Identifying, or RuleSameID
)

func (d Decision) String() string {
	switch d {
	case Link:
		return "link"
	case Review:
		return "review"
	}
	return "no match"
}

// Candidate is a master patient that a record may belong to, judged by
// the best-scoring of the master's records.
type Candidate struct {
	Master MasterID
	// Source is the Source of the master's best-scoring record.
	Source string
	Comparison
	Decision Decision
}

// DefaultMaxBlock is the block size above which a blocking key is ignored
// when looking for candidates (like a stop word: a key shared by that many
// records tells little, and the record's other keys still apply).
const DefaultMaxBlock = 5000

// Index holds prepared records grouped into master patients, with the
// blocking keys that find candidates. It is safe for concurrent use;
// Match runs concurrently with other Matches.
type Index struct {
	model    *Model
	maxBlock int

	mu       sync.RWMutex
	recs     []prepared
	sources  []string
	blocks   map[uint64][]int32
	masters  MasterID
	members  map[MasterID][]int32 // live records per master
	bySource map[string]int32     // live record per non-empty Source
}

// NewIndex returns an empty index that scores with model.
func NewIndex(model *Model) *Index {
	return &Index{model: model, maxBlock: DefaultMaxBlock, blocks: make(map[uint64][]int32),
		members: make(map[MasterID][]int32), bySource: make(map[string]int32)}
}

// Len returns the number of records in the index (not counting removed
// ones).
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := 0
	for _, ids := range ix.members {
		n += len(ids)
	}
	return n
}

// Masters returns the number of master patients.
func (ix *Index) Masters() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return int(ix.masters)
}

// NewMaster allocates a master patient with no records yet.
func (ix *Index) NewMaster() MasterID {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.newMaster()
}

func (ix *Index) newMaster() MasterID {
	ix.masters++
	return ix.masters
}

// Add adds a record to master m (allocated by NewMaster or returned by
// Link) without matching it.
func (ix *Index) Add(r Record, m MasterID) {
	p := prepare(r, ix.model.now())
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.add(r, p, m)
}

// Prepared is a record made ready for the index by Prepare: the work of
// Add that needs no lock, so that a caller adding many records (a node
// loading its index at start) can do it on several cores.
type Prepared struct {
	r Record
	p prepared
}

// Prepare readies r for AddPrepared.
func (ix *Index) Prepare(r Record) Prepared {
	return Prepared{r: r, p: prepare(r, ix.model.now())}
}

// Record is the record that was prepared.
func (pr *Prepared) Record() Record { return pr.r }

// AddPrepared is Add of a record readied by Prepare.
func (ix *Index) AddPrepared(pr Prepared, m MasterID) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.add(pr.r, pr.p, m)
}

func (ix *Index) add(r Record, p prepared, m MasterID) {
	p.master = m
	id := int32(len(ix.recs))
	if old, ok := ix.bySource[r.Source]; ok && r.Source != "" {
		ix.remove(old)
	}
	ix.recs = append(ix.recs, p)
	ix.sources = append(ix.sources, r.Source)
	ix.members[m] = append(ix.members[m], id)
	if r.Source != "" {
		ix.bySource[r.Source] = id
	}
	var buf [16]uint64
	for _, k := range blockKeys(r, &p, buf[:0], false) {
		ix.blocks[k] = append(ix.blocks[k], id)
	}
}

// Remove removes the record with the given Source (as when an institution
// deletes a Patient, or before re-matching a changed one: Add and Link
// replace a record of the same Source by themselves). It reports whether
// there was one. A master left without records stays allocated but is
// never a candidate.
func (ix *Index) Remove(source string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	id, ok := ix.bySource[source]
	if ok {
		ix.remove(id)
	}
	return ok
}

func (ix *Index) remove(id int32) {
	m := ix.recs[id].master
	ix.members[m] = slices.DeleteFunc(ix.members[m], func(x int32) bool { return x == id })
	if len(ix.members[m]) == 0 {
		delete(ix.members, m)
	}
	delete(ix.bySource, ix.sources[id])
	// The record stays in its blocks (removing it from them would cost a
	// scan of each); master 0 marks it dead and match skips it.
	ix.recs[id].master = 0
	ix.recs[id].addr = nil
}

// ErrConflict is returned by Merge when the two masters hold different
// valid ID numbers: they are two people, whatever a reviewer decided.
var ErrConflict = errors.New("match: the masters hold different valid ID numbers")

// Merge moves every record of master from into master into, as when a
// reviewer decides that a review-queue record is the person of its
// candidate. It returns ErrConflict, and changes nothing, if a record of
// one holds a valid ID number different from a valid one of the other.
func (ix *Index) Merge(into, from MasterID) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if into == from {
		return nil
	}
	for _, a := range ix.members[into] {
		for _, b := range ix.members[from] {
			if _, rule := compareID(&ix.recs[a], &ix.recs[b]); rule == RuleDifferentID {
				return fmt.Errorf("%w: %s and %s", ErrConflict, ix.sources[a], ix.sources[b])
			}
		}
	}
	for _, id := range ix.members[from] {
		ix.recs[id].master = into
	}
	ix.members[into] = append(ix.members[into], ix.members[from]...)
	delete(ix.members, from)
	return nil
}

// Members returns the Sources of the records of master m.
func (ix *Index) Members(m MasterID) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := make([]string, 0, len(ix.members[m]))
	for _, id := range ix.members[m] {
		out = append(out, ix.sources[id])
	}
	return out
}

// Match returns up to limit candidate masters for r, best first (links,
// then reviews, then the rest by score); it does not add r. limit <= 0
// means all candidates.
func (ix *Index) Match(r Record, limit int) []Candidate {
	p := prepare(r, ix.model.now())
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.match(r, &p, limit)
}

// Result is the outcome of Link.
type Result struct {
	// Master is the master the record now belongs to: an existing one when
	// Decision is Link, a new one otherwise.
	Master   MasterID
	Decision Decision
	// Candidates are the candidate masters, best first. When Decision is
	// Review, Candidates[0] is the master a person should compare with.
	Candidates []Candidate
}

// Link matches r and adds it: to the best candidate master when that is a
// Link, else to a new master. A record of a Source already in the index
// replaces it and is matched afresh. A record between the thresholds gets a new
// master and Decision Review: the review queue holds it until a person
// merges the two masters or confirms they differ.
func (ix *Index) Link(r Record) Result {
	p := prepare(r, ix.model.now())
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if old, ok := ix.bySource[r.Source]; ok && r.Source != "" {
		// A changed record is matched afresh, not against its old self.
		ix.remove(old)
	}
	cs := ix.match(r, &p, 5)
	res := Result{Candidates: cs}
	if len(cs) > 0 && cs[0].Decision == Link {
		res.Master, res.Decision = cs[0].Master, Link
	} else {
		res.Master = ix.newMaster()
		if len(cs) > 0 && cs[0].Decision == Review {
			res.Decision = Review
		}
	}
	ix.add(r, p, res.Master)
	return res
}

// scratch is the per-query working memory, pooled so that a query
// allocates little besides its result (garbage collection over a large
// index is what lengthens the latency tail).
type scratch struct {
	ids    []int32
	scored []scored
	out    []Candidate
}

type scored struct {
	master MasterID
	id     int32
	c      Comparison
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (ix *Index) match(r Record, p *prepared, limit int) []Candidate {
	var kbuf [16]uint64
	keys := blockKeys(r, p, kbuf[:0], true)
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	ids := sc.ids[:0]
	for _, k := range keys {
		if b := ix.blocks[k]; len(b) <= ix.maxBlock {
			ids = append(ids, b...)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	sc.ids = ids

	all := sc.scored[:0]
	for _, id := range ids {
		q := &ix.recs[id]
		if q.master == 0 {
			continue // removed
		}
		all = append(all, scored{master: q.master, id: id, c: ix.model.compare(p, q)})
	}
	sc.scored = all
	slices.SortFunc(all, func(a, b scored) int { return cmp.Compare(a.master, b.master) })

	out := sc.out[:0]
	for i := 0; i < len(all); {
		j := i
		best := i
		veto, sameID := false, false
		for ; j < len(all) && all[j].master == all[i].master; j++ {
			c := &all[j].c
			if c.Score > all[best].c.Score || (c.Rule == RuleSameID && all[best].c.Rule != RuleSameID) {
				best = j
			}
			veto = veto || c.Rule == RuleDifferentID
			sameID = sameID || c.Rule == RuleSameID
		}
		c := Candidate{Master: all[best].master, Comparison: all[best].c}
		switch {
		case veto:
			// A master holding someone else's valid ID number is never
			// this person, even if another of its records shares r's.
			c.Decision = NoMatch
			c.Rule = RuleDifferentID
		case sameID:
			c.Decision = Link
		case c.Score >= ix.model.AutoLink && c.Identifying:
			c.Decision = Link
		case c.Score >= ix.model.AutoLink:
			c.Decision = Review
		case c.Score >= ix.model.Review && c.beyondBirth():
			c.Decision = Review
		}
		c.Source = ix.sources[all[best].id]
		out = append(out, c)
		i = j
	}
	sc.out = out
	slices.SortFunc(out, func(a, b Candidate) int {
		if a.Decision != b.Decision {
			return cmp.Compare(b.Decision, a.Decision)
		}
		if a.Score != b.Score {
			return cmp.Compare(b.Score, a.Score)
		}
		return cmp.Compare(a.Master, b.Master)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return slices.Clone(out)
}

// Blocking key kinds: the first byte hashed into a key.
const (
	keyID byte = iota + 1
	keyPhone
	keySurnameMonth
	keyNamePinyin
	keyBirth
)

// blockKeys returns the blocking keys of a record. A query also looks in
// the block of its birth date with day and month swapped.
func blockKeys(r Record, p *prepared, dst []uint64, query bool) []uint64 {
	if p.idState == idValid || p.idState == idInconsistent {
		dst = append(dst, hashKey(keyID, string(p.idBytes())))
	}
	for _, ph := range p.phones[:p.nPhones] {
		var buf [phoneDigits]byte
		dst = append(dst, hashKey(keyPhone, string(ph.digits(&buf))))
	}
	if py := chinese.Pinyin(r.Name); py != "" {
		dst = append(dst, hashKey(keyNamePinyin, py))
		if p.birth != 0 {
			sur := chinese.SurnamePinyin(r.Name)
			if sur == "" {
				sur = py
			}
			dst = append(dst, hashKey(keySurnameMonth, sur+" "+strconv.Itoa(int(p.birth/100))))
		}
	}
	if p.birth != 0 {
		dst = append(dst, hashKey(keyBirth, strconv.Itoa(int(p.birth))))
		if query {
			y, m, d := p.birth/10000, p.birth/100%100, p.birth%100
			if m != d && d <= 12 {
				dst = append(dst, hashKey(keyBirth, strconv.Itoa(int(y*10000+d*100+m))))
			}
		}
	}
	return dst
}

// hashKey is FNV-1a over the kind and the value.
func hashKey(kind byte, s string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	h = (h ^ uint64(kind)) * prime
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * prime
	}
	return h
}

// Stats describes the index's size and blocks.
type Stats struct {
	Records, Masters, Keys int
	// LargestBlock is the size of the largest block; blocks above MaxBlock
	// are skipped at query time and counted in SkippedBlocks.
	LargestBlock, MaxBlock, SkippedBlocks int
}

// Stats returns the index's statistics; it walks every block.
func (ix *Index) Stats() Stats {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s := Stats{Masters: int(ix.masters), Keys: len(ix.blocks), MaxBlock: ix.maxBlock}
	for _, ids := range ix.members {
		s.Records += len(ids)
	}
	for _, b := range ix.blocks {
		s.LargestBlock = max(s.LargestBlock, len(b))
		if len(b) > ix.maxBlock {
			s.SkippedBlocks++
		}
	}
	return s
}
