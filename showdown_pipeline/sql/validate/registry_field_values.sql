-- The distinct raw values of the models.csv fields core/normalise.py decides (REGISTRY_FIELDS), from the
-- registry in force ($registry_sha256, chosen by core/registry.py: a revert to earlier bytes is in force again,
-- so its values must be the ones decided); an absent value is ''.
WITH latest AS (
    SELECT m.provider, m.pre_release
    FROM raw_models AS m
    WHERE m.source_sha256 = $registry_sha256
)
SELECT DISTINCT 'provider' AS field, coalesce(provider, '') AS raw FROM latest
UNION
SELECT DISTINCT 'pre_release' AS field, coalesce(pre_release, '') AS raw FROM latest
ORDER BY field, raw
