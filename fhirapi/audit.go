package fhirapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/audit"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
)

// handleAudit: GET [base]/$audit — the access trail as a searchset of
// AuditEvent resources, newest first. Parameters: subject (the principal),
// entity (Type or Type/id), since and until (dates), outcome (0 allowed,
// 4 denied), _count. Reading the trail is itself an audited access, and
// the policy reserves it to administrators.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) error {
	if err := checkFormat(r); err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.deps.Guard.Check(ctx, access.Request{Action: access.Operation, Operation: "$audit", ResourceType: "AuditEvent", Source: r.RemoteAddr}); err != nil {
		return err
	}
	al, ok := s.deps.Store.(store.AuditLog)
	if !ok {
		return outcome.NotSupported("This store keeps no audit trail; the trail is in the server log.")
	}
	q := r.URL.Query()
	aq := store.AuditQuery{Subject: q.Get("subject"), Cursor: q.Get("_cursor")}
	if e := q.Get("entity"); e != "" {
		typ, id, _ := cutRef(e)
		if !isKnownType(typ) || (id != "" && !search.ValidID(id)) {
			return outcome.BadRequest("entity must be a resource type or Type/id, not %q", e).At("entity")
		}
		aq.ResourceType, aq.ID = typ, id
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
		high bool
	}{{"since", &aq.Since, false}, {"until", &aq.Until, true}} {
		if v := q.Get(p.name); v != "" {
			lo, hi, err := search.DateRange(v, s.cfg.Zone)
			if err != nil {
				return outcome.BadRequest("%s: %v", p.name, err).At(p.name)
			}
			if p.high {
				lo = hi + 1
			}
			*p.dst = time.UnixMicro(lo).UTC()
		}
	}
	switch q.Get("outcome") {
	case "":
	case "0":
		t := true
		aq.Allowed = &t
	case "4":
		f := false
		aq.Allowed = &f
	default:
		return outcome.BadRequest("outcome must be 0 (allowed) or 4 (denied), not %q", q.Get("outcome")).At("outcome")
	}
	if v := q.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return outcome.BadRequest("_count must be a positive whole number, not %q", v).At("_count")
		}
		aq.Count = min(n, 1000)
	}
	recs, next, err := al.ReadAudit(ctx, aq)
	if errors.Is(err, store.ErrInvalid) {
		return outcome.BadRequest("%v", err)
	}
	if err != nil {
		return err
	}
	base := s.publicBase(r)
	links := pageLinks(base+"/$audit", q, "", 0, next, "") // q keeps its _cursor: self names this page
	bw := newBundle("searchset", -1, links)
	for _, rec := range recs {
		body, err := marshal(audit.Event(rec))
		if err != nil {
			return err
		}
		bw.entry("", body, map[string]any{"search": map[string]any{"mode": "match"}})
	}
	writeJSON(w, r, http.StatusOK, bw.finish())
	return nil
}

func cutRef(s string) (typ, id string, hasID bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
