-- The distinct raw values of every enumerated contributor field (and profession, cleaned the same way),
-- one row per (field, raw), for core/normalise.py to decide once; an absent value is ''.
SELECT DISTINCT 'country' AS field, coalesce(country, '') AS raw FROM raw_contributors
UNION ALL
SELECT DISTINCT 'age_band', coalesce(age_band, '') FROM raw_contributors
UNION ALL
SELECT DISTINCT 'education', coalesce(education, '') FROM raw_contributors
UNION ALL
SELECT DISTINCT 'profession', coalesce(profession, '') FROM raw_contributors
UNION ALL
SELECT DISTINCT 'verified', coalesce(verified, '') FROM raw_contributors
