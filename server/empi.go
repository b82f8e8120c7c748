package server

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/xietong/xietong/access"
	"github.com/xietong/xietong/empi"
	"github.com/xietong/xietong/fhirapi"
	"github.com/xietong/xietong/store"
)

// newEMPI builds the EMPI (the identity stage of the write path and its
// operations) and loads its index from the store's Patients, so that the
// first write is matched against every existing record.
func newEMPI(ctx context.Context, cfg Config, st store.Store, guard *access.Guard, zone *time.Location) (*empi.Engine, error) {
	e := empi.New(empi.Config{
		Store:     st,
		Indexer:   newIndexer(zone),
		Validator: newValidator(),
		Guard:     guard,
		Base:      cfg.PublicURL,
		Logger:    cfg.Logger,
	})
	start := time.Now()
	if err := e.Load(ctx); err != nil {
		return nil, fmt.Errorf("load the EMPI index: %w", err)
	}
	// The load decoded every Patient: collect that garbage now and give
	// the memory back (at a million masters the peak is about four times
	// the 2.2 GB the index keeps), rather than let the first requests
	// pay for marking the whole heap.
	debug.FreeOSMemory()
	cfg.Logger.Info("EMPI index loaded", "records", e.Len(), "masters", e.Masters(), "took", time.Since(start).Round(time.Millisecond))
	return e, nil
}

// empiOperations are the EMPI's operations, keyed as fhirapi.Deps.Operations.
func empiOperations(e *empi.Engine) map[string]fhirapi.OperationFunc {
	return map[string]fhirapi.OperationFunc{
		"Patient/$match":       e.MatchOperation,
		"Patient/$ihe-pix":     e.PIXOperation,
		"Patient/$merge":       e.MergeOperation,
		"Patient/{id}/$link":   e.LinkOperation,
		"Patient/{id}/$unlink": e.UnlinkOperation,
		"Task/{id}/$decide":    e.DecideOperation,
	}
}

// empiHook adapts the EMPI to fhirapi.Hook (the empi package does not
// depend on fhirapi).
type empiHook struct{ e *empi.Engine }

func (h empiHook) Prepare(ctx context.Context, typ, id string, res map[string]any) error {
	return h.e.Prepare(ctx, typ, id, res)
}

func (h empiHook) Written(ctx context.Context, tx store.Reader, v *store.Version, res map[string]any) ([]fhirapi.Followup, error) {
	ws, err := h.e.Written(ctx, tx, v, res)
	if err != nil || len(ws) == 0 {
		return nil, err
	}
	out := make([]fhirapi.Followup, len(ws))
	for i, w := range ws {
		out[i] = fhirapi.Followup{Resource: w.Resource, IfVersion: w.IfVersion, Create: w.Create}
	}
	return out, nil
}

func (h empiHook) Committed(ctx context.Context, versions []*store.Version) {
	h.e.Committed(ctx, versions)
}

var _ fhirapi.Hook = empiHook{}
