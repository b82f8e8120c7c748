package match

import (
	"cmp"
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

	mu      sync.RWMutex
	recs    []prepared
	sources []string
	blocks  map[uint64][]int32
	masters MasterID
}

// NewIndex returns an empty index that scores with model.
func NewIndex(model *Model) *Index {
	return &Index{model: model, maxBlock: DefaultMaxBlock, blocks: make(map[uint64][]int32)}
}

// Len returns the number of records in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.recs)
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

func (ix *Index) add(r Record, p prepared, m MasterID) {
	p.master = m
	id := int32(len(ix.recs))
	ix.recs = append(ix.recs, p)
	ix.sources = append(ix.sources, r.Source)
	var buf [16]uint64
	for _, k := range blockKeys(r, &p, buf[:0], false) {
		ix.blocks[k] = append(ix.blocks[k], id)
	}
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
// Link, else to a new master. A record between the thresholds gets a new
// master and Decision Review: the review queue holds it until a person
// merges the two masters or confirms they differ.
func (ix *Index) Link(r Record) Result {
	p := prepare(r, ix.model.now())
	ix.mu.Lock()
	defer ix.mu.Unlock()
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

var candidatePool = sync.Pool{New: func() any { s := make([]int32, 0, 1024); return &s }}

func (ix *Index) match(r Record, p *prepared, limit int) []Candidate {
	var kbuf [16]uint64
	keys := blockKeys(r, p, kbuf[:0], true)
	bp := candidatePool.Get().(*[]int32)
	ids := (*bp)[:0]
	for _, k := range keys {
		if b := ix.blocks[k]; len(b) <= ix.maxBlock {
			ids = append(ids, b...)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)

	type agg struct {
		best   Candidate
		veto   bool
		sameID bool
	}
	byMaster := make(map[MasterID]*agg, 16)
	for _, id := range ids {
		q := &ix.recs[id]
		c := ix.model.compare(p, q)
		a := byMaster[q.master]
		if a == nil {
			a = &agg{best: Candidate{Master: q.master, Source: ix.sources[id], Comparison: c}}
			byMaster[q.master] = a
		} else if c.Score > a.best.Score || (c.Rule == RuleSameID && a.best.Rule != RuleSameID) {
			a.best.Source, a.best.Comparison = ix.sources[id], c
		}
		a.veto = a.veto || c.Rule == RuleDifferentID
		a.sameID = a.sameID || c.Rule == RuleSameID
	}
	*bp = ids
	candidatePool.Put(bp)

	out := make([]Candidate, 0, len(byMaster))
	for _, a := range byMaster {
		c := a.best
		switch {
		case a.veto:
			// A master holding someone else's valid ID number is never
			// this person, even if another of its records shares r's.
			c.Decision = NoMatch
			c.Rule = RuleDifferentID
		case a.sameID:
			c.Decision = Link
		case c.Score >= ix.model.AutoLink && c.Identifying:
			c.Decision = Link
		case c.Score >= ix.model.AutoLink:
			c.Decision = Review
		case c.Score >= ix.model.Review:
			c.Decision = Review
		}
		out = append(out, c)
	}
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
	return out
}

// Blocking key kinds: the first byte hashed into a key.
const (
	keyID byte = iota + 1
	keyPhone
	keySurnameYear
	keyNamePinyin
	keyBirth
)

// blockKeys returns the blocking keys of a record. A query also looks in
// the block of its birth date with day and month swapped.
func blockKeys(r Record, p *prepared, dst []uint64, query bool) []uint64 {
	if p.idState == idValid || p.idState == idInconsistent {
		dst = append(dst, hashKey(keyID, p.id))
	}
	for _, ph := range p.phones {
		dst = append(dst, hashKey(keyPhone, ph))
	}
	if py := chinese.Pinyin(r.Name); py != "" {
		dst = append(dst, hashKey(keyNamePinyin, py))
		if p.birth != 0 {
			sur := chinese.SurnamePinyin(r.Name)
			if sur == "" {
				sur = py
			}
			dst = append(dst, hashKey(keySurnameYear, sur+" "+strconv.Itoa(int(p.birth/10000))))
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
