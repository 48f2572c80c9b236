-- Canonical labels (model_left, model_right, winner in left | right | both_good | both_bad) aggregated
-- into Bradley-Terry cells; other rows are counted by reason, not scored.
SELECT model_left::VARCHAR AS model_left, model_right::VARCHAR AS model_right, winner::VARCHAR AS winner, count(*) AS n
FROM vote_table
WHERE model_left IS NOT NULL AND model_right IS NOT NULL AND model_left <> model_right
    AND winner::VARCHAR IN ('left', 'right', 'both_good', 'both_bad')
GROUP BY ALL
ORDER BY ALL
