-- One row per model of the models.csv in force (DESIGN §2.3), $registry_sha256: the ingested one the landing
-- zone held last, chosen by core/registry.py in the order of registry_files.sql (a revert to earlier bytes puts
-- them back in force; NULL: no models.csv, no rows); typed, in file order.
-- A model is active on [released_at, deprecated_at): a vote at the deprecation instant is outside.
-- `problem` names a row the registry cannot use (no id, an id holding a character that prints as nothing or as
-- a space, $model_id_hidden_pattern from core/normalise.py; a repeated id, an unreadable date);
-- votes naming such a model are quarantined as unregistered. `provider` and the optional `pre_release` are
-- decided by core/normalise.py (REGISTRY_FIELDS), joined as registry_field_map (field, raw, value, problem):
-- a provider cleaned (empty: none), pre_release a boolean (absent: false; anything else: invalid_pre_release).
CREATE OR REPLACE TABLE model_registry AS
WITH typed AS (
    SELECT
        m.source_row AS registry_order,
        m.model_id,
        m.display_name,
        n_provider.value AS provider,
        m.pre_release AS pre_release_text,
        n_pre_release.value AS pre_release_value,
        m.released_at AS released_at_text,
        m.deprecated_at AS deprecated_at_text,
        try_cast(m.released_at AS TIMESTAMPTZ) AS released_at,
        try_cast(m.deprecated_at AS TIMESTAMPTZ) AS deprecated_at,
        count(*) OVER (PARTITION BY m.model_id) AS id_count
    FROM raw_models AS m
    LEFT JOIN registry_field_map AS n_provider
        ON n_provider.field = 'provider' AND n_provider.raw = coalesce(m.provider, '')
    LEFT JOIN registry_field_map AS n_pre_release
        ON n_pre_release.field = 'pre_release' AND n_pre_release.raw = coalesce(m.pre_release, '')
    WHERE m.source_sha256 = $registry_sha256
)
SELECT
    registry_order,
    model_id,
    display_name,
    provider,
    released_at,
    deprecated_at,
    coalesce(pre_release_value = 'true', FALSE) AS pre_release,
    CASE
        WHEN model_id IS NULL THEN 'missing_model_id'
        WHEN regexp_matches(model_id, $model_id_hidden_pattern) THEN 'hidden_character_in_model_id'
        WHEN id_count > 1 THEN 'repeated_model_id'
        WHEN released_at_text IS NOT NULL AND released_at IS NULL THEN 'invalid_released_at'
        WHEN deprecated_at_text IS NOT NULL AND deprecated_at IS NULL THEN 'invalid_deprecated_at'
        WHEN released_at IS NOT NULL AND deprecated_at IS NOT NULL AND deprecated_at <= released_at
            THEN 'deprecated_before_release'
        WHEN pre_release_text IS NOT NULL AND pre_release_value IS NULL THEN 'invalid_pre_release'
    END AS problem
FROM typed
ORDER BY registry_order
