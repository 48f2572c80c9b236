-- Every published licensed export as of the snapshot's as-of or earlier (export_audit), oldest first.
SELECT licensee, as_of, rows, sha256, path
FROM export_audit
WHERE as_of <= cast($as_of AS DATE)
ORDER BY as_of, licensee, published_at
