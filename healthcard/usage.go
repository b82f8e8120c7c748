package healthcard

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sync"
	"time"

	"github.com/xietong/xietong/access"
)

// use is one use of a card, before it becomes an AuditEvent.
type use struct {
	event    string // issue, revoke, resolve
	at       time.Time
	card     string
	codeType int
	master   string
	local    string
	org      obj // the institution (resolve), nil otherwise
	instCode string
	city     string
	channel  string
	careStep string
	reason   string
	subject  string // the acting principal
}

var eventNames = map[string]string{"issue": "发卡 issue", "revoke": "注销 revoke", "resolve": "用卡 resolve"}

// record queues the AuditEvent of a use.
func (s *Service) record(ctx context.Context, u use) {
	s.uses.add(s.stamp(ctx, u, s.cfg.Now().UTC()))
}

// stamp is the AuditEvent of u, made at at by the request's principal.
func (s *Service) stamp(ctx context.Context, u use, at time.Time) obj {
	u.at = at
	u.subject, _ = principalRef(ctx)
	return auditEvent(u)
}

// auditEvent is the FHIR shape of a use (documented in doc.go).
func auditEvent(u use) obj {
	action := "E"
	if u.event == "issue" {
		action = "C"
	} else if u.event == "revoke" {
		action = "U"
	}
	ev := obj{
		"resourceType": "AuditEvent",
		"type":         obj{"system": SystemAuditEventType, "code": AuditEventType, "display": "电子健康卡 e-health card use"},
		"subtype":      []any{obj{"system": SystemCardEvent, "code": u.event, "display": eventNames[u.event]}},
		"action":       action,
		"recorded":     u.at.Format("2006-01-02T15:04:05.000Z07:00"),
		"outcome":      "0",
	}
	var agents []any
	source := obj{"observer": obj{"display": "协同平台 Xietong platform"}}
	if u.org != nil {
		ref := obj{"reference": "Organization/" + str(u.org["id"]), "identifier": obj{"system": SystemInstitutionCode, "value": u.instCode}}
		if n := str(u.org["name"]); n != "" {
			ref["display"] = n
		}
		agents = append(agents, obj{"who": ref, "requestor": true})
		source["observer"] = ref
	}
	if u.subject != "" {
		agents = append(agents, obj{"who": obj{"identifier": obj{"system": "https://xietong.dev/fhir/sid/principal", "value": u.subject}}, "requestor": u.org == nil})
	}
	if len(agents) == 0 {
		agents = append(agents, obj{"who": obj{"display": "协同平台 Xietong platform"}, "requestor": true})
	}
	ev["agent"] = agents
	if u.city != "" {
		source["site"] = u.city
	}
	if u.channel != "" {
		source["type"] = []any{obj{"system": SystemChannel, "code": u.channel, "display": Channels[u.channel]}}
	}
	ev["source"] = source
	if u.careStep != "" {
		ev["purposeOfEvent"] = []any{obj{"coding": []any{obj{"system": SystemCareStep, "code": u.careStep, "display": CareSteps[u.careStep]}}}}
	}
	detail := []any{obj{"type": "card-id", "valueString": u.card}}
	if u.event == "resolve" {
		kind := "dynamic"
		if u.codeType == TypeStatic {
			kind = "static"
		}
		detail = append(detail, obj{"type": "code-type", "valueString": kind})
	}
	if u.reason != "" {
		detail = append(detail, obj{"type": "reason", "valueString": u.reason})
	}
	role := obj{"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}
	entities := []any{obj{"what": obj{"reference": "Patient/" + u.master}, "role": role, "detail": detail}}
	if u.local != "" && u.local != u.master {
		entities = append(entities, obj{"what": obj{"reference": "Patient/" + u.local}, "role": role, "description": "the institution's own record"})
	}
	ev["entity"] = entities
	return ev
}

// recorder writes AuditEvents in transaction Bundles from one goroutine.
type recorder struct {
	tx       Transactor
	log      *slog.Logger
	interval time.Duration
	mu       sync.Mutex
	pending  []obj
	kick     chan struct{}
	flushReq chan chan struct{}
	done     chan struct{}
	once     sync.Once
}

const maxBatch = 500

func newRecorder(tx Transactor, interval time.Duration, log *slog.Logger) *recorder {
	r := &recorder{tx: tx, log: log, interval: interval, kick: make(chan struct{}, 1), flushReq: make(chan chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

func (r *recorder) add(ev obj) {
	r.mu.Lock()
	r.pending = append(r.pending, ev)
	n := len(r.pending)
	r.mu.Unlock()
	if n >= maxBatch {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

func (r *recorder) run() {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.write()
		case <-r.kick:
			r.write()
		case ack := <-r.flushReq:
			r.write()
			close(ack)
		case <-r.done:
			r.write()
			return
		}
	}
}

// write drains the queue in batches of at most maxBatch.
func (r *recorder) write() {
	for {
		r.mu.Lock()
		n := min(len(r.pending), maxBatch)
		batch := r.pending[:n:n]
		r.pending = r.pending[n:]
		r.mu.Unlock()
		if n == 0 {
			return
		}
		entries := make([]any, n)
		for i, ev := range batch {
			entries[i] = obj{"fullUrl": "urn:uuid:" + uuid(), "resource": ev, "request": obj{"method": "POST", "url": "AuditEvent"}}
		}
		ctx := access.WithPrincipal(context.Background(), access.Principal{Subject: "health-card", Role: "system"})
		if _, err := r.tx.Transaction(ctx, obj{"resourceType": "Bundle", "type": "transaction", "entry": entries}); err != nil {
			r.log.Error("health-card use records lost", "count", n, "err", err)
		}
	}
}

func (r *recorder) flush() {
	ack := make(chan struct{})
	select {
	case r.flushReq <- ack:
		<-ack
	case <-r.done:
	}
}

func (r *recorder) close() {
	r.once.Do(func() {
		ack := make(chan struct{})
		r.flushReq <- ack
		<-ack
		close(r.done)
	})
}

func uuid() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[x>>4], hexd[x&15])
	}
	return string(out)
}
