-- The sorted model list; the style rows' integer codes are positions in it (bound as $models).
SELECT m AS model_id
FROM (SELECT DISTINCT model_a::VARCHAR AS m FROM vote_table UNION SELECT DISTINCT model_b::VARCHAR FROM vote_table)
WHERE m IS NOT NULL
ORDER BY m
