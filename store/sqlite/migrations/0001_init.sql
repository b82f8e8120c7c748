-- Xietong store schema, version 1. The PostgreSQL schema
-- (store/postgres/migrations) has the same tables and columns; the shared
-- search SQL (store/internal/sqlstore) relies on that, and
-- store/open's TestSchemasAgree checks it.
--
-- Decisions:
-- * Bodies are stored as the exact bytes written (BLOB): the store never
--   looks inside them; search uses the index tables.
-- * The resource type is TEXT, not a small integer: it appears only in
--   resource and resource_version (index rows are keyed by rid and carry
--   no type), so an integer code would save about ten bytes in two rows
--   per version, and would cost a lookup table every query must join.
-- * Times are Unix microseconds (INTEGER), the precision FHIR instants
--   keep here, so comparisons are integer comparisons in both databases.
-- * Deletion is a version (deleted = 1, body NULL), never a row removal.

-- Every version of every resource, never updated or deleted. vid only grows
-- (rows are never deleted), so it orders history and keys its cursors.
CREATE TABLE resource_version (
    vid          INTEGER PRIMARY KEY,
    type         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    last_updated INTEGER NOT NULL, -- Unix microseconds, UTC
    method       TEXT    NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    body         BLOB,             -- the JSON exactly as written; NULL for a deletion
    UNIQUE (type, id, version)
);
CREATE INDEX resource_version_type ON resource_version (type, vid);

-- One row per resource pointing at its current version. rid is stable for
-- the life of the resource, so index rows are keyed by it.
CREATE TABLE resource (
    rid          INTEGER PRIMARY KEY,
    type         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    vid          INTEGER NOT NULL, -- resource_version.vid (no REFERENCES: Put writes both)
    last_updated INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (type, id)
);
CREATE INDEX resource_type_updated ON resource (type, last_updated);

-- Search-index entries of current versions. Each table has an index for
-- its predicates (leading with param) and one on (rid, param) for
-- replacing a resource's entries, :missing, _sort and _include.
--
-- No REFERENCES (docs/decisions/003-sqlite-write-path.md): only Put writes
-- these rows, for the rid it has just written, so a foreign-key check per
-- row proves nothing; it cost a lookup per row and, with the NOT NULL
-- constraints, made every multi-row INSERT keep a statement journal. The
-- store inserts them with INSERT OR IGNORE (no constraint can abort a
-- statement half-way, so SQLite keeps no statement journal). WITHOUT ROWID
-- tables clustered on (rid, param, values) were measured too: no faster
-- (two B-trees per entry instead of three, but each one carries the whole
-- row), and worse for long values, so the tables stay rowid tables.
CREATE TABLE idx_string (
    rid   INTEGER NOT NULL,
    param TEXT    NOT NULL,
    norm  TEXT    NOT NULL,
    exact TEXT    NOT NULL
);
CREATE INDEX idx_string_norm ON idx_string (param, norm, rid);
CREATE INDEX idx_string_exact ON idx_string (param, exact, rid);
CREATE INDEX idx_string_rid ON idx_string (rid, param);

CREATE TABLE idx_token (
    rid    INTEGER NOT NULL,
    param  TEXT    NOT NULL,
    system TEXT    NOT NULL,
    code   TEXT    NOT NULL,
    text   TEXT    NOT NULL
);
CREATE INDEX idx_token_code ON idx_token (param, code, system, rid);
CREATE INDEX idx_token_rid ON idx_token (rid, param);

CREATE TABLE idx_reference (
    rid         INTEGER NOT NULL,
    param       TEXT    NOT NULL,
    target_type TEXT    NOT NULL,
    target_id   TEXT    NOT NULL,
    url         TEXT    NOT NULL
);
-- One index serves the forward search (subject=Patient/1, subject=1),
-- chaining, and the reverse direction (_has, _revinclude) alike: the
-- target id is selective on its own.
CREATE INDEX idx_reference_target ON idx_reference (target_id, target_type, param, rid);
CREATE INDEX idx_reference_url ON idx_reference (param, url) WHERE url <> '';
CREATE INDEX idx_reference_rid ON idx_reference (rid, param);

CREATE TABLE idx_date (
    rid   INTEGER NOT NULL,
    param TEXT    NOT NULL,
    low   INTEGER NOT NULL, -- Unix microseconds, closed range
    high  INTEGER NOT NULL
);
CREATE INDEX idx_date_range ON idx_date (param, low, high, rid);
CREATE INDEX idx_date_rid ON idx_date (rid, param);

CREATE TABLE idx_number (
    rid   INTEGER NOT NULL,
    param TEXT    NOT NULL,
    value REAL    NOT NULL,
    low   REAL    NOT NULL,
    high  REAL    NOT NULL
);
CREATE INDEX idx_number_low ON idx_number (param, low, high, rid);
CREATE INDEX idx_number_rid ON idx_number (rid, param);

CREATE TABLE idx_quantity (
    rid            INTEGER NOT NULL,
    param          TEXT    NOT NULL,
    system         TEXT    NOT NULL,
    code           TEXT    NOT NULL,
    low            REAL    NOT NULL,
    high           REAL    NOT NULL,
    canonical_code TEXT    NOT NULL,
    canonical_low  REAL,
    canonical_high REAL
);
CREATE INDEX idx_quantity_code ON idx_quantity (param, code, low, high, rid);
CREATE INDEX idx_quantity_canonical ON idx_quantity (param, canonical_code, canonical_low) WHERE canonical_code <> '';
CREATE INDEX idx_quantity_rid ON idx_quantity (rid, param);

CREATE TABLE idx_uri (
    rid   INTEGER NOT NULL,
    param TEXT    NOT NULL,
    uri   TEXT    NOT NULL
);
CREATE INDEX idx_uri_uri ON idx_uri (param, uri, rid);
CREATE INDEX idx_uri_rid ON idx_uri (rid, param);
