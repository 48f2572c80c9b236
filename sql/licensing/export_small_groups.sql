-- Demographic values of a written export held by fewer than $k_anonymity contributors (other than 'other').
WITH export AS (SELECT * FROM read_parquet($export_path)),
values AS (
    SELECT 'country' AS field, country AS value, contributor_key FROM export
    UNION ALL SELECT 'age_band', age_band, contributor_key FROM export
    UNION ALL SELECT 'education', education, contributor_key FROM export
    UNION ALL SELECT 'profession', profession, contributor_key FROM export
)
SELECT field, value, count(DISTINCT contributor_key) AS holders
FROM values
WHERE value IS NOT NULL AND value <> 'other'
GROUP BY ALL
HAVING count(DISTINCT contributor_key) < $k_anonymity
ORDER BY ALL
