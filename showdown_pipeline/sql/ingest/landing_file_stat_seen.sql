-- Remember the stat fingerprint a read's file had at its path while its bytes (content_sha256) were hashed;
-- only the ledger row first recorded under that path holds it (the same bytes at another path are hashed).
UPDATE landing_files
SET stat_fingerprint = $stat_fingerprint
WHERE sha256 = $sha256 AND path = $path AND content_sha256 = $content_sha256
