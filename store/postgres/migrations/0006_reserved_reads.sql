-- Placeholder on the search branch only: migration numbers must run without
-- gaps and 0006 belongs to the reads work (decision 018). At the merge this
-- file is deleted if that branch brings its own 0006, and kept (it changes
-- nothing) if not.
SELECT 1;
