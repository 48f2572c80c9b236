-- Every raw pre_release value any ingested models.csv ever gave a model (the file in force and every earlier
-- one): a model once marked pre-release was shown before its release, and a later file that drops the column or
-- the flag does not undo that (core/providers.py decides each raw value with normalise.flag).
SELECT DISTINCT
    m.model_id,
    m.pre_release AS raw
FROM raw_models AS m
INNER JOIN landing_files AS f ON m.source_sha256 = f.sha256
WHERE
    f.kind = 'models' AND f.status = 'ingested' AND m.model_id IS NOT NULL AND m.pre_release IS NOT NULL
ORDER BY m.model_id, raw
