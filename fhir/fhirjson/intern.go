package fhirjson

import "encoding/binary"

// internTable finds the shared copy of a property name the R4 definitions
// know (2,518 names, "_x" forms included), so that a decoded key costs no
// allocation. It does the work of a map[string]string lookup with a hash
// of the name's first and last eight bytes and its length rather than of
// every byte, over 32-bit slots that keep the whole table (32 KiB) in the
// near caches; keys are looked up once per member of every object.
type internTable struct {
	names []string
	slots []uint32 // (hash tag << 16) | index into names + 1; 0 is empty
	mask  uint64
}

func newInternTable(names []string) *internTable {
	if len(names) >= 1<<16-1 {
		panic("fhirjson: too many interned names")
	}
	size := 64
	for size < 3*len(names) {
		size *= 2
	}
	t := &internTable{names: names, slots: make([]uint32, size), mask: uint64(size - 1)}
	for i, n := range names {
		h := nameHash([]byte(n))
		for j := h & t.mask; ; j = (j + 1) & t.mask {
			if t.slots[j] == 0 {
				t.slots[j] = uint32(h>>48)<<16 | uint32(i+1)
				break
			}
		}
	}
	return t
}

// lookup returns the shared copy of b, or false when no definition knows it.
func (t *internTable) lookup(b []byte) (string, bool) {
	h := nameHash(b)
	tag := uint32(h>>48) << 16
	for j := h & t.mask; ; j = (j + 1) & t.mask {
		s := t.slots[j]
		if s == 0 {
			return "", false
		}
		if s&0xffff0000 == tag {
			if n := t.names[s&0xffff-1]; n == string(b) {
				return n, true
			}
		}
	}
}

// nameHash mixes the length and the first and last (up to) eight bytes:
// names of the definitions differ in those, and reading them costs the
// same for every length.
func nameHash(b []byte) uint64 {
	n := len(b)
	var lo, hi uint64
	switch {
	case n >= 8:
		lo = binary.LittleEndian.Uint64(b[:8])
		hi = binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		lo = uint64(binary.LittleEndian.Uint32(b[:4]))
		hi = uint64(binary.LittleEndian.Uint32(b[n-4:]))
	case n > 0:
		lo = uint64(b[0])<<16 | uint64(b[n/2])<<8 | uint64(b[n-1])
	}
	h := (lo*0x9e3779b97f4a7c15 ^ hi ^ uint64(n)) * 0xff51afd7ed558ccd
	return h ^ h>>29
}
