-- The distinct raw values of every enumerated vote field in the records of the files being validated
-- (pending_vote_files: core/validation.py), one row per (field, raw): few per field, so
-- core/normalise.py decides each once and votes_checked_batch.sql joins the answer (an absent value is '').
-- Prompt hashes are many: the SQL keys them itself, and hands over only those still holding a
-- non-ASCII character once invisible and whitespace characters ($strip_pattern) are removed.
WITH pending AS (
    SELECT * FROM raw_votes WHERE source_sha256 IN (SELECT p.source_sha256 FROM pending_vote_files AS p)
)
SELECT DISTINCT 'winner' AS field, coalesce(winner, '') AS raw FROM pending
UNION ALL
SELECT DISTINCT 'in_flow_side', coalesce(in_flow_side, '') FROM pending
UNION ALL
SELECT DISTINCT 'distribution', coalesce(distribution, '') FROM pending
UNION ALL
SELECT DISTINCT 'language', coalesce(language, '') FROM pending
UNION ALL
SELECT DISTINCT 'identities_hidden', coalesce(identities_hidden, '') FROM pending
UNION ALL
SELECT DISTINCT 'error_left', coalesce(error_left, '') FROM pending
UNION ALL
SELECT DISTINCT 'error_right', coalesce(error_right, '') FROM pending
UNION ALL
SELECT DISTINCT 'prompt_hash', prompt_hash FROM pending
WHERE regexp_matches(regexp_replace(prompt_hash, $strip_pattern, '', 'g'), '[^\x00-\x7F]')
