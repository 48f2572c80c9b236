-- One row per counted vote before the data cut: its voter, its rank among the voter's votes, and the
-- log-probability of its outcome given everyone else's votes on the same pair (Chatbot Arena §5.1):
-- outcomes as left/right/tie of the unordered pair, the vote itself left out, add-one smoothing.
WITH v AS (
    SELECT
        user_id,
        row_key,
        voted_at,
        least(model_left, model_right) AS a,
        greatest(model_left, model_right) AS b,
        CASE
            WHEN winner IN ('both_good', 'both_bad') THEN 'tie'
            WHEN (winner = 'left') = (model_left < model_right) THEN 'a'
            ELSE 'b'
        END AS outcome
    FROM votes_clean
    WHERE voted_at < $cutoff OR voted_at IS NULL
),
pair AS (
    SELECT a, b, outcome, count(*) AS n FROM v GROUP BY ALL
),
pair_total AS (
    SELECT a, b, sum(n) AS total FROM pair GROUP BY ALL
)
SELECT
    v.user_id,
    row_number() OVER (PARTITION BY v.user_id ORDER BY v.voted_at, v.row_key) AS k,
    ln((p.n - 1 + 1.0) / (t.total - 1 + 3.0)) AS log_p
FROM v
JOIN pair AS p USING (a, b, outcome)
JOIN pair_total AS t USING (a, b)
ORDER BY v.user_id, k
