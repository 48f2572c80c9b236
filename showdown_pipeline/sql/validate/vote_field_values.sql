-- The distinct raw values of every enumerated vote field, one row per (field, raw): few per field, so
-- core/normalise.py decides each once and votes_checked.sql joins the answer (an absent value is '').
-- Prompt hashes are many: the SQL keys them itself, and hands over only those still holding a
-- non-ASCII character once invisible and whitespace characters ($strip_pattern) are removed.
SELECT DISTINCT 'winner' AS field, coalesce(winner, '') AS raw FROM raw_votes
UNION ALL
SELECT DISTINCT 'in_flow_side', coalesce(in_flow_side, '') FROM raw_votes
UNION ALL
SELECT DISTINCT 'distribution', coalesce(distribution, '') FROM raw_votes
UNION ALL
SELECT DISTINCT 'language', coalesce(language, '') FROM raw_votes
UNION ALL
SELECT DISTINCT 'identities_hidden', coalesce(identities_hidden, '') FROM raw_votes
UNION ALL
SELECT DISTINCT 'error_left', coalesce(error_left, '') FROM raw_votes
UNION ALL
SELECT DISTINCT 'error_right', coalesce(error_right, '') FROM raw_votes
UNION ALL
SELECT DISTINCT 'prompt_hash', prompt_hash FROM raw_votes
WHERE regexp_matches(regexp_replace(prompt_hash, $strip_pattern, '', 'g'), '[^\x00-\x7F]')
