-- The default anchor: the registry's first usable model; with no registry, the alphabetically first
-- model among counted votes.
SELECT coalesce(
    (SELECT model_id FROM model_registry WHERE problem IS NULL ORDER BY registry_order LIMIT 1),
    (SELECT min(m) FROM (SELECT model_left AS m FROM votes_counted UNION ALL SELECT model_right FROM votes_counted))
) AS anchor, (SELECT count(*) > 0 FROM model_registry) AS from_registry
