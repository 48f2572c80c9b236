-- The distinct raw values of the models.csv fields core/normalise.py decides (REGISTRY_FIELDS), from the
-- registry in force: the ingested models.csv the landing zone held last, chosen exactly as model_registry.sql
-- chooses it (a revert to earlier bytes is in force again, so its values must be the ones decided); an absent
-- value is ''.
WITH latest_file AS (
    SELECT sha256
    FROM landing_files
    WHERE kind = 'models' AND status = 'ingested'
    ORDER BY seen_seq DESC NULLS LAST, ingest_seq DESC
    LIMIT 1
),
latest AS (
    SELECT m.provider, m.pre_release
    FROM raw_models AS m
    WHERE m.source_sha256 = (SELECT sha256 FROM latest_file)
)
SELECT DISTINCT 'provider' AS field, coalesce(provider, '') AS raw FROM latest
UNION
SELECT DISTINCT 'pre_release' AS field, coalesce(pre_release, '') AS raw FROM latest
ORDER BY field, raw
