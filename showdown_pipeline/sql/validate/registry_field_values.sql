-- The distinct raw values of the models.csv fields core/normalise.py decides (REGISTRY_FIELDS), from the
-- registry in force (the latest ingested models.csv); an absent value is ''.
WITH latest AS (
    SELECT m.provider, m.pre_release
    FROM raw_models AS m
    WHERE m.source_sha256 = (
        SELECT sha256 FROM landing_files WHERE kind = 'models' AND status = 'ingested' ORDER BY ingest_seq DESC LIMIT 1
    )
)
SELECT DISTINCT 'provider' AS field, coalesce(provider, '') AS raw FROM latest
UNION
SELECT DISTINCT 'pre_release' AS field, coalesce(pre_release, '') AS raw FROM latest
ORDER BY field, raw
