-- Composite search parameters (issue 4); see the SQLite migration.
CREATE TABLE idx_composite (
    rid     BIGINT NOT NULL,
    param   TEXT COLLATE "C" NOT NULL,
    system1 TEXT COLLATE "C" NOT NULL,
    code1   TEXT COLLATE "C" NOT NULL,
    low1    DOUBLE PRECISION NOT NULL,
    high1   DOUBLE PRECISION NOT NULL,
    system2 TEXT COLLATE "C" NOT NULL,
    code2   TEXT COLLATE "C" NOT NULL,
    low2    DOUBLE PRECISION NOT NULL,
    high2   DOUBLE PRECISION NOT NULL,
    system3 TEXT COLLATE "C" NOT NULL,
    code3   TEXT COLLATE "C" NOT NULL,
    low3    DOUBLE PRECISION NOT NULL,
    high3   DOUBLE PRECISION NOT NULL
);
CREATE INDEX idx_composite_code ON idx_composite (param, code1, system1, rid);
CREATE INDEX idx_composite_rid ON idx_composite (rid, param);
