// Package store defines how Xietong persists FHIR resources: every version of
// every resource as JSON, and the search-index entries of each current
// version. Implementations live in subpackages (store/sqlite, store/postgres)
// and all pass the one conformance suite in store/storetest.
//
// The store knows nothing about FHIR semantics: it does not parse resource
// JSON, validate it or compute index entries. The layers above (validation,
// search-index extraction, the REST service) hand it finished bytes and
// finished index rows. It must not import any package of this module other
// than the standard library and its own driver.
//
// Error contract: every method returns errors that satisfy errors.Is with one
// of the sentinel errors below when the condition is the caller's to handle
// (ErrNotFound, ErrGone, ErrConflict, ErrTimeout, ErrInvalid,
// ErrUnsupported, ErrSchema); anything else is an
// internal failure of the database.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors; implementations wrap them with context.
var (
	// ErrNotFound: no resource (or version) with that type and id exists.
	ErrNotFound = errors.New("not found")
	// ErrGone: the resource exists but its current version is a deletion.
	ErrGone = errors.New("deleted")
	// ErrConflict: a Put or Delete named a version other than current+1,
	// usually because another writer got there first.
	ErrConflict = errors.New("version conflict")
	// ErrTimeout: the query exceeded its time budget (context deadline).
	ErrTimeout = errors.New("query time budget exceeded")
	// ErrInvalid: the request is malformed in a way only the store can
	// see, such as a paging cursor that was not issued for this query.
	ErrInvalid = errors.New("invalid request")
	// ErrUnsupported: the store does not implement a feature the query
	// asks for. Stores never silently ignore a predicate; they fail with
	// this instead.
	ErrUnsupported = errors.New("not supported by this store")
	// ErrSchema: the database schema is not the one this binary expects
	// (older: run the migrations; newer: the binary is too old for it).
	ErrSchema = errors.New("database schema version mismatch")
)

// Version is one stored version of a resource.
type Version struct {
	Type        string
	ID          string
	VersionID   int64     // 1, 2, 3 ... per resource, never reused
	LastUpdated time.Time // UTC, truncated to microseconds
	Deleted     bool      // this version records a deletion; Body is nil
	Method      string    // "POST", "PUT", "PATCH" or "DELETE": how it was written (history entries)
	Body        []byte    // the resource JSON exactly as the caller wrote it (meta already set)
}

// Write is one new version to store. The caller decides VersionID (the
// current version + 1, or 1 for a new resource) and LastUpdated, and puts
// both into Body's meta before calling: the store checks the version number,
// so two concurrent writers of the same resource cannot both succeed.
type Write struct {
	Type        string
	ID          string
	VersionID   int64
	LastUpdated time.Time
	Method      string
	Body        []byte // nil for a deletion
	Delete      bool
	Index       Index // search-index entries of this version (ignored for deletions)
}

// Store is a FHIR resource store. All methods are safe for concurrent use.
type Store interface {
	// Begin starts a read-write transaction. Writes in it become visible to
	// others and durable only on Commit; Rollback (or a failed Commit) leaves
	// no trace. Implementations may serialise write transactions (SQLite
	// does); callers should keep them short and do CPU work before Begin.
	Begin(ctx context.Context) (Tx, error)

	Reader

	// Close releases the database. Pending transactions are rolled back.
	Close() error
}

// Reader is the read side, available on the Store (reading committed data)
// and on a Tx (reading its own uncommitted writes too).
type Reader interface {
	// Read returns the current version. ErrNotFound if the resource never
	// existed; if the current version is a deletion, it returns that
	// version (Deleted=true) together with ErrGone.
	Read(ctx context.Context, typ, id string) (*Version, error)

	// VRead returns one version. ErrNotFound if there is no such version;
	// a deletion version is returned with ErrGone.
	VRead(ctx context.Context, typ, id string, versionID int64) (*Version, error)

	// History lists versions newest first, for one resource (Type and ID
	// set), one type (Type set) or the whole system (neither set).
	// ErrNotFound for a resource that never existed; ErrInvalid for an ID
	// without a Type or a cursor that is not a History cursor.
	History(ctx context.Context, q HistoryQuery) (*HistoryPage, error)

	// Search returns the current, non-deleted resources matching q.
	Search(ctx context.Context, q *Query) (*SearchResult, error)
}

// Tx is a read-write transaction.
type Tx interface {
	Reader

	// Put stores a new version (create, update or delete). It returns
	// ErrConflict if w.VersionID is not the current version + 1 (or 1 for a
	// resource that never existed), and replaces the resource's index
	// entries with w.Index (or removes them for a deletion).
	Put(ctx context.Context, w *Write) error

	Commit() error
	Rollback() error
}

// HistoryQuery selects versions for History.
type HistoryQuery struct {
	Type  string    // "" for system history
	ID    string    // "" for type or system history
	Since time.Time // zero: no lower bound; otherwise LastUpdated >= Since
	At    time.Time // zero: no bound; otherwise only versions current at that instant (_at)
	Count int       // page size; 0 means the implementation default (50)
	// Cursor continues a previous page: the opaque NextCursor of that page.
	// Pages stay stable while new versions are written.
	Cursor string
}

// HistoryPage is one page of history, newest first.
type HistoryPage struct {
	Versions   []*Version
	Total      int    // total number of versions matching, ignoring paging
	NextCursor string // "" when this is the last page
}
