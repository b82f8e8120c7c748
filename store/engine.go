package store

import "context"

// EngineSQL is an optional capability of a Store and of its Tx (find it by
// type assertion): an engine (recognition) keeps compact tables of its own
// beside the store's schema — created by the engine's own versioned
// migrations, never by the store's — and writes them in the same
// transaction as the resource version that changes them, so the two can
// never disagree after a crash. Both SQL stores implement it.
//
// Rules for engines: their table names start with the engine's name and an
// underscore; they never read or write the store's own tables (the store's
// layout is its private matter, and SQLite buffers its own rows until a
// read or Commit); SQL text is constant, values are bound. Placeholders are
// written "?" on either database (the PostgreSQL store numbers them).
//
// On a Store, QuerySQL reads committed data (SQLite: the read pool) and
// ExecSQL is not offered: engines change their tables only in a Tx.
type EngineSQL interface {
	// Dialect is "sqlite" or "postgres", for the few statements that
	// differ (upserts, types).
	Dialect() string
	// QuerySQL runs a query; the caller closes the rows.
	QuerySQL(ctx context.Context, query string, args ...any) (Rows, error)
}

// EngineTx is EngineSQL inside a write transaction.
type EngineTx interface {
	EngineSQL
	// ExecSQL runs a statement in the transaction.
	ExecSQL(ctx context.Context, query string, args ...any) error
}

// Rows is a result set of QuerySQL.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// NumberPlaceholders rewrites "?" placeholders to "$1", "$2" ... (the
// PostgreSQL form). Engine SQL has no "?" inside string literals.
func NumberPlaceholders(q string) string {
	n := 0
	var out []byte
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			out = append(out, q[i])
			continue
		}
		n++
		out = append(out, '$')
		out = appendInt(out, n)
	}
	return string(out)
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}
