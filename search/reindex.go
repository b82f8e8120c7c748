package search

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/store"
)

// ReindexOptions says what Reindex recomputes.
type ReindexOptions struct {
	// Types restricts it to resources of these types (none: all).
	Types []string
	// Batch is the number of resources read and rewritten per transaction
	// (0: 500).
	Batch int
	// After resumes a previous run: the Cursor of its last progress report.
	After string
	// Workers compute index entries in parallel (0: the number of CPUs).
	Workers int
	// Progress, when set, is called after every batch.
	Progress func(ReindexProgress)
}

// ReindexProgress is where a Reindex run stands.
type ReindexProgress struct {
	Scanned   int // current resources read (of the selected types)
	Reindexed int // resources whose entries were replaced
	// Skipped were written again between being read and rewritten (their
	// write indexed them) or could not be indexed (Failed).
	Skipped int
	Failed  []string // "Type/id: reason" of resources the indexer refused
	// Cursor resumes the run after the last batch written (ReindexOptions.After).
	Cursor  string
	Elapsed time.Duration
}

// Reindex recomputes the search-index entries of the stored resources
// (current versions, in the store's row order) with ix and replaces them,
// batch by batch, each batch one transaction: for resources written before
// the indexer knew composites, positions, canonical units or the token
// entries' patient. Versions are not touched. It is safe to run again or
// beside a running server: a resource updated meanwhile keeps the entries
// its update wrote. The store must implement store.Reindexer on its
// transactions.
func Reindex(ctx context.Context, st store.Store, ix *Indexer, o ReindexOptions) (ReindexProgress, error) {
	var p ReindexProgress
	batch := o.Batch
	if batch <= 0 {
		batch = 500
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	t0 := time.Now()
	cursor := o.After
	for {
		page, err := st.Search(ctx, &store.Query{Types: o.Types, Count: batch, Cursor: cursor, Total: store.TotalNone})
		if err != nil {
			return p, fmt.Errorf("reindex: reading after %q: %w", cursor, err)
		}
		p.Scanned += len(page.Matches)
		todo := page.Matches
		idx, errs := indexAll(ix, todo, workers)
		if len(todo) > 0 {
			if err := reindexBatch(ctx, st, todo, idx, errs, &p); err != nil {
				return p, err
			}
		}
		if page.NextCursor != "" {
			cursor = page.NextCursor
		}
		p.Cursor, p.Elapsed = cursor, time.Since(t0)
		if o.Progress != nil {
			o.Progress(p)
		}
		if page.NextCursor == "" {
			return p, nil
		}
	}
}

// indexAll computes the entries of vs on workers goroutines.
func indexAll(ix *Indexer, vs []*store.Version, workers int) ([]store.Index, []error) {
	idx, errs := make([]store.Index, len(vs)), make([]error, len(vs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(workers, len(vs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res, err := fhirjson.Decode(vs[i].Body, fhirjson.Limits{})
				if err == nil {
					idx[i], err = ix.Index(vs[i].Type, res)
				}
				errs[i] = err
			}
		}()
	}
	for i := range vs {
		next <- i
	}
	close(next)
	wg.Wait()
	return idx, errs
}

func reindexBatch(ctx context.Context, st store.Store, vs []*store.Version, idx []store.Index, errs []error, p *ReindexProgress) error {
	tx, err := st.Begin(ctx)
	if err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	rx, ok := tx.(store.Reindexer)
	if !ok {
		tx.Rollback()
		return fmt.Errorf("reindex: %w: this store cannot replace index entries", store.ErrUnsupported)
	}
	n, skipped := 0, 0
	var failed []string
	for i, v := range vs {
		if errs[i] != nil {
			failed = append(failed, fmt.Sprintf("%s/%s: %v", v.Type, v.ID, errs[i]))
			continue
		}
		done, err := rx.Reindex(ctx, v.Type, v.ID, v.VersionID, &idx[i])
		if err != nil {
			return errors.Join(fmt.Errorf("reindex %s/%s: %w", v.Type, v.ID, err), tx.Rollback())
		}
		if done {
			n++
		} else {
			skipped++
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reindex: commit: %w", err)
	}
	p.Reindexed += n
	p.Skipped += skipped + len(failed)
	p.Failed = append(p.Failed, failed...)
	return nil
}
