-- Counted votes at the cut, per ordered model pair: the votes the boards of this cut are fitted on
-- (votes_counted before $cutoff, undated ones included), for the provider ledger's vote shares.
SELECT model_left, model_right, count(*) AS n
FROM votes_counted
WHERE voted_at < $cutoff OR voted_at IS NULL
GROUP BY model_left, model_right
ORDER BY model_left, model_right
