-- Whether votes_checked and the tables made from it can be extended by a batch (core/validation.py): the
-- vote ledger entries already validated, those validated under other rules, and those the ledger no longer holds.
SELECT
    count(*) AS files,
    count(*) FILTER (WHERE v.fingerprint <> $fingerprint) AS other_rules,
    count(*) FILTER (
        WHERE v.source_sha256 NOT IN (
            SELECT f.sha256 FROM landing_files AS f WHERE f.kind IN ('votes', 'arena') AND f.status = 'ingested'
        )
    ) AS gone
FROM votes_validated_files AS v
