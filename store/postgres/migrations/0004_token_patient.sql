-- The patient of each token entry's resource (issue 4); see the SQLite
-- migration and docs/decisions/014-*.md.
ALTER TABLE idx_token ADD COLUMN pat TEXT COLLATE "C" NOT NULL DEFAULT '';

UPDATE idx_token t SET pat = p.pat
FROM (
    SELECT r.rid, max(s.type) || '/' || CASE WHEN count(DISTINCT r.target_id) > 1 THEN '*' ELSE max(r.target_id) END AS pat
    FROM idx_reference r JOIN resource s ON s.rid = r.rid
    WHERE r.param = 'patient' AND r.target_type = 'Patient' AND r.target_id <> ''
    GROUP BY r.rid
) p
WHERE t.rid = p.rid;

CREATE INDEX idx_token_pat ON idx_token (param, code, pat, system, rid) WHERE pat <> '';
