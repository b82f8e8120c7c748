package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/xietong/xietong/fhir/fhirjson"
	"github.com/xietong/xietong/search"
	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/open"
)

// load generates the units and writes them through the store: workers
// decode, rewrite, index and marshal; one goroutine writes transactions of
// batch resources.
func load(ctx context.Context, dsn string, units []unit, total, workers, batch int, ix *search.Indexer) error {
	st, err := open.Open(ctx, dsn, open.WithMigrate())
	if err != nil {
		return err
	}
	defer st.Close()

	in := make(chan int)
	out := make(chan []*store.Write, 2*workers)
	errc := make(chan error, workers+1)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range in {
				ws, err := prepare(units[i], ix)
				if err != nil {
					errc <- err
					return
				}
				select {
				case out <- ws:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(in)
		for i := range units {
			select {
			case in <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(out) }()

	start := time.Now()
	lastLog := start
	written, entries := 0, 0
	var pending []*store.Write
	flush := func(n int) error {
		for len(pending) >= n && len(pending) > 0 {
			k := min(batch, len(pending))
			tx, err := st.Begin(ctx)
			if err != nil {
				return err
			}
			for _, w := range pending[:k] {
				if err := tx.Put(ctx, w); err != nil {
					tx.Rollback()
					return fmt.Errorf("put %s/%s: %w", w.Type, w.ID, err)
				}
				entries += w.Index.Len()
			}
			if err := tx.Commit(); err != nil {
				return err
			}
			written += k
			pending = pending[k:]
			if time.Since(lastLog) > 15*time.Second {
				lastLog = time.Now()
				el := time.Since(start).Seconds()
				fmt.Printf("  %d/%d resources, %.0f res/s, %.1f index entries/res, %.0fs\n", written, total, float64(written)/el, float64(entries)/float64(written), el)
			}
		}
		return nil
	}
	for ws := range out {
		pending = append(pending, ws...)
		if err := flush(batch); err != nil {
			return err
		}
		select {
		case err := <-errc:
			return err
		default:
		}
	}
	select {
	case err := <-errc:
		return err
	default:
	}
	if err := flush(1); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Printf("loaded %d resources (%d index entries, %.1f/res) in %s: %.0f resources/s\n",
		written, entries, float64(entries)/float64(max(written, 1)), el.Round(time.Second), float64(written)/el.Seconds())
	if open.IsPostgres(dsn) {
		return vacuum(ctx, dsn)
	}
	return nil
}

// vacuum runs VACUUM (ANALYZE) on a PostgreSQL database just loaded. A
// bulk load leaves the visibility map empty until autovacuum comes by (its
// insert threshold is a fifth of the table), so every index-only scan
// fetches the heap page of each entry: _has on a common code read 8,000
// buffers instead of 540 at 200,000 resources (decision 026). The queries
// measure the database as autovacuum keeps it, not the moment after the
// load; the time is printed apart from the load's.
func vacuum(ctx context.Context, dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	if _, err := db.ExecContext(ctx, "VACUUM (ANALYZE)"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	fmt.Printf("VACUUM (ANALYZE) in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// prepare turns one unit into writes.
func prepare(u unit, ix *search.Indexer) ([]*store.Write, error) {
	refs := make(map[string]string, len(u.Bundle.Entries))
	for _, e := range u.Bundle.Entries {
		refs[e.FullURL] = e.Type + "/" + newID(u.Copy, e.FullURL)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	ts := now.Format("2006-01-02T15:04:05.000000Z07:00")
	ws := make([]*store.Write, 0, len(u.Bundle.Entries))
	for i, e := range u.Bundle.Entries {
		if u.Skip[i] {
			continue
		}
		res, err := fhirjson.Decode(e.Raw, fhirjson.Limits{})
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", u.Bundle.Name, e.FullURL, err)
		}
		id := newID(u.Copy, e.FullURL)
		res["id"] = id
		rewrite(res, refs)
		meta, _ := res["meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			res["meta"] = meta
		}
		meta["versionId"] = "1"
		meta["lastUpdated"] = ts
		idx, err := ix.Index(e.Type, res)
		if err != nil {
			return nil, fmt.Errorf("index %s/%s: %w", e.Type, id, err)
		}
		body, err := fhirjson.Marshal(res)
		if err != nil {
			return nil, fmt.Errorf("marshal %s/%s: %w", e.Type, id, err)
		}
		ws = append(ws, &store.Write{Type: e.Type, ID: id, VersionID: 1, LastUpdated: now, Method: "POST", Body: body, Index: idx})
	}
	return ws, nil
}
