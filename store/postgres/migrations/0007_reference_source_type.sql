-- The type of the resource holding each reference entry (issue 4); see the
-- SQLite migration and docs/decisions/019-*.md.
ALTER TABLE idx_reference ADD COLUMN source_type TEXT COLLATE "C" NOT NULL DEFAULT '';

UPDATE idx_reference x SET source_type = r.type FROM resource r WHERE r.rid = x.rid;

DROP INDEX idx_reference_target;
CREATE INDEX idx_reference_target ON idx_reference (target_id, target_type, param, source_type, rid);
