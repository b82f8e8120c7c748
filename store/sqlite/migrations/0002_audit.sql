-- The audit trail (store.AuditLog): one row per access decision of
-- access.Guard, append-only (never updated or deleted by the server).
-- Compact: times as Unix microseconds, booleans as 0/1, no foreign keys,
-- text columns '' when absent. seq is the append order (rowid).
--
-- Indexes serve the queries of ReadAudit, newest first: by time (all
-- records), by subject, by resource type, by resource id, and denials (a partial
-- index: denials are few, so it costs almost nothing on append). The time
-- index is appended to in order; the others at a few hot spots (subjects,
-- resource types), so an append of 1,000 records dirties few pages.
CREATE TABLE audit_log (
    seq           INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL, -- Unix microseconds, UTC
    subject       TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    organization  TEXT    NOT NULL,
    demo          INTEGER NOT NULL,
    action        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    resource_id   TEXT    NOT NULL,
    operation     TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    allowed       INTEGER NOT NULL,
    reason        TEXT    NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, seq);
CREATE INDEX audit_log_subject ON audit_log (subject, at, seq);
CREATE INDEX audit_log_type ON audit_log (resource_type, at, seq);
CREATE INDEX audit_log_resource ON audit_log (resource_id, at, seq); -- ids are nearly unique
CREATE INDEX audit_log_denied ON audit_log (at, seq) WHERE allowed = 0;
