package healthcard

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Code types of the e-health-card plain text (the second field).
const (
	TypeDynamic = 0 // "<id>:0:<validUntil>", short-lived
	TypeStatic  = 1 // "<id>:1", valid until the card is revoked
)

// Errors of Verify; each wraps one of these, so callers can tell them
// apart with errors.Is.
var (
	ErrMalformed    = errors.New("not a health-card code")
	ErrUnknownKey   = errors.New("signed with a key this platform does not know")
	ErrBadSignature = errors.New("signature does not match: the code was altered or forged")
	ErrExpired      = errors.New("dynamic code expired")
)

// Code is a verified health-card code.
type Code struct {
	Plain      string    // the e-health-card plain text: "<id>:<type>[:<validUntil>]"
	CardID     string    // 64 upper-case hexadecimal characters
	Type       int       // TypeDynamic or TypeStatic
	ValidUntil time.Time // dynamic codes only (zero for static ones)
	KeyID      string    // the kid that signed it
}

// jwsHeader is the protected header of every code. typ names the token
// kind so a signature made for something else never verifies as a code.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

const tokenTyp = "xt-ehc"

func signTyp(kid string, priv ed25519.PrivateKey, typ, payload string) string {
	h, _ := json.Marshal(jwsHeader{Alg: "EdDSA", Kid: kid, Typ: typ})
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	sig := ed25519.Sign(priv, []byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// PlainText builds the e-health-card plain text of a code.
func PlainText(cardID string, typ int, validUntil time.Time) string {
	if typ == TypeStatic {
		return cardID + ":1"
	}
	return cardID + ":0:" + strconv.FormatInt(validUntil.Unix(), 10)
}

// Verify checks a compact token against the verifying keys (by kid) at
// time now: the JWS structure and header, the Ed25519 signature over the
// header and payload, the plain text's shape, and a dynamic code's expiry.
// It needs nothing but the keys, so a terminal can run it offline with the
// published JWKS (see ParseJWKS). Revocation is checked offline with the
// revocation list (VerifyRevocations), and by the platform on every
// resolve.
func Verify(token string, keys map[string]ed25519.PublicKey, now time.Time) (Code, error) {
	var c Code
	token = strings.TrimSpace(token)
	if len(token) > 2048 {
		return c, fmt.Errorf("%w: longer than 2048 characters", ErrMalformed)
	}
	pb, kid, err := verifyJWS(token, keys, tokenTyp)
	if err != nil {
		return c, err
	}
	c, err = ParsePlainText(string(pb))
	if err != nil {
		return c, err
	}
	c.KeyID = kid
	if c.Type == TypeDynamic && !now.Before(c.ValidUntil) {
		return c, fmt.Errorf("%w at %s; show a fresh code", ErrExpired, c.ValidUntil.UTC().Format(time.RFC3339))
	}
	return c, nil
}

// ParsePlainText parses "<id>:1" or "<id>:0:<validUntil>" (validUntil in
// Unix seconds). The card id is 64 upper-case hexadecimal characters.
func ParsePlainText(s string) (Code, error) {
	c := Code{Plain: s}
	f := strings.Split(s, ":")
	if len(f) < 2 || len(f) > 3 {
		return c, fmt.Errorf("%w: the plain text is <card id>:<type>[:<valid until>]", ErrMalformed)
	}
	if !ValidCardID(f[0]) {
		return c, fmt.Errorf("%w: the card id is not 64 upper-case hexadecimal characters", ErrMalformed)
	}
	c.CardID = f[0]
	switch {
	case f[1] == "1" && len(f) == 2:
		c.Type = TypeStatic
	case f[1] == "0" && len(f) == 3:
		c.Type = TypeDynamic
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || n <= 0 || len(f[2]) > 12 {
			return c, fmt.Errorf("%w: the valid-until time is not Unix seconds", ErrMalformed)
		}
		c.ValidUntil = time.Unix(n, 0)
	default:
		return c, fmt.Errorf("%w: type 1 (static) has two fields, type 0 (dynamic) three", ErrMalformed)
	}
	return c, nil
}

// ValidCardID reports whether s is a card id: 64 upper-case hex characters.
func ValidCardID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'A' && s[i] <= 'F') {
			return false
		}
	}
	return true
}

// verifyJWS checks a compact JWS of the given typ against the keys (by
// kid) and returns its payload and kid.
func verifyJWS(token string, keys map[string]ed25519.PublicKey, typ string) ([]byte, string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, "", fmt.Errorf("%w: a compact JWS is three base64url parts separated by dots", ErrMalformed)
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, "", fmt.Errorf("%w: a part is not base64url", ErrMalformed)
	}
	var h jwsHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, "", fmt.Errorf("%w: the header is not JSON", ErrMalformed)
	}
	if h.Alg != "EdDSA" || h.Typ != typ {
		return nil, "", fmt.Errorf("%w: the header names alg %q and typ %q, want EdDSA and %s", ErrMalformed, h.Alg, h.Typ, typ)
	}
	pub, ok := keys[h.Kid]
	if !ok {
		return nil, "", fmt.Errorf("%w (kid %q)", ErrUnknownKey, h.Kid)
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		return nil, "", ErrBadSignature
	}
	return pb, h.Kid, nil
}
