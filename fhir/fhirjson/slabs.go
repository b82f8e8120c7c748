package fhirjson

import (
	"encoding/json"
	"unsafe"
)

// slabs hand out the memory of one decoded tree in blocks, so that its
// values cost a share of an allocation instead of one each: the bytes of
// its strings and numbers (text), the string headers their interface
// values point to (boxes), the backing arrays of its JSON arrays (anys)
// and the slice headers their interface values point to (heads).
//
// Everything handed out is written once and never again: a block is only
// appended to, and a new block starts when one is full, so a value never
// aliases memory that changes. The blocks belong to the tree (the garbage
// collector keeps a block while any value in it is reachable); they are
// not pooled or reused across documents.
type slabs struct {
	bytes []byte   // bytes of strings and numbers
	boxes []string // the values behind string and json.Number interfaces
	anys  []any    // backing arrays of []any values
	heads [][]any  // the values behind []any interfaces

	textSize, boxSize, anySize, headSize int // sizes of the next blocks
}

// Block sizes. A Synthea resource is ~3.5 KB of indented JSON as posted
// and 0.5–5 KB compact (as stored; ~0.8 KB for an Observation), holding
// one string or number per ~30 bytes of compact JSON (~0.75 KB of their
// bytes per resource), ~9 array items in ~6 arrays, and ~18 objects (each
// a map: two allocations no block can spare). The first blocks are sized
// from the document, for a compact resource to fit in one block of each
// kind, so a small document does not get a large block; each next one
// doubles, up to these bounds. A text block of 32 KiB is the largest size
// class of Go's small-object allocator.
const (
	maxTextBlock = 32 << 10
	maxBoxBlock  = 512
	maxAnyBlock  = 256
	maxHeadBlock = 128
	// Values larger than a quarter of a block get an allocation of their
	// own, so a block's unused tail stays small.
)

func (s *slabs) size(docLen int) {
	s.textSize = min(max(docLen/2, 64), maxTextBlock)
	s.boxSize = min(max(docLen/32, 8), maxBoxBlock)
	s.anySize = min(max(docLen/64, 8), maxAnyBlock)
	s.headSize = min(max(docLen/128, 4), maxHeadBlock)
}

// text returns a string holding a copy of b.
func (s *slabs) text(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if cap(s.bytes)-len(s.bytes) < n {
		if n > maxTextBlock/4 {
			return string(b)
		}
		s.bytes = make([]byte, 0, max(s.textSize, n))
		s.textSize = min(2*s.textSize, maxTextBlock)
	}
	at := len(s.bytes)
	s.bytes = append(s.bytes, b...)
	return unsafe.String(&s.bytes[at], n)
}

// array returns a slice of length and capacity n: appending to it copies,
// so it never grows into its neighbour's items.
func (s *slabs) array(n int) []any {
	if n > maxAnyBlock/4 {
		return make([]any, n)
	}
	if cap(s.anys)-len(s.anys) < n {
		s.anys = make([]any, 0, max(s.anySize, n))
		s.anySize = min(2*s.anySize, maxAnyBlock)
	}
	at := len(s.anys)
	s.anys = s.anys[:at+n]
	return s.anys[at : at+n : at+n]
}

// boxArray returns a as an interface value, its slice header in a block
// rather than an allocation of its own as the conversion any(a) would make.
func (s *slabs) boxArray(a []any) any {
	if len(s.heads) == cap(s.heads) {
		s.heads = make([][]any, 0, s.headSize)
		s.headSize = min(2*s.headSize, maxHeadBlock)
	}
	s.heads = append(s.heads, a)
	return makeEface(arrayType, unsafe.Pointer(&s.heads[len(s.heads)-1]))
}

// box returns v as an interface value of type typ (stringType or
// numberType), its string header in a block rather than an allocation
// of its own as the conversion any(v) would make.
func (s *slabs) box(typ unsafe.Pointer, v string) any {
	if len(s.boxes) == cap(s.boxes) {
		s.boxes = make([]string, 0, s.boxSize)
		s.boxSize = min(2*s.boxSize, maxBoxBlock)
	}
	s.boxes = append(s.boxes, v)
	return makeEface(typ, unsafe.Pointer(&s.boxes[len(s.boxes)-1]))
}

// eface is the layout of an interface value (the runtime's eface): its
// dynamic type, and for a type that is not pointer-shaped, such as string,
// json.Number and []any, a pointer to the value, which the runtime and reflect
// treat as read-only. The conversion any(v) allocates a copy of v and
// stores its address there; makeEface stores an address into a block.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	stringType = typeOf("")
	numberType = typeOf(json.Number(""))
	arrayType  = typeOf([]any(nil))
)

func makeEface(typ, data unsafe.Pointer) (v any) {
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, data
	return v
}
