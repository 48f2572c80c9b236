-- The models the sampling plan may ask votes for: with a registry, every usable registry model active at
-- the data cut (released at or before it, not deprecated by it: the active window is
-- [released_at, deprecated_at)), whether or not it has counted votes yet; with no registry (DESIGN §2.3),
-- every model in the counted votes before the cut.
SELECT model_id
FROM model_registry
WHERE problem IS NULL
    AND (released_at IS NULL OR released_at <= $cutoff)
    AND (deprecated_at IS NULL OR deprecated_at > $cutoff)
UNION
SELECT model_id
FROM (
    SELECT model_left AS model_id, voted_at FROM votes_counted
    UNION ALL
    SELECT model_right AS model_id, voted_at FROM votes_counted
)
WHERE NOT EXISTS (SELECT 1 FROM model_registry) AND (voted_at < $cutoff OR voted_at IS NULL)
ORDER BY model_id
