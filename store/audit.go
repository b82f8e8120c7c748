package store

import (
	"context"
	"time"
)

// AuditLog is an optional capability of a Store (find it by type
// assertion: s.(store.AuditLog)): a durable, append-only trail of access
// decisions (access.Guard), kept apart from the resources. Both SQL stores
// implement it (migration 0002).
type AuditLog interface {
	// AppendAudit stores recs in one transaction: when it returns nil all
	// of them are durable (as durable as a committed resource write);
	// otherwise none is. Seq is assigned by the store; Time is kept to the
	// microsecond (UTC). An empty slice is a no-op.
	AppendAudit(ctx context.Context, recs []AuditRecord) error

	// ReadAudit returns one page of records matching q, newest first (by
	// Time, then Seq), and the cursor of the next page ("" on the last).
	// ErrInvalid for a cursor it did not issue or an ID without a
	// ResourceType.
	ReadAudit(ctx context.Context, q AuditQuery) ([]AuditRecord, string, error)
}

// AuditRecord is one access decision.
type AuditRecord struct {
	// Seq numbers records in the order the store appended them (set on
	// read, ignored on append); it is unique, so an AuditEvent can use it
	// as its id.
	Seq          int64
	Time         time.Time
	Subject      string
	Role         string
	Organization string
	Demo         bool
	Action       string
	ResourceType string
	ID           string
	Operation    string
	Source       string
	Allowed      bool
	Reason       string
}

// AuditQuery selects audit records. Zero fields do not restrict.
type AuditQuery struct {
	Since time.Time // Time >= Since
	Until time.Time // Time < Until
	// Subject: records of this principal.
	Subject string
	// ResourceType, and optionally ID: records about this type or this
	// one resource.
	ResourceType string
	ID           string
	// Allowed, when set, keeps only allowed (*Allowed) or denied records.
	Allowed *bool
	// Count is the page size: 0 means 100; at most 1,000.
	Count int
	// Cursor continues a previous page (its next cursor), with the same
	// filters.
	Cursor string
}
