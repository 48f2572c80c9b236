-- One row per network or device hash shared by 2 to $max_group voters (larger groups are shared
-- infrastructure, not a ring). Linking accounts by shared prompts or creation day was tried and
-- left out: it merged a demo ring with unrelated accounts and diluted its pooled test (75% caught). Each
-- row lists the voters sharing the hash. Only votes before the run's cut link voters, so a board of a cut
-- is reproducible after later days land (a hash shared only after the cut links nobody in it).
WITH before_cut AS (
    SELECT user_id, ip_hash, device_hash FROM votes_clean WHERE voted_at < $cutoff OR voted_at IS NULL
),
ids AS (
    SELECT DISTINCT user_id, 'ip:' || ip_hash AS identity FROM before_cut WHERE ip_hash IS NOT NULL
    UNION
    SELECT DISTINCT user_id, 'device:' || device_hash FROM before_cut WHERE device_hash IS NOT NULL
)
SELECT identity, list(user_id ORDER BY user_id) AS users
FROM ids
GROUP BY identity
HAVING count(*) BETWEEN 2 AND $max_group
ORDER BY identity
