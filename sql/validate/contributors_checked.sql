-- One row per ingested contributor record, typed, with the first reason it cannot be used (NULL when valid).
CREATE OR REPLACE TABLE contributors_checked AS
WITH typed AS (
    SELECT
        r.source_sha256,
        r.source_row,
        f.ingest_seq,
        r.parse_error,
        r.raw_line,
        nullif(trim(r.user_id), '') AS user_id,
        upper(nullif(trim(r.country), '')) AS country,
        nullif(trim(r.age_band), '') AS age_band,
        lower(nullif(trim(r.education), '')) AS education,
        nullif(trim(r.profession), '') AS profession,
        r.languages AS languages_text,
        try_cast(r.languages AS VARCHAR[]) AS languages,
        r.verified AS verified_text,
        try_cast(lower(trim(r.verified)) AS BOOLEAN) AS verified,
        r.verified_at AS verified_at_text,
        try_cast(r.verified_at AS TIMESTAMPTZ) AS verified_at,
        try_cast(r.account_created_at AS TIMESTAMPTZ) AS account_created_at
    FROM raw_contributors AS r
    JOIN landing_files AS f ON f.sha256 = r.source_sha256
)
SELECT
    *,
    CASE
        WHEN parse_error IS NOT NULL THEN parse_error
        WHEN user_id IS NULL THEN 'missing_required_field'
        WHEN country IS NOT NULL AND NOT regexp_full_match(country, '[A-Z]{2}') THEN 'invalid_field'
        WHEN age_band IS NOT NULL AND age_band NOT IN ('18-24', '25-34', '35-44', '45-54', '55-64', '65+')
            THEN 'invalid_field'
        WHEN education IS NOT NULL
            AND education NOT IN ('primary', 'secondary', 'vocational', 'bachelor', 'master', 'doctorate', 'other')
            THEN 'invalid_field'
        WHEN verified_text IS NOT NULL AND verified IS NULL THEN 'invalid_field'
        WHEN verified_at_text IS NOT NULL AND verified_at IS NULL THEN 'invalid_field'
        WHEN languages_text IS NOT NULL AND languages IS NULL THEN 'invalid_field'
    END AS reason
FROM typed
