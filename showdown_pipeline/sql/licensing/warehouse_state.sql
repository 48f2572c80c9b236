-- The warehouse a licensed export is made from (core/licensing.warehouse_state): an export's contents
-- depend on every vote record ingested so far, so its manifest names the landing ledger's size, its last
-- delivery (sequence, time, run) and the vote records validated.
SELECT
    (SELECT count(*) FROM landing_files) AS landing_files,
    (SELECT max(ingest_seq) FROM landing_files) AS last_ingest_seq,
    (SELECT max(ingested_at) FROM landing_files) AS last_ingested_at,
    (SELECT arg_max(run_id, ingest_seq) FROM landing_files) AS last_ingest_run,
    (SELECT count(*) FROM votes_checked) AS vote_records
