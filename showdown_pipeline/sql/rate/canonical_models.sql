-- The sorted model list; the style rows' integer codes are positions in it (bound as $models).
SELECT m AS model_id
FROM (SELECT DISTINCT model_left::VARCHAR AS m FROM vote_table UNION SELECT DISTINCT model_right::VARCHAR FROM vote_table)
WHERE m IS NOT NULL
ORDER BY m
