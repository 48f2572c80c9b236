-- Append one read to the ledger; ingest_seq numbers deliveries in the order they were ingested, and a
-- models.csv gets the next sighting number (seen_seq, see landing_file_seen.sql).
INSERT INTO landing_files (
    sha256, path, kind, format, size_bytes, landed_at, ingest_seq, status, rows_in, blank_lines, error,
    ingested_at, run_id, content_sha256, seen_seq
)
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
    $run_id,
    $content_sha256,
    CASE WHEN $kind = 'models' THEN (SELECT coalesce(max(seen_seq), 0) + 1 FROM landing_files) END
