-- Recovery on start: rows of raw_models whose file has no ledger row. The ingest commits a file's rows and its
-- ledger row together; only a run killed under the code before that (rows first, then the ledger) leaves
-- such rows, and its rerun would otherwise count them twice. One row per row removed.
DELETE FROM raw_models WHERE source_sha256 NOT IN (SELECT sha256 FROM landing_files)
RETURNING source_sha256
