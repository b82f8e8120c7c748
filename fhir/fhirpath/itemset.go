package fhirpath

import (
	"hash/maphash"
	"unsafe"
)

// itemSet answers "is an equal item already here?" in about constant time,
// so that distinct(), union, repeat(), intersect() and exclude() stay
// linear on large collections. Items are bucketed by a coarse hash that
// equal items always share (the string for strings, the normalised number
// for numbers, the key set for JSON objects); within a bucket the
// specification's equality decides.
type itemSet struct {
	c       *evalCtx
	items   Collection
	buckets map[uint64][]int32
}

var setSeed = maphash.MakeSeed()

const smallSet = 8 // below this, a linear scan is cheaper than hashing

func newItemSet(c *evalCtx, capacity int) *itemSet {
	return &itemSet{c: c, items: make(Collection, 0, capacity)}
}

func coarseHash(v Value) uint64 {
	if m, ok := v.v.(map[string]any); ok {
		if q, ok := asQuantity(v); ok {
			return quantityHash(q)
		}
		// order-independent hash of the keys and of the string and boolean
		// values (numbers compare by value across spellings, nested
		// values deeply: they are left to the equality test)
		var acc uint64
		var h maphash.Hash
		h.SetSeed(setSeed)
		for k, x := range m {
			h.Reset()
			h.WriteString(k)
			switch y := x.(type) {
			case string:
				h.WriteByte(0)
				h.WriteString(y)
			case bool:
				if y {
					h.WriteByte(1)
				} else {
					h.WriteByte(2)
				}
			}
			acc ^= h.Sum64()
		}
		return acc ^ uint64(len(m))<<56
	}
	s, ok := system(v)
	if !ok {
		return 3
	}
	switch x := s.v.(type) {
	case string:
		return maphash.String(setSeed, x)
	case int64:
		return numberHash(decimalFromInt(x))
	case *decimal:
		return numberHash(x)
	case bool:
		if x {
			return 1
		}
		return 2
	case *quantity:
		return quantityHash(x)
	}
	// dates and times: equality normalises zones; one bucket is enough
	return 4
}

func numberHash(d *decimal) uint64 { return maphash.String(setSeed, "n"+d.trim().String()) }

// quantityHash puts quantities in one bucket, except unit-less ones, which
// equal numbers.
func quantityHash(q *quantity) uint64 {
	if q.unit == "1" {
		return numberHash(q.val)
	}
	return 5
}

func (s *itemSet) contains(v Value) bool {
	if s.buckets == nil {
		for _, x := range s.items {
			if sameNode(x, v) || itemsEqual(s.c, x, v) == eqTrue {
				return true
			}
		}
		return false
	}
	for _, i := range s.buckets[coarseHash(v)] {
		x := s.items[i]
		if sameNode(x, v) || itemsEqual(s.c, x, v) == eqTrue {
			return true
		}
	}
	return false
}

// add appends v unless an equal item is present; it reports whether v was
// added.
func (s *itemSet) add(v Value) bool {
	if s.contains(v) {
		return false
	}
	s.items = append(s.items, v)
	if s.buckets == nil && len(s.items) > smallSet {
		s.buckets = make(map[uint64][]int32, len(s.items)*2)
		for i, x := range s.items {
			h := coarseHash(x)
			s.buckets[h] = append(s.buckets[h], int32(i))
		}
		return true
	}
	if s.buckets != nil {
		h := coarseHash(v)
		s.buckets[h] = append(s.buckets[h], int32(len(s.items)-1))
	}
	return true
}

func setOf(c *evalCtx, in Collection) *itemSet {
	s := newItemSet(c, len(in))
	for _, v := range in {
		s.add(v)
	}
	return s
}

// mapPtr is the identity of a map, for cheap same-node checks.
func mapPtr(m map[string]any) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&m)) }
