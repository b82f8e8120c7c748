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
    vid          INTEGER NOT NULL, -- resource_version.vid (no REFERENCES: see idx_* below)
    last_updated INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (type, id)
);
CREATE INDEX resource_type_updated ON resource (type, last_updated);

-- Search-index entries of current versions (docs/decisions/003-sqlite-write-path.md).
--
-- Each table is WITHOUT ROWID, clustered on (rid, param, the values): the
-- rows of a new resource are appended at the right edge of that B-tree
-- (rid only grows), and it serves replacing a resource's entries,
-- :missing, _sort and _include without a separate (rid, param) index. One
-- secondary index per predicate shape (leading with param) carries the
-- search; its entries end with the primary key, so it covers "SELECT rid".
-- An entry is thus two B-tree inserts, one of them an append. The key
-- holding every column makes an entry a set member: a resource's duplicate
-- entries are stored once (INSERT OR IGNORE), which no search can tell
-- apart. No REFERENCES: the only writer (store/sqlite's Put) inserts rows
-- for the rid it has just written, and a foreign-key check per row plus
-- the statement journal it forces cost more than the rest of the insert.
CREATE TABLE idx_string (
    rid   INTEGER NOT NULL,
    param TEXT    NOT NULL,
    norm  TEXT    NOT NULL,
    exact TEXT    NOT NULL,
    PRIMARY KEY (rid, param, norm, exact)
) WITHOUT ROWID;
CREATE INDEX idx_string_norm ON idx_string (param, norm);
CREATE INDEX idx_string_exact ON idx_string (param, exact);

CREATE TABLE idx_token (
    rid    INTEGER NOT NULL,
    param  TEXT    NOT NULL,
    system TEXT    NOT NULL,
    code   TEXT    NOT NULL,
    text   TEXT    NOT NULL,
    PRIMARY KEY (rid, param, system, code, text)
) WITHOUT ROWID;
CREATE INDEX idx_token_code ON idx_token (param, code, system);

CREATE TABLE idx_reference (
    rid         INTEGER NOT NULL,
    param       TEXT    NOT NULL,
    target_type TEXT    NOT NULL,
    target_id   TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    PRIMARY KEY (rid, param, target_type, target_id, url)
) WITHOUT ROWID;
-- One index serves the forward search (subject=Patient/1, subject=1),
-- chaining, and the reverse direction (_has, _revinclude) alike: the
-- target id is selective on its own.
CREATE INDEX idx_reference_target ON idx_reference (target_id, target_type, param);
CREATE INDEX idx_reference_url ON idx_reference (param, url) WHERE url <> '';

CREATE TABLE idx_date (
    rid   INTEGER NOT NULL,
    param TEXT    NOT NULL,
    low   INTEGER NOT NULL, -- Unix microseconds, closed range
    high  INTEGER NOT NULL,
    PRIMARY KEY (rid, param, low, high)
) WITHOUT ROWID;
CREATE INDEX idx_date_range ON idx_date (param, low, high);

CREATE TABLE idx_number (
    rid   INTEGER NOT NULL,
    param TEXT    NOT NULL,
    value REAL    NOT NULL,
    low   REAL    NOT NULL,
    high  REAL    NOT NULL,
    PRIMARY KEY (rid, param, value, low, high)
) WITHOUT ROWID;
CREATE INDEX idx_number_low ON idx_number (param, low, high);

-- The canonical columns follow from (system, code, low, high), so they
-- stay out of the key (and may be NULL).
CREATE TABLE idx_quantity (
    rid            INTEGER NOT NULL,
    param          TEXT    NOT NULL,
    system         TEXT    NOT NULL,
    code           TEXT    NOT NULL,
    low            REAL    NOT NULL,
    high           REAL    NOT NULL,
    canonical_code TEXT    NOT NULL,
    canonical_low  REAL,
    canonical_high REAL,
    PRIMARY KEY (rid, param, system, code, low, high)
) WITHOUT ROWID;
CREATE INDEX idx_quantity_code ON idx_quantity (param, code, low, high);
CREATE INDEX idx_quantity_canonical ON idx_quantity (param, canonical_code, canonical_low) WHERE canonical_code <> '';

CREATE TABLE idx_uri (
    rid   INTEGER NOT NULL,
    param TEXT    NOT NULL,
    uri   TEXT    NOT NULL,
    PRIMARY KEY (rid, param, uri)
) WITHOUT ROWID;
CREATE INDEX idx_uri_uri ON idx_uri (param, uri);
