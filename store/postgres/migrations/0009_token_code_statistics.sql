-- Statistics of the token entries' code columns taken together
-- (docs/decisions/026-*.md).
--
-- param, code and system depend on each other (a LOINC code is always a
-- "code" of system http://loinc.org), but the planner multiplies their
-- selectivities as if they were independent: it expected 113 entries of
-- a common code where there were 6,176 (200,000 resources), so it sorted
-- every match of Observation?code=X to return the first 51 by row id
-- instead of walking the code's entries in row-id order (idx_token_code
-- ends with rid) and stopping at 51: 25,000 buffers against 450. The
-- functional-dependency statistics give it the right size. They only
-- inform the planner; no result changes. ANALYZE fills them now rather
-- than at the next automatic analyze, which a table not being written to
-- may not get for a long time (it samples the table: seconds at a million
-- resources).
CREATE STATISTICS IF NOT EXISTS idx_token_code_stats (dependencies) ON param, code, system FROM idx_token;
ANALYZE idx_token;
