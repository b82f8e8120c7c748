// Package floor measures the storage floor: how long the database takes
// to store given resource bodies in a bare table (an id and the bytes; no
// version bookkeeping, no index rows), in transactions of a given size,
// with the same durability settings as the real store. Ingest speed is
// reported as a ratio to it, which factors out the disk and the machine.
package floor

import (
	"context"
	"time"

	"github.com/xietong/xietong/store/open"
	"github.com/xietong/xietong/store/postgres"
	"github.com/xietong/xietong/store/sqlite"
)

// Floor stores bodies in batches of batch per transaction in a fresh
// database of the kind dsn names, and returns the time it took, table
// creation excluded. For SQLite the fresh file is created next to the file
// dsn names (same disk) and removed afterwards; for PostgreSQL a fresh
// schema is created in that database and dropped afterwards.
func Floor(ctx context.Context, dsn string, bodies [][]byte, batch int) (time.Duration, error) {
	if open.IsPostgres(dsn) {
		return postgres.Floor(ctx, dsn, bodies, batch)
	}
	return sqlite.Floor(ctx, dsn, bodies, batch)
}
