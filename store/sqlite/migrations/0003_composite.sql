-- Composite search parameters (issue 4): one row per composite value, its
-- components side by side so a search can require them to come from the
-- same element (store.CompositeEntry says how each component type is
-- held). Written by Put beside the other index tables, with the same rules
-- (no constraints that can fail, replaced with the resource's entries).
CREATE TABLE idx_composite (
    rid     INTEGER NOT NULL,
    param   TEXT    NOT NULL,
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
    high3   REAL    NOT NULL
);
CREATE INDEX idx_composite_code ON idx_composite (param, code1, system1, rid);
CREATE INDEX idx_composite_rid ON idx_composite (rid, param);
