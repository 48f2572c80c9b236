-- The provider ledger's registry: one row per usable registry model (core/providers.py), in models.csv order;
-- provider already cleaned by core/normalise.py (NULL: none given).
SELECT model_id, provider, released_at, deprecated_at, pre_release
FROM model_registry
WHERE problem IS NULL
ORDER BY registry_order
