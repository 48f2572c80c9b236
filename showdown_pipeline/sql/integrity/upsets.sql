-- Votes where the winner's expected chance under the preliminary ratings (integrity_theta) was below
-- $max_p: flagged for review, never dropped. One row per upset.
SELECT c.row_key, c.user_id,
    CASE WHEN c.winner = 'left' THEN 1.0 / (1.0 + exp(tr.theta - tl.theta))
         ELSE 1.0 / (1.0 + exp(tl.theta - tr.theta)) END AS winner_expected
FROM votes_clean AS c
JOIN integrity_theta AS tl ON tl.model_id = c.model_left
JOIN integrity_theta AS tr ON tr.model_id = c.model_right
WHERE (c.voted_at < $cutoff OR c.voted_at IS NULL) AND c.winner IN ('left', 'right')
    AND CASE WHEN c.winner = 'left' THEN 1.0 / (1.0 + exp(tr.theta - tl.theta))
             ELSE 1.0 / (1.0 + exp(tl.theta - tr.theta)) END < $max_p
ORDER BY c.row_key
