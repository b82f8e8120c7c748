package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xietong/xietong/store"
	"github.com/xietong/xietong/store/internal/sqlstore"
)

// Migrations returns the embedded schema migrations, in order.
func Migrations() ([]sqlstore.Migration, error) {
	sub, err := fsSub()
	if err != nil {
		return nil, err
	}
	return sqlstore.LoadMigrations(sub)
}

const sqlMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at BIGINT  NOT NULL
)`

// Serialises migrators of one schema (several nodes starting at once).
const sqlMigrateLock = `SELECT pg_advisory_xact_lock(hashtext('xietong.migrate.' || current_schema()))`

type rowQueryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func schemaVersion(ctx context.Context, q rowQueryer) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var v *int
	if err := q.QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil || v == nil {
		return 0, err
	}
	return *v, nil
}

// Migrate applies the pending migrations to the database named by dsn,
// each in its own transaction together with its schema_migrations row. It
// refuses a database whose schema is newer than this binary.
func Migrate(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(context.Background())
	return migrate(ctx, conn)
}

type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

func migrate(ctx context.Context, db beginner) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	for {
		done, err := migrateOne(ctx, db, ms)
		if err != nil || done {
			return err
		}
	}
}

func migrateOne(ctx context.Context, db beginner, ms []sqlstore.Migration) (done bool, err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("postgres: migrate: %w", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, sqlMigrateLock); err != nil {
		return false, fmt.Errorf("postgres: migrate: %w", err)
	}
	if _, err := tx.Exec(ctx, sqlMigrationsTable); err != nil {
		return false, fmt.Errorf("postgres: migrate: %w", err)
	}
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return false, fmt.Errorf("postgres: migrate: %w", err)
	}
	if v > len(ms) {
		return false, fmt.Errorf("postgres: %w: database schema version %d is newer than this binary's %d", store.ErrSchema, v, len(ms))
	}
	if v == len(ms) {
		return true, tx.Commit(ctx)
	}
	m := ms[v]
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("postgres: migration %d (%s): %w", m.Version, m.Name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return false, fmt.Errorf("postgres: migration %d: %w", m.Version, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("postgres: migration %d: commit: %w", m.Version, err)
	}
	return false, nil
}

func (db *DB) checkSchema(ctx context.Context, apply bool) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	v, err := schemaVersion(ctx, db.pool)
	if err != nil {
		return fmt.Errorf("postgres: read schema version: %w", err)
	}
	switch {
	case v > len(ms):
		return fmt.Errorf("postgres: %w: database schema version %d is newer than this binary's %d; use a newer binary", store.ErrSchema, v, len(ms))
	case v < len(ms) && !apply:
		return fmt.Errorf("postgres: %w: database schema version %d, this binary needs %d; run the migrations (xietong migrate)", store.ErrSchema, v, len(ms))
	case v < len(ms):
		return migrate(ctx, db.pool)
	}
	return nil
}
