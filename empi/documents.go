package empi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/identity/identifier"
	"github.com/xietong/xietong/identity/match"
)

// Identifier systems of the travel documents that residents of Hong Kong,
// Macao and Taiwan and foreigners carry instead of a resident ID number.
// A passport's system names its issuing country (ISO 3166-1 alpha-3) after
// SystemPassportPrefix, as an institution's record numbers name the
// institution: the same number from two countries is two passports.
const (
	SystemHKMacaoPermit    = "https://xietong.dev/fhir/sid/hk-macao-permit"             // 港澳居民来往内地通行证
	SystemTaiwanPermit     = "https://xietong.dev/fhir/sid/taiwan-permit"               // 台湾居民来往大陆通行证
	SystemForeignResidence = "https://xietong.dev/fhir/sid/foreign-permanent-residence" // 外国人永久居留身份证
	SystemPassportPrefix   = "https://xietong.dev/fhir/sid/passport/"
)

// documentKind tells whether sys is a travel-document system, of which
// kind and issuing country. A passport system whose country is not three
// letters is an error (the system itself is wrong).
func documentKind(sys string) (kind identifier.Kind, country string, ok bool, err error) {
	switch sys {
	case SystemHKMacaoPermit:
		return identifier.HKMacaoPermit, "", true, nil
	case SystemTaiwanPermit:
		return identifier.TaiwanPermit, "", true, nil
	case SystemForeignResidence:
		return identifier.ForeignResidence, "", true, nil
	}
	c, isPassport := strings.CutPrefix(sys, SystemPassportPrefix)
	if !isPassport {
		return "", "", false, nil
	}
	if len(c) != 3 || strings.ToUpper(c) != c || strings.IndexFunc(c, func(r rune) bool { return r < 'A' || r > 'Z' }) >= 0 {
		return "", "", false, fmt.Errorf("a passport's system names its issuing country after %s as an ISO 3166 alpha-3 code (CHN, USA, GBR ...), not %q", SystemPassportPrefix, c)
	}
	return identifier.Passport, c, true, nil
}

// SystemMRNPrefix + an institution code is the system of that
// institution's medical record numbers.
const SystemMRNPrefix = "https://xietong.dev/fhir/sid/mrn/"

// checkDocument validates and normalises the value of a travel-document
// identifier, or of an institution's record number (not blank, no control
// characters, at most 64 bytes, trimmed), in place (a document's spaces
// and hyphens removed, upper case); other identifiers pass.
func checkDocument(ident map[string]any, at string, now time.Time) error {
	kind, country, ok, err := documentKind(str(ident["system"]))
	if inst, isMRN := strings.CutPrefix(str(ident["system"]), SystemMRNPrefix); isMRN {
		kind, country, ok, err = identifier.MRN, inst, true, nil
	}
	if err == nil && !ok {
		return nil
	}
	if err == nil {
		var id identifier.Identifier
		if id, err = identifier.Validate(kind, country, str(ident["value"]), now); err == nil {
			ident["value"] = id.Value
			return nil
		}
	}
	what := "travel document"
	if kind == identifier.MRN {
		what = "medical record number"
	}
	return &outcome.Error{Status: http.StatusUnprocessableEntity, Issues: []outcome.Issue{{
		Severity: "error", Code: "value",
		Diagnostics: "The " + what + " is not valid: " + err.Error() + ". Check it; the record was not stored and nothing was linked.",
		Expression:  []string{at},
	}}}
}

// documents returns the current travel documents of a Patient (validated
// and normalised by CheckIdentifiers) as system|value.
func documents(p map[string]any) []string {
	var out []string
	for _, x := range list(p["identifier"]) {
		ident := obj(x)
		if str(ident["use"]) == "old" || ended(ident["period"]) {
			continue
		}
		if _, _, ok, err := documentKind(str(ident["system"])); ok && err == nil && str(ident["value"]) != "" {
			out = append(out, str(ident["system"])+"|"+str(ident["value"]))
		}
	}
	return out
}

// holders returns the institutions' records (other than self) that carry
// one of the identifiers (system|value), read from the store. For a
// record's travel documents (documents): one document is one holder, so
// they are the same person. Searched before the identity stage takes its
// lock; records of the same document whose decisions are still pending
// (the same transaction, or a write at the same moment) are added under
// the lock (withPendingHolders).
func (e *Engine) holders(ctx context.Context, keys []string, self string) ([]string, error) {
	var out []string
	for _, key := range keys {
		found, err := e.searchPatients(ctx, url.Values{"identifier": {strings.ReplaceAll(key, ",", `\,`)}}, 20)
		if err != nil {
			return nil, err
		}
		for _, f := range found {
			if id := str(f["id"]); id != self && !IsMaster(f) {
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// documentMaster returns the live master of a record that shares a travel
// document with source id, unless a person decided against it or it holds
// a different valid resident ID number. Caller holds e.mu.
func (e *Engine) documentMaster(id string, holders []string, rec match.Record) string {
	for _, h := range holders {
		s := e.sources[h]
		if s == nil {
			continue
		}
		m := s.master
		if s.pend != nil {
			m = s.pend.master
		}
		if !e.live(m) || e.masters[m].notLinked[id] || e.vetoed(rec, m, id) {
			continue
		}
		return m
	}
	return ""
}

// holdDocuments records a pending decision's travel documents. Caller
// holds e.mu.
func (e *Engine) holdDocuments(docs []string, source string) {
	for _, d := range docs {
		if e.pendingDocs[d] == nil {
			e.pendingDocs[d] = map[string]bool{}
		}
		e.pendingDocs[d][source] = true
	}
}

// withPendingHolders adds to the holders read from the store the sources
// of pending decisions that carry one of docs. Caller holds e.mu.
func (e *Engine) withPendingHolders(holders, docs []string, self string) []string {
	for _, d := range docs {
		for sid := range e.pendingDocs[d] {
			if s := e.sources[sid]; sid != self && s != nil && s.pend != nil && !slices.Contains(holders, sid) {
				holders = append(holders, sid)
			}
		}
	}
	return holders
}

// dropSettledDocuments forgets the sources whose decision committed or
// expired: the store answers for them now. Caller holds e.mu.
func (e *Engine) dropSettledDocuments() {
	for d, srcs := range e.pendingDocs {
		for sid := range srcs {
			if s := e.sources[sid]; s == nil || s.pend == nil {
				delete(srcs, sid)
			}
		}
		if len(srcs) == 0 {
			delete(e.pendingDocs, d)
		}
	}
}
