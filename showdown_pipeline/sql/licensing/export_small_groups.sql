-- Quasi-identifier combinations of a written export (read back from its Parquet file) held by fewer than
-- $k_anonymity distinct contributors: recomputed from the file, whatever the writer's algorithm did.
-- 'other' and NULL are values like any other here.
SELECT country, age_band, education, profession, language, count(DISTINCT contributor_key) AS holders
FROM read_parquet($export_path)
GROUP BY ALL
HAVING count(DISTINCT contributor_key) < $k_anonymity
ORDER BY holders, country, age_band, education, profession, language
