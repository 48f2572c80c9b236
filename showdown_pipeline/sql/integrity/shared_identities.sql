-- One row per network or device hash shared by 2 to $max_group voters (larger groups are shared
-- infrastructure, not a ring). Linking accounts by shared prompts or creation day was tried and
-- left out: it merged a demo ring with unrelated accounts and diluted its pooled test (75% caught). Each row lists the voters sharing the hash.
WITH ids AS (
    SELECT DISTINCT user_id, 'ip:' || ip_hash AS identity FROM votes_clean WHERE ip_hash IS NOT NULL
    UNION
    SELECT DISTINCT user_id, 'device:' || device_hash FROM votes_clean WHERE device_hash IS NOT NULL
)
SELECT identity, list(user_id ORDER BY user_id) AS users
FROM ids
GROUP BY identity
HAVING count(*) BETWEEN 2 AND $max_group
ORDER BY identity
