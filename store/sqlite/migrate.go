package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

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
    applied_at INTEGER NOT NULL
)`

func schemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// Migrate applies the pending migrations to the database at path, each in
// its own transaction together with its schema_migrations row, so a crash
// leaves the schema at a whole version. It refuses a database whose schema
// is newer than this binary.
func Migrate(ctx context.Context, path string) error {
	writer, reader, err := openPools(path, Options{ReadConns: 1})
	if err != nil {
		return err
	}
	defer reader.Close()
	defer writer.Close()
	return migrate(ctx, writer)
}

func migrate(ctx context.Context, writer *sql.DB) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	if _, err := writer.ExecContext(ctx, sqlMigrationsTable); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for {
		done, err := migrateOne(ctx, writer, ms)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next pending migration; done when there is none.
func migrateOne(ctx context.Context, writer *sql.DB, ms []sqlstore.Migration) (done bool, err error) {
	tx, err := writer.BeginTx(ctx, nil) // BEGIN IMMEDIATE: other processes wait
	if err != nil {
		return false, fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer tx.Rollback()
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return false, fmt.Errorf("sqlite: migrate: %w", err)
	}
	if v > len(ms) {
		return false, fmt.Errorf("sqlite: %w: database schema version %d is newer than this binary's %d", store.ErrSchema, v, len(ms))
	}
	if v == len(ms) {
		return true, nil
	}
	m := ms[v]
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("sqlite: migration %d (%s): %w", m.Version, m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return false, fmt.Errorf("sqlite: migration %d: %w", m.Version, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: migration %d: commit: %w", m.Version, err)
	}
	return false, nil
}

// checkSchema runs at Open: the schema must be exactly this binary's.
func (db *DB) checkSchema(ctx context.Context, apply bool) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	v, err := schemaVersion(ctx, db.writer)
	if err != nil {
		return fmt.Errorf("sqlite: read schema version: %w", err)
	}
	switch {
	case v > len(ms):
		return fmt.Errorf("sqlite: %w: database schema version %d is newer than this binary's %d; use a newer binary", store.ErrSchema, v, len(ms))
	case v < len(ms) && !apply:
		return fmt.Errorf("sqlite: %w: database schema version %d, this binary needs %d; run the migrations (xietong migrate)", store.ErrSchema, v, len(ms))
	case v < len(ms):
		if err := migrate(ctx, db.writer); err != nil {
			return err
		}
	}
	return db.prepareWriter(ctx)
}
