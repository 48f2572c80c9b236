-- The sorted model list of the whole table (scorable or not); the style rows' and voter cells' integer
-- codes are positions in it (bound as $models).
SELECT m AS model_id
FROM (
    SELECT DISTINCT model_left AS m FROM votes_table_canonical
    UNION
    SELECT DISTINCT model_right FROM votes_table_canonical
)
WHERE m IS NOT NULL
ORDER BY m
