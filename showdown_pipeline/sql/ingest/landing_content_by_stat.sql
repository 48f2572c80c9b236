-- The content sha256 of the bytes a landing path held when it was hashed with this stat fingerprint, read as
-- this kind and format (none when the file changed since, or was never hashed settled at this path).
SELECT content_sha256
FROM landing_files
WHERE
    path = $path
    AND kind = $kind
    AND format = $format
    AND stat_fingerprint = $stat_fingerprint
    AND content_sha256 IS NOT NULL
ORDER BY ingest_seq DESC
LIMIT 1
