-- The same logical schema as store/sqlite (see its 0001_init.sql for the
-- why of each table). Text that is compared or sorted is COLLATE "C":
-- bytewise order, as in SQLite, which the starts-with range relies on.
-- Bodies are BYTEA, not JSONB: the store keeps the bytes it was given and
-- never queries inside them, and JSONB would cost a parse on every write.
CREATE TABLE resource_version (
    vid          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type         TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    version      BIGINT   NOT NULL,
    last_updated BIGINT   NOT NULL, -- Unix microseconds, UTC
    method       TEXT     NOT NULL,
    deleted      SMALLINT NOT NULL DEFAULT 0,
    body         BYTEA,
    UNIQUE (type, id, version)
);
CREATE INDEX resource_version_type ON resource_version (type, vid);

CREATE TABLE resource (
    rid          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type         TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    version      BIGINT   NOT NULL,
    vid          BIGINT   NOT NULL,
    last_updated BIGINT   NOT NULL,
    deleted      SMALLINT NOT NULL DEFAULT 0,
    UNIQUE (type, id)
);
CREATE INDEX resource_type_updated ON resource (type, last_updated);

CREATE TABLE idx_string (
    rid   BIGINT NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    norm  TEXT COLLATE "C" NOT NULL,
    exact TEXT COLLATE "C" NOT NULL
);
CREATE INDEX idx_string_norm ON idx_string (param, norm, rid);
CREATE INDEX idx_string_exact ON idx_string (param, exact, rid);
CREATE INDEX idx_string_rid ON idx_string (rid, param);

CREATE TABLE idx_token (
    rid    BIGINT NOT NULL,
    param  TEXT COLLATE "C" NOT NULL,
    system TEXT COLLATE "C" NOT NULL,
    code   TEXT COLLATE "C" NOT NULL,
    text   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX idx_token_code ON idx_token (param, code, system, rid);
CREATE INDEX idx_token_rid ON idx_token (rid, param);

CREATE TABLE idx_reference (
    rid         BIGINT NOT NULL,
    param       TEXT COLLATE "C" NOT NULL,
    target_type TEXT COLLATE "C" NOT NULL,
    target_id   TEXT COLLATE "C" NOT NULL,
    url         TEXT COLLATE "C" NOT NULL
);
-- One index serves the forward search (subject=Patient/1, subject=1),
-- chaining, and the reverse direction (_has, _revinclude) alike: the
-- target id is selective on its own.
CREATE INDEX idx_reference_target ON idx_reference (target_id, target_type, param, rid);
CREATE INDEX idx_reference_url ON idx_reference (param, url) WHERE url <> '';
CREATE INDEX idx_reference_rid ON idx_reference (rid, param);

CREATE TABLE idx_date (
    rid   BIGINT NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    low   BIGINT NOT NULL,
    high  BIGINT NOT NULL
);
CREATE INDEX idx_date_range ON idx_date (param, low, high, rid);
CREATE INDEX idx_date_rid ON idx_date (rid, param);

CREATE TABLE idx_number (
    rid   BIGINT NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    low   DOUBLE PRECISION NOT NULL,
    high  DOUBLE PRECISION NOT NULL
);
CREATE INDEX idx_number_low ON idx_number (param, low, high, rid);
CREATE INDEX idx_number_rid ON idx_number (rid, param);

CREATE TABLE idx_quantity (
    rid            BIGINT NOT NULL,
    param          TEXT COLLATE "C" NOT NULL,
    system         TEXT COLLATE "C" NOT NULL,
    code           TEXT COLLATE "C" NOT NULL,
    low            DOUBLE PRECISION NOT NULL,
    high           DOUBLE PRECISION NOT NULL,
    canonical_code TEXT COLLATE "C" NOT NULL,
    canonical_low  DOUBLE PRECISION,
    canonical_high DOUBLE PRECISION
);
CREATE INDEX idx_quantity_code ON idx_quantity (param, code, low, high, rid);
CREATE INDEX idx_quantity_canonical ON idx_quantity (param, canonical_code, canonical_low) WHERE canonical_code <> '';
CREATE INDEX idx_quantity_rid ON idx_quantity (rid, param);

CREATE TABLE idx_uri (
    rid   BIGINT NOT NULL,
    param TEXT COLLATE "C" NOT NULL,
    uri   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX idx_uri_uri ON idx_uri (param, uri, rid);
CREATE INDEX idx_uri_rid ON idx_uri (rid, param);
