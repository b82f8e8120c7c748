package demo

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"time"
)

// The GB 11643 resident ID number lives here privately so that the demo
// does not wait for identity/idnumber; once that package is finished, the
// generator should use it instead (see doc.go).

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheck returns the GB 11643 check character of the first 17 digits.
func idCheck(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return "10X98765432"[sum%11]
}

// validIDNumber reports whether s is an 18-character resident ID number
// with a correct check character and a real birth date.
func validIDNumber(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	if _, err := time.Parse("20060102", s[6:14]); err != nil {
		return false
	}
	return idCheck(s[:17]) == s[17]
}

// idNumber builds a resident ID number: division code, birth date, a
// sequence whose parity carries the sex (odd male), and the check character.
func idNumber(division string, birth time.Time, male bool, r *rand.Rand) string {
	seq := r.IntN(500) * 2 // even: female
	if male {
		seq++
	}
	first := division + birth.Format("20060102") + fmt.Sprintf("%03d", seq)
	return first + string(idCheck(first))
}

// usccChars is the GB 32100-2015 character set (no I, O, Z, S, V); a
// character's value is its index.
const usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// usccCheck returns the GB 32100-2015 check character of the first 17
// characters of a unified social credit code.
func usccCheck(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += strings.IndexByte(usccChars, first17[i]) * usccWeights[i]
	}
	return usccChars[(31-sum%31)%31]
}

// orgCodeCheck returns the GB 11714 check character of an 8-character
// organisation code body (digits only here).
func orgCodeCheck(body string) byte {
	w := [8]int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 8; i++ {
		sum += int(body[i]-'0') * w[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

// uscc builds a unified social credit code: registration authority and
// category (e.g. "12" 机构编制/事业单位, "52" 民政/民办非企业单位, "91"
// 工商/企业), the division code, a GB 11714 organisation code with its
// check character, and the GB 32100 check character.
func uscc(authority string, division string, r *rand.Rand) string {
	body := fmt.Sprintf("%08d", r.IntN(100000000))
	first := authority + division + body + string(orgCodeCheck(body))
	return first + string(usccCheck(first))
}

// validUSCC reports whether s is a unified social credit code with correct
// organisation-code and overall check characters.
func validUSCC(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i := 0; i < 18; i++ {
		if strings.IndexByte(usccChars, s[i]) < 0 {
			return false
		}
	}
	return usccCheck(s[:17]) == s[17]
}

// mobilePrefixes are real prefixes of the three mainland carriers.
var mobilePrefixes = []string{
	"134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157", "158", "159", "178", "182", "183", "184", "187", "188", "198", // China Mobile
	"130", "131", "132", "155", "156", "166", "175", "176", "185", "186", // China Unicom
	"133", "153", "173", "177", "180", "181", "189", "191", "199", // China Telecom
}

func mobile(r *rand.Rand) string {
	return mobilePrefixes[r.IntN(len(mobilePrefixes))] + fmt.Sprintf("%08d", r.IntN(100000000))
}

// uuidFor is a name-based (version 5, SHA-1) UUID of a resource's stable
// id, so fullUrls are as reproducible as the ids.
func uuidFor(typ, id string) string {
	h := sha1.New()
	h.Write(uuidNamespace[:])
	h.Write([]byte(typ + "/" + id))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	s := hex.EncodeToString(u[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// uuidNamespace is the project's namespace for demo UUIDs (itself a v5
// UUID of "https://xietong.dev/demo" in the URL namespace, fixed here).
var uuidNamespace = [16]byte{0x3b, 0x0e, 0x4c, 0x6e, 0x1d, 0x2a, 0x5f, 0x41, 0x9a, 0x57, 0x7c, 0x18, 0x22, 0x6d, 0x90, 0x03}

// ehcID is the e-health-card id: 64 upper-case hex characters, as seen in
// provincial QR payloads, derived from the seed and the ID number.
func ehcID(seed uint64, idNum string) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("xietong-demo-ehc:%d:%s", seed, idNum)))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// CardID is the demo's e-health-card id of the resident with ID number
// idNum in the region of seed (the card-use records name it). The loader
// of `serve --demo` writes it on the resident's master Patient.
func CardID(seed uint64, idNum string) string { return ehcID(seed, idNum) }

// dicomUID is a DICOM UID under the UUID-derived root 2.25 (PS3.5 B.2).
func dicomUID(parts ...string) string {
	sum := sha1.Sum([]byte(strings.Join(parts, "/")))
	n := new(big.Int).SetBytes(sum[:16])
	return "2.25." + n.String()
}
