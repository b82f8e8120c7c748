-- The type of the resource holding each reference entry (issue 4,
-- docs/decisions/019-*.md).
--
-- A chain (Observation?subject:Patient.name=X) and a reference search
-- (Observation?patient=X) find the entries pointing at their targets and
-- had to read each entry's resource row to keep those of the searched
-- type: at a million resources a common family name's patients are the
-- targets of some 23,000 subject entries, 6,000 of them Observations.
-- With the type on the entry, the index below answers both from its own
-- pages, and since the index tables hold entries of current, non-deleted
-- versions only, the search needs no resource row to count them.
--
-- Existing rows are filled from the resource table here (on the
-- million-resource file: see docs/BENCHMARKS.md), once.
ALTER TABLE idx_reference ADD COLUMN source_type TEXT NOT NULL DEFAULT '';

UPDATE idx_reference SET source_type = coalesce((SELECT r.type FROM resource r WHERE r.rid = idx_reference.rid), '');

DROP INDEX idx_reference_target;
CREATE INDEX idx_reference_target ON idx_reference (target_id, target_type, param, source_type, rid);

-- The live Patients by id, for the patients of a reverse chain
-- (Patient?_has:Observation:patient:code=..., decision 014): the token
-- entries give the patients' ids, and this index their row ids and that
-- they are not deleted without reading each one's resource row (a common
-- code's 3,169 patients were as many random resource pages per request).
-- Partial, so that only Patient writes maintain it.
CREATE INDEX resource_patient_live ON resource (id, rid) WHERE type = 'Patient' AND deleted = 0;
