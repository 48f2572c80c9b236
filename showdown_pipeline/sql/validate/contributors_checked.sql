-- One row per ingested contributor record, typed, with the first reason it cannot be used (NULL when
-- valid) and, for invalid_field, the fields in reason_detail. Country, age band, education, profession
-- and verified are never interpreted here: contributor_field_map (registered by core/normalise.py for
-- this statement: field, raw, value, problem) holds the decided value of each distinct raw value.
-- No cast can fail; a timestamp outside [$earliest, $latest) is invalid.
CREATE OR REPLACE TABLE contributors_checked AS
WITH parsed AS (
    SELECT
        r.source_sha256,
        r.source_row,
        f.ingest_seq,
        r.parse_error,
        r.raw_line,
        nullif(trim(r.user_id), '') AS user_id,
        n_country.value AS country,
        n_age_band.value AS age_band,
        n_education.value AS education,
        n_profession.value AS profession,
        r.languages AS languages_text,
        try_cast(r.languages AS VARCHAR[]) AS languages,
        n_verified.value = 'true' AS verified,
        r.verified_at AS verified_at_text,
        try_cast(trim(r.verified_at) AS TIMESTAMPTZ) AS verified_at,
        r.account_created_at AS account_created_at_text,
        try_cast(trim(r.account_created_at) AS TIMESTAMPTZ) AS account_created_at,
        -- a raw value the map does not know is invalid, never silently absent
        list_filter([
                CASE WHEN n_country.field IS NULL OR n_country.problem IS NOT NULL THEN 'country' END,
                CASE WHEN n_age_band.field IS NULL OR n_age_band.problem IS NOT NULL THEN 'age_band' END,
                CASE WHEN n_education.field IS NULL OR n_education.problem IS NOT NULL THEN 'education' END,
                CASE WHEN n_profession.field IS NULL OR n_profession.problem IS NOT NULL THEN 'profession' END,
                CASE WHEN n_verified.field IS NULL OR n_verified.problem IS NOT NULL THEN 'verified' END
            ], LAMBDA x: x IS NOT NULL) AS mapped_invalid
    FROM raw_contributors AS r
    JOIN landing_files AS f ON f.sha256 = r.source_sha256
    LEFT JOIN contributor_field_map AS n_country ON n_country.field = 'country' AND n_country.raw = coalesce(r.country, '')
    LEFT JOIN contributor_field_map AS n_age_band ON n_age_band.field = 'age_band' AND n_age_band.raw = coalesce(r.age_band, '')
    LEFT JOIN contributor_field_map AS n_education
        ON n_education.field = 'education' AND n_education.raw = coalesce(r.education, '')
    LEFT JOIN contributor_field_map AS n_profession
        ON n_profession.field = 'profession' AND n_profession.raw = coalesce(r.profession, '')
    LEFT JOIN contributor_field_map AS n_verified ON n_verified.field = 'verified' AND n_verified.raw = coalesce(r.verified, '')
),
typed AS (
    SELECT
        * REPLACE (
            CASE WHEN verified_at >= $earliest AND verified_at < $latest THEN verified_at END AS verified_at,
            CASE WHEN account_created_at >= $earliest AND account_created_at < $latest THEN account_created_at END
                AS account_created_at
        )
    FROM parsed
),
judged AS (
    SELECT
        * EXCLUDE (mapped_invalid),
        list_filter(mapped_invalid || [
                CASE WHEN coalesce(trim(verified_at_text), '') <> '' AND verified_at IS NULL THEN 'verified_at' END,
                CASE WHEN coalesce(trim(account_created_at_text), '') <> '' AND account_created_at IS NULL
                    THEN 'account_created_at' END,
                CASE WHEN languages_text IS NOT NULL AND languages IS NULL THEN 'languages' END
            ], LAMBDA x: x IS NOT NULL) AS invalid_fields
    FROM typed
)
SELECT
    *,
    CASE
        WHEN parse_error IS NOT NULL THEN parse_error
        WHEN user_id IS NULL THEN 'missing_required_field'
        WHEN len(invalid_fields) > 0 THEN 'invalid_field'
    END AS reason,
    CASE
        WHEN parse_error IS NOT NULL THEN NULL
        WHEN user_id IS NULL THEN 'user_id'
        WHEN len(invalid_fields) > 0 THEN array_to_string(invalid_fields, ',')
    END AS reason_detail
FROM judged
