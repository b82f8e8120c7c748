-- The patient of each token entry's resource (issue 4, docs/decisions/014-*.md).
--
-- pat is store.Index.PatientKey of the entry's resource: '' when its
-- "patient" reference parameter points at no Patient, else its type, '/'
-- and the Patient's id ('Observation/p1'), or '*' for several Patients
-- ('Appointment/*'). With the index below, a reverse chain from a
-- patient's resources by a code (Patient?_has:Observation:patient:code=...)
-- reads the distinct patients from the token index alone: at a million
-- resources a common code matches about 21,000 Observations, and looking
-- up each one's row and reference took 400-800 ms.
--
-- Existing rows are filled here by the same rule, from the resource's
-- reference entries (on a million resources: several minutes, once).
ALTER TABLE idx_token ADD COLUMN pat TEXT NOT NULL DEFAULT '';

UPDATE idx_token SET pat = (
    SELECT max(s.type) || '/' || CASE WHEN count(DISTINCT r.target_id) > 1 THEN '*' ELSE max(r.target_id) END
    FROM idx_reference r JOIN resource s ON s.rid = r.rid
    WHERE r.rid = idx_token.rid AND r.param = 'patient' AND r.target_type = 'Patient' AND r.target_id <> ''
)
WHERE rid IN (SELECT rid FROM idx_reference WHERE param = 'patient' AND target_type = 'Patient' AND target_id <> '');

CREATE INDEX idx_token_pat ON idx_token (param, code, pat, system, rid) WHERE pat <> '';
