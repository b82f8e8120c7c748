package healthcard

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Keyring holds the platform's Ed25519 signing keys, each named by a key
// id (kid). One key is active and signs new codes; every key of the ring
// verifies, so codes signed before a rotation stay valid until they expire
// (dynamic) or their card is revoked (static). The ring lives in a JSON
// file readable by the server's user only (0600), never in FHIR resources.
type Keyring struct {
	mu     sync.RWMutex
	path   string
	active string
	keys   map[string]*key
}

type key struct {
	kid     string
	created time.Time
	priv    ed25519.PrivateKey
	pub     ed25519.PublicKey
}

// keyFile is the on-disk shape of a Keyring.
type keyFile struct {
	Active string       `json:"active"`
	Keys   []keyFileKey `json:"keys"`
}

type keyFileKey struct {
	Kid     string    `json:"kid"`
	Created time.Time `json:"created"`
	Seed    string    `json:"seed"` // base64url of the 32-byte Ed25519 seed
}

// LoadKeyring opens the key file at path, creating it with one new key
// when it does not exist (first start). A file that exists but cannot be
// read or parsed is an error: the server must not silently replace the
// keys terminals trust.
func LoadKeyring(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kr := &Keyring{path: path, keys: map[string]*key{}}
		if _, err := kr.Rotate(); err != nil {
			return nil, err
		}
		return kr, nil
	}
	if err != nil {
		return nil, fmt.Errorf("health-card keys: %w", err)
	}
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("health-card keys %s: not a key file: %w", path, err)
	}
	kr := &Keyring{path: path, active: f.Active, keys: map[string]*key{}}
	for _, k := range f.Keys {
		seed, err := base64.RawURLEncoding.DecodeString(k.Seed)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("health-card keys %s: key %q has no valid 32-byte seed", path, k.Kid)
		}
		priv := ed25519.NewKeyFromSeed(seed)
		kr.keys[k.Kid] = &key{kid: k.Kid, created: k.Created, priv: priv, pub: priv.Public().(ed25519.PublicKey)}
	}
	if kr.keys[kr.active] == nil {
		return nil, fmt.Errorf("health-card keys %s: the active key %q is not in the file", path, f.Active)
	}
	return kr, nil
}

// NewMemoryKeyring is a Keyring with one fresh key that is never written
// to disk (tests, tools).
func NewMemoryKeyring() *Keyring {
	kr := &Keyring{keys: map[string]*key{}}
	if _, err := kr.Rotate(); err != nil {
		panic(err) // only the random source can fail, and then nothing works
	}
	return kr
}

// Rotate adds a new key, makes it the active one and saves the ring. The
// old keys keep verifying. It returns the new key id: the first 16
// base64url characters of the SHA-256 of the public key, so a kid names
// its key everywhere.
func (kr *Keyring) Rotate() (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(pub)
	kid := base64.RawURLEncoding.EncodeToString(sum[:])[:16]
	kr.mu.Lock()
	defer kr.mu.Unlock()
	prev := kr.active
	kr.keys[kid] = &key{kid: kid, created: time.Now().UTC().Truncate(time.Second), priv: priv, pub: pub}
	kr.active = kid
	if err := kr.saveLocked(); err != nil {
		delete(kr.keys, kid)
		kr.active = prev
		return "", err
	}
	return kid, nil
}

// Retire removes a key that is not the active one: codes it signed stop
// verifying. Use it after a key is suspected leaked, or long after a
// rotation (when no static code signed by it should remain in use).
func (kr *Keyring) Retire(kid string) error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if kid == kr.active {
		return fmt.Errorf("health-card keys: %q is the active key; rotate first", kid)
	}
	k := kr.keys[kid]
	if k == nil {
		return fmt.Errorf("health-card keys: no key %q", kid)
	}
	delete(kr.keys, kid)
	if err := kr.saveLocked(); err != nil {
		kr.keys[kid] = k
		return err
	}
	return nil
}

func (kr *Keyring) saveLocked() error {
	if kr.path == "" {
		return nil
	}
	f := keyFile{Active: kr.active}
	for _, k := range kr.sortedLocked() {
		f.Keys = append(f.Keys, keyFileKey{Kid: k.kid, Created: k.created, Seed: base64.RawURLEncoding.EncodeToString(k.priv.Seed())})
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(kr.path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("health-card keys: %w", err)
		}
	}
	// Write a temporary file and rename it, so a crash never leaves a
	// half-written ring.
	tmp := kr.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("health-card keys: %w", err)
	}
	if err := os.Rename(tmp, kr.path); err != nil {
		return fmt.Errorf("health-card keys: %w", err)
	}
	return nil
}

func (kr *Keyring) sortedLocked() []*key {
	ks := make([]*key, 0, len(kr.keys))
	for _, k := range kr.keys {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if !ks[i].created.Equal(ks[j].created) {
			return ks[i].created.Before(ks[j].created)
		}
		return ks[i].kid < ks[j].kid
	})
	return ks
}

// ActiveKeyID is the kid that signs new codes.
func (kr *Keyring) ActiveKeyID() string {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.active
}

// KeyIDs are the kids of the ring, oldest first.
func (kr *Keyring) KeyIDs() []string {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	var out []string
	for _, k := range kr.sortedLocked() {
		out = append(out, k.kid)
	}
	return out
}

// PublicKeys are the verifying keys by kid.
func (kr *Keyring) PublicKeys() map[string]ed25519.PublicKey {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	out := make(map[string]ed25519.PublicKey, len(kr.keys))
	for kid, k := range kr.keys {
		out[kid] = k.pub
	}
	return out
}

// JWKS is the published key set (RFC 7517, Ed25519 keys as OKP per
// RFC 8037), oldest first; what terminals download to verify offline.
func (kr *Keyring) JWKS() []byte {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	set.Keys = []jwk{}
	for _, k := range kr.sortedLocked() {
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.pub), Kid: k.kid, Use: "sig", Alg: "EdDSA"})
	}
	data, _ := json.Marshal(set)
	return data
}

// ParseJWKS reads a published key set into verifying keys by kid; what a
// terminal does with the platform's JWKS document. Keys other than OKP
// Ed25519 are skipped.
func ParseJWKS(data []byte) (map[string]ed25519.PublicKey, error) {
	var set struct {
		Keys []struct {
			Kty, Crv, X, Kid string
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("health-card keys: not a JWKS document: %w", err)
	}
	out := map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Kid == "" {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("health-card keys: key %q has no valid Ed25519 public key", k.Kid)
		}
		out[k.Kid] = ed25519.PublicKey(x)
	}
	return out, nil
}

// Sign signs a plain text with the active key: a compact JWS (header
// {"alg":"EdDSA","kid":…,"typ":"xt-ehc"}, the plain text as payload).
// It does not check the plain text; Verify does.
func (kr *Keyring) Sign(plain string) string { return kr.sign(plain) }

func (kr *Keyring) sign(payload string) string {
	return kr.signTyp(tokenTyp, payload)
}

func (kr *Keyring) signTyp(typ, payload string) string {
	kr.mu.RLock()
	k := kr.keys[kr.active]
	kr.mu.RUnlock()
	return signTyp(k.kid, k.priv, typ, payload)
}
