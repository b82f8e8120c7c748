package empi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/fhir/respond"
	"github.com/xietong/xietong/identity/match"
	"github.com/xietong/xietong/store"
)

// opTx is one transaction of a manual operation: its writes are
// validated, indexed, authorised (access.Guard, Action update or create,
// with the operation's name, so the audit trail names who changed which
// record through which operation) and applied to the index after commit.
type opTx struct {
	e       *Engine
	ctx     context.Context
	tx      store.Tx
	op      string
	now     time.Time
	preview bool
	written []*store.Version
}

// inTx runs fn in a transaction, retried on a version conflict (a
// concurrent write of the same records), and commits it (or, for a
// preview, rolls it back).
func (e *Engine) inTx(ctx context.Context, op string, preview bool, fn func(t *opTx) error) error {
	for attempt := 0; ; attempt++ {
		tx, err := e.st.Begin(ctx)
		if err != nil {
			return err
		}
		t := &opTx{e: e, ctx: ctx, tx: tx, op: op, now: e.now().UTC().Truncate(time.Microsecond), preview: preview}
		err = fn(t)
		if err == nil && preview {
			tx.Rollback()
			return nil
		}
		if err != nil {
			tx.Rollback()
			if errors.Is(err, store.ErrConflict) && attempt < 4 && ctx.Err() == nil {
				continue
			}
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		e.Committed(ctx, t.written)
		return nil
	}
}

// read reads a current resource inside the transaction: 404 or 410 for
// what is not there, named after what (a path or a parameter).
func (t *opTx) read(typ, id, what string) (*store.Version, map[string]any, error) {
	v, err := t.tx.Read(t.ctx, typ, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, outcome.NotFound("%s: %s/%s does not exist.", what, typ, id)
	case errors.Is(err, store.ErrGone):
		return nil, nil, outcome.Gone("%s: %s/%s was deleted.", what, typ, id)
	case err != nil:
		return nil, nil, err
	}
	body, err := fhirjson.Decode(v.Body, fhirjson.Limits{})
	if err != nil {
		return nil, nil, err
	}
	return v, body, nil
}

// put writes res (create when create, else an update of version
// ifVersion) inside the transaction.
func (t *opTx) put(res map[string]any, ifVersion int64, create bool) error {
	e := t.e
	typ, id := str(res["resourceType"]), str(res["id"])
	cur, err := t.tx.Read(t.ctx, typ, id)
	deleted := errors.Is(err, store.ErrGone)
	if err != nil && !deleted && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil && !deleted {
		cur = nil
	}
	if ifVersion != 0 && (cur == nil || deleted || cur.VersionID != ifVersion) || create && cur != nil && !deleted {
		return fmt.Errorf("empi: %s/%s changed meanwhile: %w", typ, id, store.ErrConflict)
	}
	action, vid := access.Create, int64(1)
	if cur != nil {
		action, vid = access.Update, cur.VersionID+1
	}
	if !t.preview && e.cfg.Guard != nil {
		if err := e.cfg.Guard.Check(t.ctx, access.Request{Action: action, ResourceType: typ, ID: id, Operation: t.op, Source: "empi"}); err != nil {
			return err
		}
	}
	meta := obj(res["meta"])
	if meta == nil {
		meta = map[string]any{}
		res["meta"] = meta
	}
	meta["versionId"] = strconv.FormatInt(vid, 10)
	meta["lastUpdated"] = t.now.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
	if e.cfg.Validator != nil {
		for _, is := range e.cfg.Validator.Validate(res) {
			if is.Severity == "error" || is.Severity == "fatal" {
				return fmt.Errorf("empi: the %s of %s/%s is not valid: %s", t.op, typ, id, is.Diagnostics)
			}
		}
	}
	var ix store.Index
	if e.cfg.Indexer != nil {
		if ix, err = e.cfg.Indexer.Index(typ, res); err != nil {
			return err
		}
	}
	body, err := fhirjson.Marshal(res)
	if err != nil {
		return err
	}
	w := &store.Write{Type: typ, ID: id, VersionID: vid, LastUpdated: t.now, Method: http.MethodPut, Body: body, Index: ix}
	if err := t.tx.Put(t.ctx, w); err != nil {
		return err
	}
	t.written = append(t.written, &store.Version{Type: typ, ID: id, VersionID: vid, LastUpdated: t.now, Method: http.MethodPut, Body: body})
	return nil
}

func (t *opTx) putWrite(w Write) error { return t.put(w.Resource, w.IfVersion, w.Create) }

// masterOfBody returns the master a source refers to ("" for none).
func (e *Engine) masterOfBody(p map[string]any) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.masterOf(p)
}

func (e *Engine) isMasterID(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.masters[id]
	return ok
}

// vetoIn returns an error when src holds a valid resident ID number
// different from one of master's sources (they are two persons, whatever
// a reviewer decided).
func (t *opTx) vetoIn(srcID string, src map[string]any, master string) error {
	_, bodies, err := sourcesOf(t.ctx, t.tx, master)
	if err != nil {
		return err
	}
	rec := Record(src)
	for _, b := range bodies {
		if str(b["id"]) == srcID {
			continue
		}
		if t.e.model.Compare(rec, Record(b)).Rule == match.RuleDifferentID {
			return outcome.Unprocessable("Patient/%s and Patient/%s (a record of master Patient/%s) carry different valid resident ID numbers: they are two persons. Correct the wrong number at its institution first.", srcID, str(b["id"]), master)
		}
	}
	return nil
}

// relink points source to master to (as a person decided) and recomputes
// both masters; from is the master it leaves ("" for none).
func (t *opTx) relink(srcV *store.Version, src map[string]any, to, from string, fromOpts rebuild) error {
	e := t.e
	id := srcV.ID
	var links []any
	for _, l := range list(src["link"]) {
		lk := obj(l)
		if str(lk["type"]) == "refer" {
			target, _ := strings.CutPrefix(str(obj(lk["other"])["reference"]), "Patient/")
			if target == from || target == to || e.isMasterID(target) {
				continue
			}
		}
		links = append(links, l)
	}
	src["link"] = append(links, map[string]any{"other": map[string]any{"reference": "Patient/" + to}, "type": "refer"})
	if err := t.put(src, srcV.VersionID, false); err != nil {
		return err
	}
	// The master left first: retired, it hands its card to the one joined.
	var left *Write
	if from != "" && from != to {
		if fromOpts.replacedBy == "" {
			fromOpts.replacedBy = to
		}
		w, err := e.rebuildMaster(t.ctx, t.tx, from, fromOpts)
		if err != nil {
			return err
		}
		left = &w
	}
	o := rebuild{basis: map[string]string{id: BasisManual}, clearNotLink: []string{id}}
	if left != nil {
		o.adopt = left.carry
	}
	w, err := e.rebuildMaster(t.ctx, t.tx, to, o)
	if err != nil {
		return err
	}
	if err := t.putWrite(w); err != nil {
		return err
	}
	if left != nil {
		return t.putWrite(*left)
	}
	return nil
}

// liveMaster reads id and checks it is a master that can take sources.
func (t *opTx) liveMaster(id, what string) (*store.Version, map[string]any, error) {
	v, body, err := t.read("Patient", id, what)
	if err != nil {
		if oe := outcome.As(err); oe != nil {
			oe.Status = http.StatusUnprocessableEntity
		}
		return nil, nil, err
	}
	if !IsMaster(body) {
		return nil, nil, outcome.Unprocessable("%s: Patient/%s is an institution's record, not a master Patient (meta.tag %s|%s).", what, id, SystemPatientRole, RoleMaster)
	}
	if b, ok := body["active"].(bool); ok && !b {
		return nil, nil, outcome.Unprocessable("%s: master Patient/%s is retired (merged or emptied); use the master it was replaced by.", what, id)
	}
	return v, body, nil
}

// source reads id and checks it is an institution's record.
func (t *opTx) source(id, what string) (*store.Version, map[string]any, error) {
	v, body, err := t.read("Patient", id, what)
	if err != nil {
		return nil, nil, err
	}
	if IsMaster(body) {
		return nil, nil, outcome.Unprocessable("%s: Patient/%s is a master Patient; link, unlink and review apply to institutions' records (merge masters with Patient/$merge).", what, id)
	}
	return v, body, nil
}

// LinkOperation serves POST [base]/Patient/[id]/$link: a person decides
// that the institution's record [id] is the person of the master given in
// the parameter master (valueReference Patient/x). The link is manual:
// automatic matching no longer moves it. The answer is the master.
//
// Errors: 400 without a master parameter or with a malformed one; 404 or
// 410 when [id] is not there; 422 when [id] is a master, the target is not
// a live master, or the two carry different valid resident ID numbers.
func (e *Engine) LinkOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if err := postOnly(w, r, "$link", id, true); err != nil {
		return err
	}
	ps, err := readParameters(r, "$link")
	if err != nil {
		return err
	}
	to, err := ps.reference("master", true)
	if err != nil {
		return err
	}
	if err := e.maybeSync(r.Context()); err != nil {
		return err
	}
	err = e.inTx(r.Context(), "$link", false, func(t *opTx) error {
		sv, src, err := t.source(id, "Patient/"+id+"/$link")
		if err != nil {
			return err
		}
		if _, _, err := t.liveMaster(to, "The parameter master"); err != nil {
			return err
		}
		from := e.masterOfBody(src)
		if from == to {
			return nil // linked already
		}
		if err := t.vetoIn(id, src, to); err != nil {
			return err
		}
		return t.relink(sv, src, to, from, rebuild{})
	})
	if err != nil {
		return err
	}
	return e.writeStored(w, r, "Patient", to)
}

// UnlinkOperation serves POST [base]/Patient/[id]/$unlink: a person
// decides that the institution's record [id] is not the person of its
// master. It gets a master of its own, and its old master remembers the
// decision (extension empi-not-linked) so that matching never links it
// there again. The answer is the new master.
//
// Errors: 404 or 410 when [id] is not there; 422 when it is a master or
// the only record of its master (there is nothing to unlink it from).
func (e *Engine) UnlinkOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if err := postOnly(w, r, "$unlink", id, true); err != nil {
		return err
	}
	if r.ContentLength != 0 {
		if _, err := readParameters(r, "$unlink"); err != nil {
			return err
		}
	}
	if err := e.maybeSync(r.Context()); err != nil {
		return err
	}
	fresh := newID()
	err := e.inTx(r.Context(), "$unlink", false, func(t *opTx) error {
		sv, src, err := t.source(id, "Patient/"+id+"/$unlink")
		if err != nil {
			return err
		}
		from := e.masterOfBody(src)
		if from == "" {
			return outcome.Unprocessable("Patient/%s is not linked to a master Patient.", id)
		}
		vs, _, err := sourcesOf(t.ctx, t.tx, from)
		if err != nil {
			return err
		}
		if len(vs) <= 1 {
			return outcome.Unprocessable("Patient/%s is the only record of master Patient/%s: there is nothing to unlink it from.", id, from)
		}
		e.mu.Lock()
		e.master(fresh)
		e.mu.Unlock()
		return t.relink(sv, src, fresh, from, rebuild{notLinked: []string{id}})
	})
	if err != nil {
		return err
	}
	return e.writeStored(w, r, "Patient", fresh)
}

// MergeOperation serves POST [base]/Patient/$merge, shaped like FHIR R5's
// Patient $merge: source-patient and target-patient (valueReference) name
// two master Patients (or institutions' records, which stand for their
// masters) that a person decides are one person. Every record of the
// source master moves to the target (manual links); the source master is
// retired (active false, link replaced-by the target). preview (boolean)
// computes the result without writing it. The answer is a Parameters with
// input, outcome and result (the target master).
//
// Errors: 400 for missing or malformed parameters and for
// source-patient-identifier, target-patient-identifier and result-patient
// (not supported: the master is computed from its records); 404/410 for
// records that are not there; 422 when both are one master already, a
// master is retired, or the two carry different valid resident ID numbers.
func (e *Engine) MergeOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if err := postOnly(w, r, "$merge", id, false); err != nil {
		return err
	}
	ps, err := readParameters(r, "$merge")
	if err != nil {
		return err
	}
	for _, n := range []string{"source-patient-identifier", "target-patient-identifier", "result-patient"} {
		if len(ps.byName[n]) > 0 {
			return outcome.NotSupported("The $merge parameter %s is not supported: name the Patients with source-patient and target-patient; the merged master is computed from its records.", n)
		}
	}
	srcRef, err := ps.reference("source-patient", true)
	if err != nil {
		return err
	}
	dstRef, err := ps.reference("target-patient", true)
	if err != nil {
		return err
	}
	preview, err := ps.boolean("preview")
	if err != nil {
		return err
	}
	if err := e.maybeSync(r.Context()); err != nil {
		return err
	}
	var result map[string]any
	var source, target string
	err = e.inTx(r.Context(), "$merge", preview, func(t *opTx) error {
		resolve := func(ref, what string) (string, error) {
			_, body, err := t.read("Patient", ref, what)
			if err != nil {
				if oe := outcome.As(err); oe != nil {
					oe.Status = http.StatusUnprocessableEntity
				}
				return "", err
			}
			m := ref
			if !IsMaster(body) {
				if m = e.masterOfBody(body); m == "" {
					return "", outcome.Unprocessable("%s: Patient/%s is not linked to a master Patient.", what, ref)
				}
			}
			if _, _, err := t.liveMaster(m, what); err != nil {
				return "", err
			}
			return m, nil
		}
		from, err := resolve(srcRef, "The parameter source-patient")
		if err != nil {
			return err
		}
		to, err := resolve(dstRef, "The parameter target-patient")
		if err != nil {
			return err
		}
		source, target = from, to
		if from == to {
			return outcome.Unprocessable("source-patient and target-patient are one master Patient (Patient/%s) already.", to)
		}
		vs, bodies, err := sourcesOf(t.ctx, t.tx, from)
		if err != nil {
			return err
		}
		for i, b := range bodies {
			if err := t.vetoIn(vs[i].ID, b, to); err != nil {
				return err
			}
		}
		basis := map[string]string{}
		var moved []string
		for i, b := range bodies {
			sid := vs[i].ID
			setRefer(b, to, map[string]*masterState{from: nil, to: nil})
			if err := t.put(b, vs[i].VersionID, false); err != nil {
				return err
			}
			basis[sid] = BasisManual
			moved = append(moved, sid)
		}
		// The retired master first: its card goes to the target.
		wf, err := e.rebuildMaster(t.ctx, t.tx, from, rebuild{replacedBy: to})
		if err != nil {
			return err
		}
		wt, err := e.rebuildMaster(t.ctx, t.tx, to, rebuild{basis: basis, clearNotLink: moved, adopt: wf.carry})
		if err != nil {
			return err
		}
		if err := t.putWrite(wt); err != nil {
			return err
		}
		result = wt.Resource
		return t.putWrite(wf)
	})
	if err != nil {
		return err
	}
	// Name the masters, and the record the caller named when it is not
	// one (a source-patient may be an institution's record).
	what := "Patient/" + source
	if source != srcRef {
		what += " (the master of Patient/" + srcRef + ")"
	}
	msg := fmt.Sprintf("Master %s was merged into Patient/%s.", what, target)
	if preview {
		msg = fmt.Sprintf("Preview: merging master %s into Patient/%s would give this result; nothing was written.", what, target)
	}
	out := map[string]any{"resourceType": "Parameters", "parameter": []any{
		map[string]any{"name": "input", "resource": ps.resource},
		map[string]any{"name": "outcome", "resource": outcome.Resource(outcome.Issue{Severity: "information", Code: "informational", Diagnostics: msg})},
		map[string]any{"name": "result", "resource": result},
	}}
	return respond.Resource(w, r, http.StatusOK, out)
}

// DecideOperation serves POST [base]/Task/[id]/$decide on an open
// identity-review Task: decision (valueCode) link links the Task's focus
// to master (valueReference; default the first candidate), which must be
// one of the Task's candidates; distinct records that the focus is none
// of the candidates (or not master, when given). The Task is completed
// with the decision and who took it in its outputs, in the same
// transaction. The answer is the Task.
//
// Errors: 400 for a missing or unknown decision or a malformed master;
// 404/410 for a Task that is not there; 422 for a Task that is not an
// identity review, a master that is not a candidate, or different valid
// resident ID numbers; 409 for a Task decided already.
func (e *Engine) DecideOperation(w http.ResponseWriter, r *http.Request, id string) error {
	if err := postOnly(w, r, "$decide", id, true); err != nil {
		return err
	}
	ps, err := readParameters(r, "$decide")
	if err != nil {
		return err
	}
	decision, err := ps.code("decision")
	if err != nil {
		return err
	}
	if decision != "link" && decision != "distinct" {
		return outcome.BadRequest("decision must be link or distinct, not %q.", decision).At("Parameters.parameter")
	}
	chosen, err := ps.reference("master", false)
	if err != nil {
		return err
	}
	if err := e.maybeSync(r.Context()); err != nil {
		return err
	}
	who := "unknown"
	if p, ok := access.PrincipalFrom(r.Context()); ok {
		who = p.Subject
	} else if e.cfg.Guard != nil {
		who = e.cfg.Guard.Default.Subject
	}
	err = e.inTx(r.Context(), "$decide", false, func(t *opTx) error {
		tv, task, err := t.read("Task", id, "Task/"+id+"/$decide")
		if err != nil {
			return err
		}
		kind := false
		for _, c := range list(obj(task["code"])["coding"]) {
			if str(obj(c)["system"]) == SystemTaskKind && str(obj(c)["code"]) == TaskIdentityReview {
				kind = true
			}
		}
		if !kind {
			return outcome.Unprocessable("Task/%s is not an identity review (code %s|%s).", id, SystemTaskKind, TaskIdentityReview)
		}
		switch str(task["status"]) {
		case "requested", "received", "accepted", "ready", "in-progress", "on-hold":
		default:
			return outcome.Conflict("Task/%s is %s: it was decided already.", id, str(task["status"]))
		}
		srcID, _ := strings.CutPrefix(str(obj(task["focus"])["reference"]), "Patient/")
		var cands []string
		for _, in := range list(task["input"]) {
			if ref, ok := strings.CutPrefix(str(obj(obj(in)["valueReference"])["reference"]), "Patient/"); ok {
				cands = append(cands, ref)
			}
		}
		if chosen != "" && !contains(cands, chosen) {
			return outcome.Unprocessable("Patient/%s is not a candidate of Task/%s (candidates: %s).", chosen, id, strings.Join(cands, ", "))
		}
		sv, src, err := t.source(srcID, "The focus of Task/"+id)
		if err != nil {
			return err
		}
		outputs := []any{
			map[string]any{"type": taskType("decision"), "valueCode": decision},
			map[string]any{"type": taskType("decided-by"), "valueString": who},
		}
		switch decision {
		case "link":
			to := chosen
			if to == "" {
				if len(cands) == 0 {
					return outcome.Unprocessable("Task/%s has no candidate to link to.", id)
				}
				to = cands[0]
			}
			if _, _, err := t.liveMaster(to, "The candidate"); err != nil {
				return err
			}
			from := e.masterOfBody(src)
			if from != to {
				if err := t.vetoIn(srcID, src, to); err != nil {
					return err
				}
				if err := t.relink(sv, src, to, from, rebuild{}); err != nil {
					return err
				}
			}
			outputs = append(outputs, map[string]any{"type": taskType("master"), "valueReference": map[string]any{"reference": "Patient/" + to}})
		case "distinct":
			targets := cands
			if chosen != "" {
				targets = []string{chosen}
			}
			for _, c := range targets {
				wc, err := e.rebuildMaster(t.ctx, t.tx, c, rebuild{notLinked: []string{srcID}})
				if err != nil {
					return err
				}
				if wc.Create {
					continue // the candidate is gone
				}
				if err := t.putWrite(wc); err != nil {
					return err
				}
			}
		}
		task["status"] = "completed"
		task["businessStatus"] = map[string]any{"text": decision}
		task["lastModified"] = t.now.Format(time.RFC3339)
		task["output"] = outputs
		return t.put(task, tv.VersionID, false)
	})
	if err != nil {
		return err
	}
	return e.writeStored(w, r, "Task", id)
}

func taskType(code string) map[string]any {
	return map[string]any{"coding": []any{map[string]any{"system": SystemTaskInput, "code": code}}}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// postOnly checks the method and the level of an operation call.
func postOnly(w http.ResponseWriter, r *http.Request, name, id string, instance bool) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return outcome.New(http.StatusMethodNotAllowed, "not-supported", "%s is invoked with POST and a Parameters body.", name)
	}
	if instance && id == "" {
		return outcome.NotSupported("%s is an instance-level operation: POST [base]/[type]/[id]/%s.", name, name)
	}
	if !instance && id != "" {
		return outcome.NotSupported("%s is a type-level operation: POST [base]/Patient/%s.", name, name)
	}
	return nil
}

// params is a parsed Parameters body.
type params struct {
	resource map[string]any
	byName   map[string][]map[string]any
}

// readParameters reads a Parameters body (FHIR JSON, at most 1 MiB).
func readParameters(r *http.Request, op string) (*params, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err != nil:
		return nil, outcome.New(http.StatusUnsupportedMediaType, "not-supported", "%s needs a Parameters body with Content-Type application/fhir+json.", op)
	case mt == "application/fhir+json" || mt == "application/json" || mt == "application/json+fhir":
	default:
		return nil, outcome.New(http.StatusUnsupportedMediaType, "not-supported", "Content-Type %s is not supported: this server speaks FHIR JSON (application/fhir+json).", mt)
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, outcome.New(http.StatusRequestEntityTooLarge, "too-costly", "The %s body is larger than %d bytes.", op, maxBody)
		}
		return nil, outcome.BadRequest("The %s body could not be read: %v", op, err)
	}
	res, err := fhirjson.Decode(data, fhirjson.Limits{})
	if err != nil {
		return nil, outcome.Wrap(err, http.StatusBadRequest, "structure", "The %s body is not a FHIR JSON resource: %v", op, err)
	}
	if rt := str(res["resourceType"]); rt != "Parameters" {
		return nil, outcome.BadRequest("%s takes a Parameters resource, not a %s.", op, rt)
	}
	p := &params{resource: res, byName: map[string][]map[string]any{}}
	raw, ok := res["parameter"].([]any)
	if !ok && res["parameter"] != nil {
		return nil, outcome.BadRequest("Parameters.parameter must be an array.").At("Parameters.parameter")
	}
	for i, x := range raw {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, outcome.BadRequest("Parameters.parameter entries must be objects.").At("Parameters.parameter[" + strconv.Itoa(i) + "]")
		}
		p.byName[str(m["name"])] = append(p.byName[str(m["name"])], m)
	}
	return p, nil
}

func (p *params) one(name string, required bool) (map[string]any, error) {
	l := p.byName[name]
	switch {
	case len(l) > 1:
		return nil, outcome.BadRequest("The parameter %s is given more than once.", name).At("Parameters.parameter")
	case len(l) == 0 && required:
		return nil, outcome.BadRequest("The parameter %s is required.", name).At("Parameters.parameter")
	case len(l) == 0:
		return nil, nil
	}
	return l[0], nil
}

// reference reads a valueReference to a Patient ("Patient/x", or an
// absolute URL ending in it) and returns the id.
func (p *params) reference(name string, required bool) (string, error) {
	m, err := p.one(name, required)
	if m == nil || err != nil {
		return "", err
	}
	ref := str(obj(m["valueReference"])["reference"])
	if ref == "" {
		return "", outcome.BadRequest("The parameter %s must be a valueReference with a reference (Patient/[id]).", name).At("Parameters.parameter")
	}
	if i := strings.LastIndex(ref, "/Patient/"); i >= 0 {
		ref = ref[i+1:]
	}
	id, ok := strings.CutPrefix(ref, "Patient/")
	if !ok || !validID(id) {
		return "", outcome.BadRequest("The parameter %s must refer to a Patient as Patient/[id], not %q.", name, ref).At("Parameters.parameter")
	}
	return id, nil
}

func (p *params) boolean(name string) (bool, error) {
	m, err := p.one(name, false)
	if m == nil || err != nil {
		return false, err
	}
	b, ok := m["valueBoolean"].(bool)
	if !ok {
		return false, outcome.BadRequest("The parameter %s must be a valueBoolean.", name).At("Parameters.parameter")
	}
	return b, nil
}

func (p *params) code(name string) (string, error) {
	m, err := p.one(name, true)
	if err != nil {
		return "", err
	}
	c := str(m["valueCode"])
	if c == "" {
		return "", outcome.BadRequest("The parameter %s must be a valueCode.", name).At("Parameters.parameter")
	}
	return c, nil
}

// validID reports whether s is a FHIR id: [A-Za-z0-9\-\.]{1,64}.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// writeStored answers with the current version of a resource.
func (e *Engine) writeStored(w http.ResponseWriter, r *http.Request, typ, id string) error {
	v, err := e.st.Read(r.Context(), typ, id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `W/"`+strconv.FormatInt(v.VersionID, 10)+`"`)
	return respond.Body(w, r, http.StatusOK, v.Body)
}
