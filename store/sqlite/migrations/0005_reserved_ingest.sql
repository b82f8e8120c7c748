-- Placeholder on the search branch only: migration numbers must run without
-- gaps and 0005 belongs to the ingest work (decision 017). At the merge this
-- file is deleted if that branch brings its own 0005, and kept (it changes
-- nothing) if not.
SELECT 1;
