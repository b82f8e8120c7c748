-- Nothing on SQLite: PostgreSQL's 0009 adds planner statistics of the token
-- entries' code columns (docs/decisions/026-*.md). SQLite plans these
-- searches without statistics; the file keeps the two stores' migration
-- numbers in step (TestSchemasAgree).
SELECT 1;
