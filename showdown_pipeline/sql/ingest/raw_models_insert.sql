-- models.csv rows, parsed by core/staging.py with fixed CSV settings (nothing sniffed) into a Parquet
-- copy: the five columns and the optional pre_release (NULL when absent) by header name, as text. $path is
-- that copy's literal path.
INSERT INTO raw_models
SELECT
    $sha256 AS source_sha256,
    source_row,
    nullif(trim(model_id), '') AS model_id,
    nullif(trim(display_name), '') AS display_name,
    nullif(trim(provider), '') AS provider,
    nullif(trim(released_at), '') AS released_at,
    nullif(trim(deprecated_at), '') AS deprecated_at,
    nullif(trim(pre_release), '') AS pre_release
FROM read_parquet($path)
ORDER BY source_row
