-- The type of the resource holding each reference entry (issue 4); see the
-- SQLite migration and docs/decisions/019-*.md.
ALTER TABLE idx_reference ADD COLUMN source_type TEXT COLLATE "C" NOT NULL DEFAULT '';

UPDATE idx_reference x SET source_type = r.type FROM resource r WHERE r.rid = x.rid;

DROP INDEX idx_reference_target;
CREATE INDEX idx_reference_target ON idx_reference (target_id, target_type, param, source_type, rid);

-- The live Patients by id, for the patients of a reverse chain
-- (Patient?_has:Observation:patient:code=..., decision 014): the token
-- entries give the patients' ids, and this index their row ids and that
-- they are not deleted without reading each one's resource row (a common
-- code's 3,169 patients were as many random resource pages per request).
-- Partial, so that only Patient writes maintain it.
CREATE INDEX resource_patient_live ON resource (id, rid) WHERE type = 'Patient' AND deleted = 0;
