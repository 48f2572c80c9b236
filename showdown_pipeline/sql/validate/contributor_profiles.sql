-- One row per verified contributor: the latest verified record wins (by verified_at, then delivery order).
-- Users without a verified record have no row; their votes count in the overall board only.
CREATE OR REPLACE TABLE contributor_profiles AS
SELECT
    user_id,
    country,
    age_band,
    education,
    profession,
    languages,
    verified_at,
    account_created_at
FROM contributors_checked
WHERE reason IS NULL AND verified
QUALIFY row_number() OVER (
    PARTITION BY user_id
    ORDER BY verified_at DESC NULLS LAST, ingest_seq DESC, source_row DESC
) = 1
