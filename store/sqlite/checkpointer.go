package sqlite

import (
	"database/sql"
	"time"
)

// checkpointEvery is how often a background checkpointer copies a WAL's
// committed pages into its database file.
const checkpointEvery = 250 * time.Millisecond

// checkpointer runs PASSIVE checkpoints of one database file's WAL on a
// connection of its own every checkpointEvery. A PASSIVE checkpoint never
// blocks the writer or the readers, so the page copying and the database
// file's fsync happen beside the writer instead of inside one of its
// commits, where SQLite's automatic (backstop) checkpoint would run them
// (decisions 006, 029). Errors (SQLITE_BUSY while another process
// checkpoints) are harmless: the next tick, or the writer's backstop,
// catches up. The resources' file and the audit file have one each.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

// startCheckpointer opens the checkpointer's connection with dsn (a
// writer's) and starts it.
func startCheckpointer(dsn string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		tick := time.NewTicker(checkpointEvery)
		defer tick.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
				db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
			}
		}
	}()
	return c, nil
}

// close stops the checkpointer and closes its connection; nil-safe.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	close(c.stop)
	<-c.done
	return c.db.Close()
}
