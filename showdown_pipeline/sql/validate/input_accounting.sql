-- One row per ledger file: rows_in against where every row ended (valid + duplicates + quarantined).
SELECT
    f.path,
    f.sha256,
    f.kind,
    f.status,
    f.rows_in,
    f.error,
    f.run_id,
    coalesce(c.valid, 0) AS valid,
    coalesce(c.duplicates, 0) AS duplicates,
    coalesce(c.quarantined, 0) AS quarantined
FROM landing_files AS f
LEFT JOIN (
    SELECT
        v.source_sha256,
        count(*) FILTER (WHERE v.reason IS NULL AND d.row_key IS NULL) AS valid,
        count(*) FILTER (WHERE v.reason IS NULL AND d.row_key IS NOT NULL) AS duplicates,
        count(*) FILTER (WHERE v.reason IS NOT NULL) AS quarantined
    FROM votes_checked AS v
    LEFT JOIN vote_duplicates AS d ON d.row_key = v.row_key
    GROUP BY v.source_sha256
) AS c ON c.source_sha256 = f.sha256
WHERE f.kind IN ('votes', 'arena')
ORDER BY f.ingest_seq
