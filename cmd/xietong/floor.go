package main

import (
	"context"
	"time"

	"github.com/xietong/xietong/bench/ingest"
	"github.com/xietong/xietong/store/floor"
)

// measureFloor stores the bundles' resource bytes in a bare table of the
// same kind of database as dsn, in transactions of the mean bundle size.
func measureFloor(ctx context.Context, dsn string, bundles []ingest.Bundle) (time.Duration, error) {
	var bodies [][]byte
	for _, b := range bundles {
		bodies = append(bodies, b.Bodies...)
	}
	batch := max(1, len(bodies)/len(bundles))
	return floor.Floor(ctx, dsn, bodies, batch)
}
