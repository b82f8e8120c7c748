// Package sqlstore is the SQL shared by store/sqlite and store/postgres: the
// read side (Read, VRead, History, Search) written once against the logical
// schema both databases share, parameterised by a Dialect, plus the
// migration-file loader. Every user value reaches the database as a bound
// parameter; SQL text is only ever built from constants and column names.
//
// It must not import a database driver: each store adapts its own
// connection type to Querier.
package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/xietong/xietong/store"
)

// Dialect is the SQL flavour: how placeholders are written.
type Dialect int

const (
	SQLite   Dialect = iota // ? placeholders
	Postgres                // $1, $2 ... placeholders
)

// Rows is the part of a result set the shared code uses.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Querier runs one query: a connection pool, or an open transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
}

// SearchQuerier is a Querier that runs the searches whose good plan
// depends on their values its own way: PostgreSQL plans each with its
// values (a plan cached for the statement, made for any values, drove one
// patient's code search from every entry of the code: 2 s instead of
// 2 ms). Other searches keep the cached statements (planning each one
// again cost more than it saved: $everything runs one per type).
type SearchQuerier interface {
	SearchQuery(ctx context.Context, sql string, args ...any) (Rows, error)
}

// Reader implements store.Reader over a Querier.
type Reader struct {
	Q Querier
	D Dialect
}

var _ store.Reader = Reader{}

// WrapErr maps a database error to the store's error contract: a context
// deadline becomes store.ErrTimeout; anything else is wrapped as internal.
func WrapErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w (%v)", op, store.ErrTimeout, err)
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrGone) ||
		errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) ||
		errors.Is(err, store.ErrUnsupported) || errors.Is(err, store.ErrTimeout) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// DefaultCount is the page size when a query names none.
const DefaultCount = 50

// searchQuery runs one statement of a search: through SearchQuery when
// the statement's plan hangs on its values (b.valueDependent).
func (r Reader) searchQuery(ctx context.Context, b *builder) (Rows, error) {
	if sq, ok := r.Q.(SearchQuerier); ok && b.valueDependent {
		return sq.SearchQuery(ctx, b.String(), b.args...)
	}
	return r.Q.Query(ctx, b.String(), b.args...)
}
