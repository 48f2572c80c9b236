-- The model registry in one row: models usable, unusable rows.
SELECT
    count(*) FILTER (WHERE problem IS NULL) AS usable,
    count(*) FILTER (WHERE problem IS NOT NULL) AS unusable
FROM model_registry
