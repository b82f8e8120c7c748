package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Floor measures the storage floor (see store/floor) in a fresh schema of
// the database dsn names, dropped afterwards: the bodies inserted into a
// bare (id, body) table, batch per transaction, each batch as one
// multi-row INSERT (the cheapest plain-SQL way to store them).
func Floor(ctx context.Context, dsn string, bodies [][]byte, batch int) (d time.Duration, err error) {
	if batch <= 0 {
		batch = 50
	}
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, fmt.Errorf("postgres floor: %w", err)
	}
	defer admin.Close(context.Background())
	schema, err := NewSchema(ctx, admin, "xt_floor_")
	if err != nil {
		return 0, err
	}
	defer func() {
		if _, derr := admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); derr != nil && err == nil {
			err = fmt.Errorf("postgres floor: drop schema: %w", derr)
		}
	}()
	conn, err := pgx.Connect(ctx, WithSearchPath(dsn, schema))
	if err != nil {
		return 0, fmt.Errorf("postgres floor: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE TABLE floor (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body BYTEA NOT NULL)`); err != nil {
		return 0, fmt.Errorf("postgres floor: %w", err)
	}
	start := time.Now()
	for i := 0; i < len(bodies); i += batch {
		chunk := bodies[i:min(i+batch, len(bodies))]
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO floor (body) SELECT * FROM unnest($1::bytea[])`, chunk)
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("postgres floor: %w", err)
		}
	}
	return time.Since(start), nil
}
