-- The registry in force, one row per model in models.csv order, with the problem of an unusable row.
SELECT model_id, provider, released_at, deprecated_at, pre_release, problem FROM model_registry ORDER BY registry_order
