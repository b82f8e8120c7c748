package healthcard

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/xietong/xietong/store"
)

// revocationTyp is the JWS typ of a revocation list, so that a list never
// verifies as a code and a code never as a list.
const revocationTyp = "xt-ehc-revocations"

// RevocationTTL is how long a built revocation list is served before it
// is built again: a revocation reaches terminals that fetch the list at
// most this long after it was made (plus their own fetch interval).
const RevocationTTL = time.Minute

// Revocations is the revocation list a terminal fetches to refuse revoked
// cards offline: the SHA-256 (upper-case hexadecimal card id, UTF-8) of
// every revoked card, in hexadecimal, with the revocation time. Card ids
// are not published: the list tells a terminal whether the card it
// scanned is revoked, not which cards exist.
type Revocations struct {
	Issued  time.Time    `json:"issued"`
	Revoked []Revocation `json:"revoked"`
}

// Revocation is one revoked card.
type Revocation struct {
	CardSHA256 string    `json:"card"`
	At         time.Time `json:"at"`
}

// CardHash is the hash of a card id as the revocation list carries it.
func CardHash(cardID string) string {
	sum := sha256.Sum256([]byte(strings.ToUpper(cardID)))
	return hex.EncodeToString(sum[:])
}

// IsRevoked reports whether the card is on the list.
func (l *Revocations) IsRevoked(cardID string) bool {
	h := CardHash(cardID)
	_, found := slices.BinarySearchFunc(l.Revoked, h, func(r Revocation, h string) int { return strings.Compare(r.CardSHA256, h) })
	return found
}

// VerifyRevocations checks a signed revocation list (a compact JWS with
// typ xt-ehc-revocations) against the published keys, as a terminal does
// with the JWKS, and returns it. maxAge > 0 refuses a list issued longer
// ago than that (a terminal that cannot fetch a fresh list should say so
// rather than trust an old one).
func VerifyRevocations(token string, keys map[string]ed25519.PublicKey, now time.Time, maxAge time.Duration) (*Revocations, error) {
	pb, _, err := verifyJWS(strings.TrimSpace(token), keys, revocationTyp)
	if err != nil {
		return nil, err
	}
	var l Revocations
	if err := json.Unmarshal(pb, &l); err != nil {
		return nil, fmt.Errorf("%w: the payload is not a revocation list: %v", ErrMalformed, err)
	}
	if maxAge > 0 && now.Sub(l.Issued) > maxAge {
		return nil, fmt.Errorf("%w: the revocation list was issued at %s, more than %s ago; fetch a fresh one", ErrExpired, l.Issued.UTC().Format(time.RFC3339), maxAge)
	}
	return &l, nil
}

// Revocations builds the current revocation list from the revoke records
// (AuditEvent subtype health-card-event|revoke, written in the same
// transaction as the revocation itself, so the list misses none).
func (s *Service) Revocations(ctx context.Context) (*Revocations, error) {
	l := &Revocations{Issued: s.cfg.Now().UTC().Truncate(time.Second), Revoked: []Revocation{}}
	seen := map[string]bool{}
	q := &store.Query{Types: []string{"AuditEvent"}, Count: 1000, Total: store.TotalNone, Where: []store.Clause{
		{tokenPred("type", SystemAuditEventType, AuditEventType)},
		{tokenPred("subtype", SystemCardEvent, "revoke")},
	}}
	for {
		res, err := s.st.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, v := range res.Matches {
			ev, err := decode(v)
			if err != nil {
				return nil, err
			}
			at, _ := time.Parse(time.RFC3339Nano, str(ev["recorded"]))
			for _, e := range list(ev["entity"]) {
				for _, d := range list(object(e)["detail"]) {
					if dd := object(d); str(dd["type"]) == "card-id" && ValidCardID(str(dd["valueString"])) {
						h := CardHash(str(dd["valueString"]))
						if !seen[h] {
							seen[h] = true
							l.Revoked = append(l.Revoked, Revocation{CardSHA256: h, At: at.UTC()})
						}
					}
				}
			}
		}
		if res.NextCursor == "" {
			break
		}
		q.Cursor = res.NextCursor
	}
	slices.SortFunc(l.Revoked, func(a, b Revocation) int { return strings.Compare(a.CardSHA256, b.CardSHA256) })
	return l, nil
}

// signedRevocations is the signed list, rebuilt at most every
// RevocationTTL.
func (s *Service) signedRevocations(ctx context.Context) (string, error) {
	s.revMu.Lock()
	defer s.revMu.Unlock()
	now := s.cfg.Now()
	if s.revToken != "" && now.Before(s.revExpires) {
		return s.revToken, nil
	}
	l, err := s.Revocations(ctx)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	s.revToken, s.revExpires = s.keys.signTyp(revocationTyp, string(b)), now.Add(RevocationTTL)
	return s.revToken, nil
}

// forgetRevocations makes the next fetch build the list again (after a
// revocation on this node).
func (s *Service) forgetRevocations() {
	s.revMu.Lock()
	s.revToken = ""
	s.revMu.Unlock()
}

// RevocationsHandler serves the signed revocation list
// (GET /.well-known/health-card-revocations, application/jose): public,
// like the keys, since it holds hashes only. A terminal verifies it with
// VerifyRevocations and the JWKS and refuses the codes of listed cards
// while offline.
func (s *Service) RevocationsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := s.signedRevocations(r.Context())
		if err != nil {
			s.cfg.Logger.Error("health-card revocation list", "err", err)
			http.Error(w, "the revocation list could not be built; try again", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/jose")
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Write([]byte(tok))
	})
}
