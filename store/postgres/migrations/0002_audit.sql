-- The audit trail: the same table as store/sqlite's 0002_audit.sql (see
-- there for the why).
CREATE TABLE audit_log (
    seq           BIGINT   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            BIGINT   NOT NULL, -- Unix microseconds, UTC
    subject       TEXT     COLLATE "C" NOT NULL,
    role          TEXT     NOT NULL,
    organization  TEXT     NOT NULL,
    demo          SMALLINT NOT NULL,
    action        TEXT     NOT NULL,
    resource_type TEXT     COLLATE "C" NOT NULL,
    resource_id   TEXT     COLLATE "C" NOT NULL,
    operation     TEXT     NOT NULL,
    source        TEXT     NOT NULL,
    allowed       SMALLINT NOT NULL,
    reason        TEXT     NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, seq);
CREATE INDEX audit_log_subject ON audit_log (subject, at, seq);
CREATE INDEX audit_log_type ON audit_log (resource_type, at, seq);
CREATE INDEX audit_log_resource ON audit_log (resource_id, at, seq); -- ids are nearly unique
CREATE INDEX audit_log_denied ON audit_log (at, seq) WHERE allowed = 0;
