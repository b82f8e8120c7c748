package fhirapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/xietong/xietong/fhir/outcome"
	"github.com/xietong/xietong/store"
)

// A Hook is an engine's step on the write path (decision 009): the EMPI
// links each Patient to its regional master, the recognition engine marks
// qualifying results. Hooks run in the order of Deps.Hooks for every
// create, update, patch and delete, whether it came as a single request or
// as a Bundle entry. They must not call back into the API.
type Hook interface {
	// Prepare runs after validation and before index extraction, for a
	// resource about to be created or updated (for a PATCH: on the patched
	// resource). It may change res (tags, extensions, links); the stored
	// bytes and the index see the change. It runs outside the transaction
	// except for patches, so it must not depend on uncommitted data. id is
	// "" for a conditional update whose target is not known yet. An
	// *outcome.Error rejects the write with its status.
	Prepare(ctx context.Context, typ, id string, res map[string]any) error

	// Written runs inside the write's transaction, after the version was
	// stored (res is nil for a delete). It may read through tx and return
	// follow-up writes that are done in the same transaction, so that a
	// crash never leaves one without the other (a source Patient without
	// its master, a master without its link). Follow-ups are validated and
	// indexed like any write, but hooks do not run on them.
	Written(ctx context.Context, tx store.Reader, v *store.Version, res map[string]any) ([]Followup, error)

	// Committed runs after the transaction committed durably, with every
	// version it wrote (follow-ups included), in order. Engines update
	// their in-memory state here; it must not fail.
	Committed(ctx context.Context, versions []*store.Version)
}

// A Followup is a write a Hook asks for inside the transaction of the
// write that triggered it: the resource (with resourceType and id) is
// created, or updated when it exists. IfVersion, when non-zero, makes the
// write fail with a conflict unless the current version is that one (the
// hook read it and computed the change from it).
type Followup struct {
	Resource  map[string]any
	IfVersion int64
	// Create makes the write fail with a conflict when the resource exists
	// (and is not deleted): the hook read it as absent inside the
	// transaction and computed it from scratch, so a concurrent creator
	// must not be overwritten.
	Create bool
}

// hookTx records the versions a transaction wrote, for Hook.Committed.
type hookTx struct {
	store.Tx
	written []*store.Version
}

// Unwrap returns the store's transaction, so that a hook can find the
// store's optional capabilities on it (store.EngineTx).
func (t *hookTx) Unwrap() store.Tx { return t.Tx }

// freshPutter is a store transaction that can store the first version
// of a resource whose id the server has just minted without looking for
// its current row first (store/sqlite: that lookup is a query inside the
// serial writer; docs/decisions/022-ingest-index-tables.md, round 2). A
// store without it gets Put, which looks.
type freshPutter interface {
	PutFresh(ctx context.Context, w *store.Write) error
}

// PutFresh passes the store's PutFresh through, or falls back to Put.
func (t *hookTx) PutFresh(ctx context.Context, w *store.Write) error {
	if fp, ok := t.Tx.(freshPutter); ok {
		return fp.PutFresh(ctx, w)
	}
	return t.Tx.Put(ctx, w)
}

func (s *Server) hookPrepare(ctx context.Context, o *op) error {
	for _, h := range s.deps.Hooks {
		if err := h.Prepare(ctx, o.typ, o.id, o.resource); err != nil {
			if oe := outcome.As(err); oe != nil {
				return err
			}
			return outcome.Wrap(err, http.StatusUnprocessableEntity, "processing", "%s%v", prefix(o.path), err)
		}
	}
	return nil
}

// hookWritten runs the hooks' Written step for a write that stored v and
// writes their follow-ups.
func (s *Server) hookWritten(ctx context.Context, tx store.Tx, v *store.Version, res map[string]any, now time.Time) error {
	if ht, ok := tx.(*hookTx); ok {
		ht.written = append(ht.written, v)
	}
	for _, h := range s.deps.Hooks {
		fs, err := h.Written(ctx, tx, v, res)
		if err != nil {
			return err
		}
		for _, f := range fs {
			if err := s.writeFollowup(ctx, tx, f, now); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) writeFollowup(ctx context.Context, tx store.Tx, f Followup, now time.Time) error {
	typ, _ := f.Resource["resourceType"].(string)
	id, _ := f.Resource["id"].(string)
	if typ == "" || id == "" {
		return errors.New("fhirapi: a hook's follow-up write has no resourceType or id")
	}
	o := &op{method: http.MethodPut, typ: typ, id: id, resource: f.Resource, path: "follow-up " + typ + "/" + id}
	if err := s.validate(o); err != nil {
		return err
	}
	if err := s.reindex(o); err != nil {
		return err
	}
	cur, deleted, err := current(ctx, tx, typ, id)
	if err != nil {
		return err
	}
	vid := int64(1)
	if cur != nil {
		vid = cur.VersionID + 1
	}
	if f.IfVersion != 0 && (cur == nil || deleted || cur.VersionID != f.IfVersion) {
		return store.ErrConflict
	}
	if f.Create && cur != nil && !deleted {
		return store.ErrConflict
	}
	res, err := s.put(ctx, tx, o, vid, now, http.StatusOK)
	if err != nil {
		return err
	}
	if ht, ok := tx.(*hookTx); ok {
		ht.written = append(ht.written, res.version)
	}
	return nil
}
