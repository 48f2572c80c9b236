-- One row per network hash, device hash or prompt shared by 2 to $max_group voters (larger groups are shared
-- infrastructure, not a ring), with the voters sharing it.
WITH ids AS (
    SELECT DISTINCT user_id, 'ip:' || ip_hash AS identity FROM votes_clean WHERE ip_hash IS NOT NULL
    UNION
    SELECT DISTINCT user_id, 'device:' || device_hash FROM votes_clean WHERE device_hash IS NOT NULL
    UNION
    -- the same prompt asked by a handful of accounts (greetings, asked by thousands, exceed $max_group)
    SELECT DISTINCT user_id, 'prompt:' || prompt_hash FROM votes_clean WHERE prompt_hash IS NOT NULL
)
SELECT identity, list(user_id ORDER BY user_id) AS users
FROM ids
GROUP BY identity
HAVING count(*) BETWEEN 2 AND $max_group
