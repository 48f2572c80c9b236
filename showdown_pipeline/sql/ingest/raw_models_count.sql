-- Rows of one models.csv in raw_models (checked against the rows staging parsed).
SELECT count(*) AS rows FROM raw_models WHERE source_sha256 = $sha256
