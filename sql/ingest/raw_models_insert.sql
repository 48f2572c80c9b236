-- models.csv read as text by header name; a file without one of the five columns fails to bind
-- and is rejected whole.
INSERT INTO raw_models
SELECT
    $sha256 AS source_sha256,
    row_number() OVER () AS source_row,
    nullif(trim(model_id), '') AS model_id,
    nullif(trim(display_name), '') AS display_name,
    nullif(trim(provider), '') AS provider,
    nullif(trim(released_at), '') AS released_at,
    nullif(trim(deprecated_at), '') AS deprecated_at
FROM read_csv($path, header = true, all_varchar = true, auto_detect = true)
