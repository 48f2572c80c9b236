-- One row per voter among counted votes before the data cut: volume, position and speed statistics.
-- A vote is too fast when its time-to-vote (voted_at − shown_at) is shorter than $min_seconds plus the
-- time to read both answers at $max_tokens_per_second. The float aggregates run in the order of their
-- values (a parallel one adds in whatever order the threads finish); the rows come ordered by voter.
WITH v AS (
    SELECT
        user_id,
        winner,
        voted_at,
        prompt_hash,
        -- a shown_at after the vote is invalid upstream; should one get here, the vote is untimed
        CASE WHEN shown_at <= voted_at THEN epoch(voted_at) - epoch(shown_at) END AS ttv,
        $min_seconds + (coalesce(tokens_left, 0) + coalesce(tokens_right, 0)) / $max_tokens_per_second AS min_ttv
    FROM votes_clean
    WHERE voted_at < $cutoff OR voted_at IS NULL
),
daily AS (
    SELECT user_id, max(n) AS max_daily FROM (
        SELECT user_id, date_trunc('day', voted_at) AS day, count(*) AS n FROM v GROUP BY ALL
    ) GROUP BY user_id
),
prompts AS (
    SELECT user_id, max(n) AS top_prompt_votes FROM (
        SELECT user_id, prompt_hash, count(*) AS n FROM v WHERE prompt_hash IS NOT NULL GROUP BY ALL
    ) GROUP BY user_id
)
SELECT
    v.user_id,
    count(*) AS votes,
    count(*) FILTER (WHERE winner IN ('left', 'right')) AS decided,
    count(*) FILTER (WHERE winner = 'left') AS left_wins,
    count(*) FILTER (WHERE ttv IS NOT NULL) AS timed,
    count(*) FILTER (WHERE ttv IS NOT NULL AND ttv < min_ttv) AS too_fast,
    coalesce(stddev_samp(ttv ORDER BY ttv) / nullif(avg(ttv ORDER BY ttv), 0), 1.0) AS ttv_cv,
    coalesce(any_value(d.max_daily), 0) AS max_daily,
    coalesce(any_value(p.top_prompt_votes), 0) AS top_prompt_votes
FROM v
LEFT JOIN daily AS d USING (user_id)
LEFT JOIN prompts AS p USING (user_id)
GROUP BY v.user_id
ORDER BY v.user_id
