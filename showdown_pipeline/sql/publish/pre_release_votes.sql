-- One row per usable registry model marked pre_release, by the models.csv in force or by an earlier one
-- ($marked_before, from pre_release_marks.sql): its counted votes cast at or after its public release
-- (released_at) and before $cutoff. Votes before the release and undated votes never count; with no released_at
-- the model has no public release yet, so none count.
WITH sides AS (
    SELECT model_left AS model_id, voted_at FROM votes_counted
    UNION ALL
    SELECT model_right AS model_id, voted_at FROM votes_counted
)
SELECT
    r.model_id,
    r.released_at,
    r.pre_release AS marked_in_force,
    count(s.voted_at) AS votes_since_release
FROM model_registry AS r
LEFT JOIN sides AS s ON r.model_id = s.model_id AND s.voted_at >= r.released_at AND s.voted_at < $cutoff
WHERE r.problem IS NULL AND (r.pre_release OR list_contains($marked_before, r.model_id))
GROUP BY r.model_id, r.released_at, r.pre_release
ORDER BY r.model_id
