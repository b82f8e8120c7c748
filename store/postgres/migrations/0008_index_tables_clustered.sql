-- The seq column of the index entries (issue 3, docs/decisions/022-*.md).
--
-- On SQLite the index tables are now clustered on (rid, param, seq), seq
-- numbering a resource's entries of a table, and the token entries have one
-- value index instead of two. PostgreSQL keeps its heap tables and indexes
-- (it has no clustered tables, and its planner chose these indexes, decision
-- 019); the column is here so that both schemas have the same columns and
-- the shared search SQL means the same on each (TestSchemasAgree). Its
-- value is not used on PostgreSQL: the writer leaves it at 0.
ALTER TABLE idx_string ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_token ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_reference ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_date ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_number ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_quantity ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_uri ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_composite ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
