-- Every model in the counted votes, sorted: the style rows' integer codes are positions in this list
-- (bound as $models in style_feature_rows.sql).
SELECT model_id
FROM (SELECT model_left AS model_id FROM votes_counted UNION SELECT model_right FROM votes_counted)
ORDER BY model_id
