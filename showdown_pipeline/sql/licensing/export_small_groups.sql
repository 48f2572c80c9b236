-- Quasi-identifier classes of a written export (read back from its Parquet file) held by fewer than
-- $k_anonymity distinct contributors, recomputed from the file whatever the writer's algorithm did, at
-- two levels: every row's combination (level 'row'), and every contributor's profile — their
-- demographics and the sorted set of languages of their rows, what one pseudonym shows (level
-- 'contributor'). 'other' and NULL are values like any other here.
WITH export AS (
    SELECT * FROM read_parquet($export_path)
),
profiles AS (
    SELECT
        contributor_key,
        min(country) AS country,
        min(age_band) AS age_band,
        min(education) AS education,
        min(profession) AS profession,
        list_sort(list(DISTINCT language)) AS languages
    FROM export
    GROUP BY contributor_key
),
classes AS (
    SELECT 'row' AS level, country, age_band, education, profession, [language] AS languages,
        count(DISTINCT contributor_key) AS holders
    FROM export
    GROUP BY country, age_band, education, profession, language
    UNION ALL
    SELECT 'contributor', country, age_band, education, profession, languages, count(*)
    FROM profiles
    GROUP BY country, age_band, education, profession, languages
)
SELECT * FROM classes
WHERE holders < $k_anonymity
ORDER BY level, holders, country, age_band, education, profession, languages
