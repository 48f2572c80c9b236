-- LMArena labels (model_a, model_b, winner in model_a | model_b | tie | tie (bothbad)) aggregated into
-- Bradley-Terry cells; rows with any other winner, a missing model or the same model on both sides
-- are counted by reason, not scored.
SELECT
    model_a::VARCHAR AS model_left,
    model_b::VARCHAR AS model_right,
    CASE winner::VARCHAR
        WHEN 'model_a' THEN 'left'
        WHEN 'model_b' THEN 'right'
        WHEN 'tie' THEN 'both_good'
        WHEN 'tie (bothbad)' THEN 'both_bad'
    END AS winner,
    count(*) AS n
FROM vote_table
WHERE model_a IS NOT NULL AND model_b IS NOT NULL AND model_a <> model_b
    AND winner::VARCHAR IN ('model_a', 'model_b', 'tie', 'tie (bothbad)')
GROUP BY ALL
ORDER BY ALL
