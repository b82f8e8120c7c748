package healthcard

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	kr := NewMemoryKeyring()
	keys := kr.PublicKeys()
	now := time.Unix(1_800_000_000, 0)
	id := NewCardID()
	dyn := kr.Sign(PlainText(id, TypeDynamic, now.Add(time.Minute)))
	static := kr.Sign(PlainText(id, TypeStatic, time.Time{}))

	c, err := Verify(static, keys, now)
	if err != nil || c.CardID != id || c.Type != TypeStatic || c.KeyID != kr.ActiveKeyID() {
		t.Fatalf("static: %+v %v", c, err)
	}
	c, err = Verify(dyn, keys, now)
	if err != nil || c.Type != TypeDynamic || !c.ValidUntil.Equal(now.Add(time.Minute)) {
		t.Fatalf("dynamic: %+v %v", c, err)
	}
	if _, err := Verify(dyn, keys, now.Add(time.Minute)); !errors.Is(err, ErrExpired) {
		t.Errorf("at validUntil: %v, want expired", err)
	}

	parts := strings.Split(static, ".")
	swap := func(i int, s string) string {
		p := append([]string(nil), parts...)
		p[i] = s
		return strings.Join(p, ".")
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	other := NewMemoryKeyring()
	// The same kid with another key's signature: a forgery.
	forgedSig := ed25519.Sign(func() ed25519.PrivateKey { _, k, _ := ed25519.GenerateKey(nil); return k }(), []byte(parts[0]+"."+parts[1]))
	cases := []struct {
		name, token string
		want        error
	}{
		{"empty", "", ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], ErrMalformed},
		{"not base64", swap(1, "!!"), ErrMalformed},
		{"header not JSON", swap(0, b64("{")), ErrMalformed},
		{"alg none", swap(0, b64(`{"alg":"none","kid":"`+kr.ActiveKeyID()+`","typ":"xt-ehc"}`)), ErrMalformed},
		{"other typ", swap(0, b64(`{"alg":"EdDSA","kid":"`+kr.ActiveKeyID()+`","typ":"JWT"}`)), ErrMalformed},
		{"payload altered", swap(1, b64(NewCardID()+":1")), ErrBadSignature},
		{"type changed", swap(1, b64(id+":0:9999999999")), ErrBadSignature},
		{"signature altered", swap(2, b64("x")+parts[2][2:]), ErrBadSignature},
		{"forged signature", swap(2, base64.RawURLEncoding.EncodeToString(forgedSig)), ErrBadSignature},
		{"unknown key", other.Sign(id + ":1"), ErrUnknownKey},
		{"kid of another key", swap(0, b64(`{"alg":"EdDSA","kid":"nope","typ":"xt-ehc"}`)), ErrUnknownKey},
		{"bad plain text", kr.Sign("hello"), ErrMalformed},
		{"lower-case id", kr.Sign(strings.ToLower(id) + ":1"), ErrMalformed},
		{"static with time", kr.Sign(id + ":1:1800000000"), ErrMalformed},
		{"dynamic without time", kr.Sign(id + ":0"), ErrMalformed},
		{"dynamic bad time", kr.Sign(id + ":0:soon"), ErrMalformed},
		{"type 2", kr.Sign(id + ":2"), ErrMalformed},
		{"too long", strings.Repeat("a", 3000), ErrMalformed},
	}
	for _, tc := range cases {
		if _, err := Verify(tc.token, keys, now); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	kr := NewMemoryKeyring()
	f.Add(kr.Sign(NewCardID() + ":1"))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := Verify(token, kr.PublicKeys(), time.Now())
		if err == nil && !ValidCardID(c.CardID) {
			t.Fatalf("accepted %q with card %q", token, c.CardID)
		}
	})
}

func TestKeyringFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "keys.json")
	kr, err := LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	first := kr.ActiveKeyID()
	old := kr.Sign(NewCardID() + ":1")
	second, err := kr.Rotate()
	if err != nil || second == first {
		t.Fatalf("rotate: %q %v", second, err)
	}
	again, err := LoadKeyring(path)
	if err != nil || again.ActiveKeyID() != second || len(again.PublicKeys()) != 2 {
		t.Fatalf("reload: %v", err)
	}
	// Codes of the old key verify until it is retired; the JWKS lists both.
	keys, err := ParseJWKS(again.JWKS())
	if err != nil || len(keys) != 2 {
		t.Fatalf("JWKS: %v %s", err, again.JWKS())
	}
	if _, err := Verify(old, keys, time.Now()); err != nil {
		t.Fatalf("old code after rotation: %v", err)
	}
	if err := again.Retire(second); err == nil {
		t.Error("retired the active key")
	}
	if err := again.Retire(first); err != nil {
		t.Fatal(err)
	}
	third, _ := LoadKeyring(path)
	if _, err := Verify(old, third.PublicKeys(), time.Now()); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old code after retiring its key: %v", err)
	}
	// A damaged file is an error, never silently replaced.
	os.WriteFile(path, []byte("{"), 0o600)
	if _, err := LoadKeyring(path); err == nil {
		t.Fatal("loaded a damaged key file")
	}
	os.WriteFile(path, []byte(`{"active":"x","keys":[]}`), 0o600)
	if _, err := LoadKeyring(path); err == nil {
		t.Fatal("loaded a key file without its active key")
	}
}

func TestQR(t *testing.T) {
	text := NewMemoryKeyring().Sign(NewCardID() + ":0:1800000000")
	p, err := QRPNG(text, 2)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dx() != b.Dy() {
		t.Fatalf("PNG bounds %v", b)
	}
	s, err := QRSVG(text)
	if err != nil || !bytes.HasPrefix(s, []byte("<svg")) || !bytes.Contains(s, []byte("h1v1h-1z")) {
		t.Fatalf("SVG: %v %.100s", err, s)
	}
}

func TestCityCode(t *testing.T) {
	for in, want := range map[string]string{"110112": "110100", "131082": "131000", "120114": "120100", "13108": "", "13108x": ""} {
		if got := CityCode(in); got != want {
			t.Errorf("CityCode(%q) = %q, want %q", in, got, want)
		}
	}
}

// A revocation list verifies with the keys only, and an altered or
// forged one does not.
func TestRevocationListSignature(t *testing.T) {
	kr := NewMemoryKeyring()
	other := NewMemoryKeyring()
	revoked := strings.Repeat("AB", 32)
	l := Revocations{Issued: time.Now().UTC().Truncate(time.Second), Revoked: []Revocation{{CardSHA256: CardHash(revoked), At: time.Now().UTC()}}}
	b, _ := json.Marshal(l)
	tok := kr.signTyp(revocationTyp, string(b))
	got, err := VerifyRevocations(tok, kr.PublicKeys(), time.Now(), time.Hour)
	if err != nil || !got.IsRevoked(revoked) || got.IsRevoked(strings.Repeat("CD", 32)) || !got.IsRevoked(strings.ToLower(revoked)) {
		t.Fatalf("genuine list: %+v %v", got, err)
	}
	parts := strings.Split(tok, ".")
	emptied, _ := json.Marshal(Revocations{Issued: l.Issued})
	for name, c := range map[string]struct {
		tok  string
		want error
	}{
		"payload altered": {parts[0] + "." + base64.RawURLEncoding.EncodeToString(emptied) + "." + parts[2], ErrBadSignature},
		"other key":       {other.signTyp(revocationTyp, string(b)), ErrUnknownKey},
		"a code":          {kr.Sign(PlainText(revoked, TypeStatic, time.Time{})), ErrMalformed},
		"two parts":       {parts[0] + "." + parts[1], ErrMalformed},
	} {
		if _, err := VerifyRevocations(c.tok, kr.PublicKeys(), time.Now(), 0); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}
