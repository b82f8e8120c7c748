package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Floor measures the storage floor (see store/floor) in a fresh database
// file in the directory of path (path itself is not touched): the bodies
// inserted into a bare (id, body) table through one writer connection with
// the store's pragmas and a reused prepared statement, batch per
// transaction.
func Floor(ctx context.Context, path string, bodies [][]byte, batch int) (time.Duration, error) {
	if batch <= 0 {
		batch = 50
	}
	var b [8]byte
	rand.Read(b[:])
	file := filepath.Join(filepath.Dir(path), "floor-"+hex.EncodeToString(b[:])+".db")
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(file + suffix)
		}
	}()
	writer, reader, err := openPools(file, Options{ReadConns: 1})
	if err != nil {
		return 0, err
	}
	defer reader.Close()
	defer writer.Close()
	if _, err := writer.ExecContext(ctx, `CREATE TABLE floor (id INTEGER PRIMARY KEY, body BLOB NOT NULL)`); err != nil {
		return 0, fmt.Errorf("sqlite floor: %w", err)
	}
	st, err := writer.PrepareContext(ctx, `INSERT INTO floor (body) VALUES (?)`)
	if err != nil {
		return 0, fmt.Errorf("sqlite floor: %w", err)
	}
	defer st.Close()
	start := time.Now()
	for i := 0; i < len(bodies); i += batch {
		tx, err := writer.BeginTx(ctx, nil)
		if err != nil {
			return 0, fmt.Errorf("sqlite floor: %w", err)
		}
		txst := tx.StmtContext(ctx, st)
		for _, body := range bodies[i:min(i+batch, len(bodies))] {
			if _, err := txst.ExecContext(ctx, body); err != nil {
				tx.Rollback()
				return 0, fmt.Errorf("sqlite floor: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, fmt.Errorf("sqlite floor: %w", err)
		}
	}
	return time.Since(start), nil
}
