-- The index tables clustered on (rid, param, seq) (issue 3, ingest;
-- docs/decisions/022-*.md).
--
-- Every index entry was three B-tree inserts (the rowid table, its value
-- index, its (rid, param) index), a token entry four (idx_token_code and
-- the patient keys' idx_token_pat besides): about 47 per resource, most of
-- the single writer's time. Now each table is WITHOUT ROWID with the
-- primary key (rid, param, seq), so the table itself is the (rid, param)
-- index, and the token entries have one value index, (param, code, pat,
-- system, rid), which serves both the code searches (the system is
-- compared inside the index) and the patient keys' (decision 014). seq
-- numbers a resource's entries of a parameter (0, 1, ...); it only makes
-- the key unique. Decision 003 measured WITHOUT ROWID tables clustered on
-- all their values (each value index then carried the whole row); here
-- the key is short and the value indexes keep their size.
--
-- Rebuilt by copying, once: see docs/BENCHMARKS.md for the cost on a
-- large file.
CREATE TABLE idx_string_new (
    rid   INTEGER NOT NULL,
    param TEXT    NOT NULL,
    seq   INTEGER NOT NULL,
    norm  TEXT    NOT NULL,
    exact TEXT    NOT NULL,
    PRIMARY KEY (rid, param, seq)
) WITHOUT ROWID;
INSERT INTO idx_string_new (rid, param, seq, norm, exact)
    SELECT rid, param, row_number() OVER (PARTITION BY rid, param ORDER BY rowid) - 1, norm, exact FROM idx_string ORDER BY rid, param;
DROP TABLE idx_string;
ALTER TABLE idx_string_new RENAME TO idx_string;
CREATE INDEX idx_string_norm ON idx_string (param, norm, rid);
CREATE INDEX idx_string_exact ON idx_string (param, exact, rid);

CREATE TABLE idx_token_new (
    rid    INTEGER NOT NULL,
    param  TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    system TEXT    NOT NULL,
    code   TEXT    NOT NULL,
    text   TEXT    NOT NULL,
    pat    TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (rid, param, seq)
) WITHOUT ROWID;
INSERT INTO idx_token_new (rid, param, seq, system, code, text, pat)
    SELECT rid, param, row_number() OVER (PARTITION BY rid, param ORDER BY rowid) - 1, system, code, text, pat FROM idx_token ORDER BY rid, param;
DROP TABLE idx_token;
ALTER TABLE idx_token_new RENAME TO idx_token;
CREATE INDEX idx_token_code ON idx_token (param, code, pat, system, rid);

CREATE TABLE idx_reference_new (
    rid         INTEGER NOT NULL,
    param       TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    target_type TEXT    NOT NULL,
    target_id   TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    source_type TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (rid, param, seq)
) WITHOUT ROWID;
INSERT INTO idx_reference_new (rid, param, seq, target_type, target_id, url, source_type)
    SELECT rid, param, row_number() OVER (PARTITION BY rid, param ORDER BY rowid) - 1, target_type, target_id, url, source_type FROM idx_reference ORDER BY rid, param;
DROP TABLE idx_reference;
ALTER TABLE idx_reference_new RENAME TO idx_reference;
CREATE INDEX idx_reference_target ON idx_reference (target_id, target_type, param, source_type, rid);
CREATE INDEX idx_reference_url ON idx_reference (param, url) WHERE url <> '';

CREATE TABLE idx_date_new (
    rid   INTEGER NOT NULL,
    param TEXT    NOT NULL,
    seq   INTEGER NOT NULL,
    low   INTEGER NOT NULL,
    high  INTEGER NOT NULL,
    PRIMARY KEY (rid, param, seq)
) WITHOUT ROWID;
INSERT INTO idx_date_new (rid, param, seq, low, high)
    SELECT rid, param, row_number() OVER (PARTITION BY rid, param ORDER BY rowid) - 1, low, high FROM idx_date ORDER BY rid, param;
DROP TABLE idx_date;
ALTER TABLE idx_date_new RENAME TO idx_date;
CREATE INDEX idx_date_range ON idx_date (param, low, high, rid);

CREATE TABLE idx_number_new (
    rid   INTEGER NOT NULL,
    param TEXT    NOT NULL,
    seq   INTEGER NOT NULL,
    value REAL    NOT NULL,
    low   REAL    NOT NULL,
    high  REAL    NOT NULL,
    PRIMARY KEY (rid, param, seq)
) WITHOUT ROWID;
INSERT INTO idx_number_new (rid, param, seq, value, low, high)
    SELECT rid, param, row_number() OVER (PARTITION BY rid, param ORDER BY rowid) - 1, value, low, high FROM idx_number ORDER BY rid, param;
DROP TABLE idx_number;
ALTER TABLE idx_number_new RENAME TO idx_number;
CREATE INDEX idx_number_low ON idx_number (param, low, high, rid);

CREATE TABLE idx_quantity_new (
    rid            INTEGER NOT NULL,
    param          TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    system         TEXT    NOT NULL,
    code           TEXT    NOT NULL,
    low            REAL    NOT NULL,
    high           REAL    NOT NULL,
    canonical_code TEXT    NOT NULL,
    canonical_low  REAL,
    canonical_high REAL,
    PRIMARY KEY (rid, param, seq)
) WITHOUT ROWID;
INSERT INTO idx_quantity_new (rid, param, seq, system, code, low, high, canonical_code, canonical_low, canonical_high)
    SELECT rid, param, row_number() OVER (PARTITION BY rid, param ORDER BY rowid) - 1, system, code, low, high, canonical_code, canonical_low, canonical_high
    FROM idx_quantity ORDER BY rid, param;
DROP TABLE idx_quantity;
ALTER TABLE idx_quantity_new RENAME TO idx_quantity;
CREATE INDEX idx_quantity_code ON idx_quantity (param, code, low, high, rid);
CREATE INDEX idx_quantity_canonical ON idx_quantity (param, canonical_code, canonical_low) WHERE canonical_code <> '';

CREATE TABLE idx_uri_new (
    rid   INTEGER NOT NULL,
    param TEXT    NOT NULL,
    seq   INTEGER NOT NULL,
    uri   TEXT    NOT NULL,
    PRIMARY KEY (rid, param, seq)
) WITHOUT ROWID;
INSERT INTO idx_uri_new (rid, param, seq, uri)
    SELECT rid, param, row_number() OVER (PARTITION BY rid, param ORDER BY rowid) - 1, uri FROM idx_uri ORDER BY rid, param;
DROP TABLE idx_uri;
ALTER TABLE idx_uri_new RENAME TO idx_uri;
CREATE INDEX idx_uri_uri ON idx_uri (param, uri, rid);

CREATE TABLE idx_composite_new (
    rid     INTEGER NOT NULL,
    param   TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    system1 TEXT    NOT NULL,
    code1   TEXT    NOT NULL,
    low1    REAL    NOT NULL,
    high1   REAL    NOT NULL,
    system2 TEXT    NOT NULL,
    code2   TEXT    NOT NULL,
    low2    REAL    NOT NULL,
    high2   REAL    NOT NULL,
    system3 TEXT    NOT NULL,
    code3   TEXT    NOT NULL,
    low3    REAL    NOT NULL,
    high3   REAL    NOT NULL,
    PRIMARY KEY (rid, param, seq)
) WITHOUT ROWID;
INSERT INTO idx_composite_new (rid, param, seq, system1, code1, low1, high1, system2, code2, low2, high2, system3, code3, low3, high3)
    SELECT rid, param, row_number() OVER (PARTITION BY rid, param ORDER BY rowid) - 1, system1, code1, low1, high1, system2, code2, low2, high2, system3, code3, low3, high3
    FROM idx_composite ORDER BY rid, param;
DROP TABLE idx_composite;
ALTER TABLE idx_composite_new RENAME TO idx_composite;
CREATE INDEX idx_composite_code ON idx_composite (param, code1, system1, rid);
