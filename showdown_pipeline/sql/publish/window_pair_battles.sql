-- Battles shown in the provider ledger's window, per ordered model pair: distinct (battle_id, model_left,
-- model_right) among the valid, deduplicated votes (votes_clean, before integrity exclusions) cast in
-- [$window_start, $cutoff). With no $window_start (no earlier snapshot) the window is every vote before the
-- cut, undated ones included (they count in every snapshot); with one, undated votes are outside it.
WITH battles AS (
    SELECT DISTINCT battle_id, model_left, model_right
    FROM votes_clean
    WHERE CASE
        WHEN cast($window_start AS TIMESTAMPTZ) IS NULL THEN voted_at < $cutoff OR voted_at IS NULL
        ELSE voted_at >= cast($window_start AS TIMESTAMPTZ) AND voted_at < $cutoff
    END
)
SELECT model_left, model_right, count(*) AS n
FROM battles
GROUP BY model_left, model_right
ORDER BY model_left, model_right
