package match

import (
	"slices"
	"strings"
	"time"

	"github.com/xietong/xietong/identity/chinese"
	"github.com/xietong/xietong/identity/idnumber"
)

// Record is what matching knows of one patient record of one institution.
// Every field may be empty; what is missing neither helps nor hurts.
type Record struct {
	// Source identifies the record (e.g. the institution's Patient id);
	// matching does not read it.
	Source      string
	Institution string // institution code
	MRN         string // the institution's medical record number
	Name        string
	Birth       time.Time // date of birth; the zero Time when unknown
	Sex         idnumber.Sex
	IDNumber    string // resident ID number as written, 15 or 18 characters
	Phones      []string
	Division    string // GB/T 2260 code of the address (6 digits)
	Address     string // address text
}

// idState says how far a record's ID number can be trusted.
type idState uint8

const (
	idNone         idState = iota // no number
	idInvalid                     // present, but fails validation
	idInconsistent                // valid, but disagrees with the record's birth date or sex
	idValid                       // valid and consistent
)

// prepared is a Record normalised once for repeated comparison. It keeps
// what every comparison reads inline (no pointers but the rare long name
// and the address), so that comparing a query with a candidate out of a
// million touches one or two cache lines, and the garbage collector has
// little to scan in a large index.
type prepared struct {
	name     chinese.Name
	addr     []uint64 // sorted rune bigrams of the address text
	birth    int32    // yyyymmdd, 0 unknown
	division uint32   // the 6-digit code as a number, 0 unknown or malformed
	master   MasterID
	sex      idnumber.Sex
	idState  idState
	idLen    uint8
	nPhones  uint8
	id       [maxID]byte // the 18-character form when valid, else the trimmed upper-case input (cut at maxID)
	phones   [maxPhones]phone
}

const (
	maxID     = 20
	maxPhones = 2 // more phones per record are rare; the first two count
)

func (p *prepared) idBytes() []byte { return p.id[:p.idLen] }

// phone is a normalised phone number packed in a uint64: up to 15 digits
// as a number, with the digit count in the top 4 bits (so that leading
// zeros count).
type phone uint64

const phoneDigits = 15

func packPhone(d string) (phone, bool) {
	if len(d) > phoneDigits {
		d = d[len(d)-phoneDigits:] // the subscriber part is at the end
	}
	var v uint64
	for i := 0; i < len(d); i++ {
		v = v*10 + uint64(d[i]-'0')
	}
	return phone(v | uint64(len(d))<<60), d != ""
}

func (p phone) digits(buf *[phoneDigits]byte) []byte {
	n := int(p >> 60)
	v := uint64(p) & (1<<60 - 1)
	for i := n - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return buf[:n]
}

func prepare(r Record, now time.Time) prepared {
	p := prepared{
		name:     chinese.PrepareName(r.Name),
		birth:    dateKey(r.Birth),
		sex:      r.Sex,
		division: divisionKey(r.Division),
		addr:     bigrams(chinese.Key(r.Address)),
	}
	if s := strings.ToUpper(strings.TrimSpace(r.IDNumber)); s != "" {
		n, err := idnumber.ParseAt(s, now)
		switch {
		case err != nil:
			p.idState = idInvalid
		case n.CheckRecord(r.Birth, r.Sex) != nil:
			p.idState, s = idInconsistent, n.Value
		default:
			p.idState, s = idValid, n.Value
		}
		p.idLen = uint8(copy(p.id[:], s))
	}
	for _, ph := range r.Phones {
		if int(p.nPhones) == maxPhones {
			break
		}
		if n, ok := packPhone(normalizePhone(ph)); ok {
			p.phones[p.nPhones] = n
			p.nPhones++
		}
	}
	return p
}

func divisionKey(s string) uint32 {
	s = strings.TrimSpace(s)
	if len(s) != 6 {
		return 0
	}
	v := uint32(0)
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		v = v*10 + uint32(s[i]-'0')
	}
	return v
}

func dateKey(t time.Time) int32 {
	if t.IsZero() {
		return 0
	}
	y, m, d := t.Date()
	return int32(y*10000 + int(m)*100 + d)
}

// normalizePhone keeps the digits, without a +86 / 0086 country prefix;
// numbers of fewer than 7 digits are dropped as noise.
func normalizePhone(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if r >= '０' && r <= '９' {
			b.WriteRune(r - '０' + '0')
		}
	}
	d := b.String()
	switch {
	case len(d) == 15 && strings.HasPrefix(d, "0086"):
		d = d[4:]
	case len(d) == 13 && strings.HasPrefix(d, "86"):
		d = d[2:]
	}
	if len(d) < 7 {
		return ""
	}
	return d
}

// maxAddressRunes bounds the address text compared: enough for any real
// address, and bad input cannot make a comparison slow.
const maxAddressRunes = 128

func bigrams(s string) []uint64 {
	rs := []rune(s)
	if len(rs) > maxAddressRunes {
		rs = rs[:maxAddressRunes]
	}
	if len(rs) < 2 {
		return nil
	}
	out := make([]uint64, 0, len(rs)-1)
	for i := 0; i+1 < len(rs); i++ {
		out = append(out, uint64(rs[i])<<32|uint64(rs[i+1]))
	}
	slices.Sort(out)
	return out
}
