-- Append one file to the ledger; ingest_seq numbers deliveries in the order they were ingested.
INSERT INTO landing_files
SELECT
    $sha256,
    $path,
    $kind,
    $format,
    $size_bytes,
    $landed_at,
    (SELECT coalesce(max(ingest_seq), 0) + 1 FROM landing_files),
    $status,
    $rows_in,
    $blank_lines,
    $error,
    now(),
    $run_id
