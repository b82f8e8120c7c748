package empi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/identity/match"
	"github.com/xietong/xietong/store"
)

// Settle is how far back each catch-up re-reads the Patient history
// before the newest version it has seen. The API stamps a version's
// lastUpdated before its transaction commits, so a version committed
// after a newer-stamped one can still appear behind it; versions already
// applied are skipped by their version number.
const Settle = time.Minute

// historyPage is the page size of catch-up reads.
const historyPage = 1000

// Matcher answers Patient/$match from an in-memory match.Index of the
// store's current Patients, each Patient its own master (this slice of
// the EMPI does not link them yet). It catches up with the store before
// every answer. It is safe for concurrent use.
type Matcher struct {
	st    store.Store
	model *match.Model

	// Base is the server's base URL for fullUrl (e.g.
	// "https://region.example/fhir"); "" derives it from the request.
	Base string

	mu       sync.Mutex
	ix       *match.Index
	masters  map[string]match.MasterID // Patient id → its master
	records  map[string]match.Record   // Patient id → its current record
	versions map[string]int64          // Patient id → the version applied
	seen     time.Time                 // newest lastUpdated applied
	built    bool
}

// New returns a Matcher over st scoring with model (match.DefaultModel()
// when nil). The index is built on the first call.
func New(st store.Store, model *match.Model) *Matcher {
	if model == nil {
		model = match.DefaultModel()
	}
	return &Matcher{
		st: st, model: model,
		ix:       match.NewIndex(model),
		masters:  map[string]match.MasterID{},
		records:  map[string]match.Record{},
		versions: map[string]int64{},
	}
}

// Len is the number of Patients in the index.
func (m *Matcher) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ix.Len()
}

// Sync brings the index up to date with the store: the first call reads
// every Patient version, later ones what was written since the last call
// (minus Settle).
func (m *Matcher) Sync(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.syncLocked(ctx)
}

func (m *Matcher) syncLocked(ctx context.Context) error {
	q := store.HistoryQuery{Type: "Patient", Count: historyPage}
	if m.built {
		q.Since = m.seen.Add(-Settle)
	}
	done := map[string]bool{} // ids whose newest version this pass has handled
	newest := m.seen
	for {
		page, err := m.st.History(ctx, q)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				break // no Patient was ever written
			}
			return fmt.Errorf("empi: read Patient history: %w", err)
		}
		for _, v := range page.Versions {
			if v.LastUpdated.After(newest) {
				newest = v.LastUpdated
			}
			// Newest first: the first version of an id is its current one.
			if done[v.ID] {
				continue
			}
			done[v.ID] = true
			if v.VersionID <= m.versions[v.ID] {
				continue
			}
			if err := m.apply(v); err != nil {
				return err
			}
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	m.seen, m.built = newest, true
	return nil
}

// apply puts one current version into the index.
func (m *Matcher) apply(v *store.Version) error {
	m.versions[v.ID] = v.VersionID
	if v.Deleted || v.Body == nil {
		m.ix.Remove(v.ID)
		delete(m.records, v.ID)
		return nil
	}
	res, err := fhirjson.Decode(v.Body, fhirjson.Limits{})
	if err != nil {
		return fmt.Errorf("empi: stored Patient/%s/_history/%d: %w", v.ID, v.VersionID, err)
	}
	rec := Record(res)
	rec.Source = v.ID
	mid, ok := m.masters[v.ID]
	if !ok {
		mid = m.ix.NewMaster()
		m.masters[v.ID] = mid
	}
	m.ix.Add(rec, mid)
	m.records[v.ID] = rec
	return nil
}
