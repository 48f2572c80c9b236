-- Independent re-check of a written export (read back from its Parquet file, $export_path) against the
-- warehouse: one row per violated rule with how many rows break it and a sample of their vote keys.
-- Written apart from licensed_votes.sql on purpose: it recomputes every rule from the raw tables.
WITH export AS (
    SELECT * FROM read_parquet($export_path)
),
truth AS (
    SELECT
        lower(sha256($outer_key || unhex(sha256($inner_key || encode('vote:' || vote_id))))) AS vote_key,
        distribution,
        voted_at,
        prompt_hash
    FROM votes_counted
),
live_window_prompts AS (
    SELECT DISTINCT prompt_hash FROM votes_clean
    WHERE distribution = 'live' AND prompt_hash IS NOT NULL
        AND voted_at > $data_cut - to_days($holdout_days) AND voted_at < $data_cut
),
checks AS (
    SELECT 'not_a_counted_vote' AS rule, e.vote_key
    FROM export AS e LEFT JOIN truth AS t USING (vote_key) WHERE t.vote_key IS NULL
    UNION ALL
    SELECT 'live_vote_younger_than_holdout', e.vote_key
    FROM export AS e JOIN truth AS t USING (vote_key)
    WHERE t.distribution = 'live' AND t.voted_at > $data_cut - to_days($holdout_days)
    UNION ALL
    SELECT 'voted_at_or_after_data_cut', e.vote_key
    FROM export AS e JOIN truth AS t USING (vote_key) WHERE t.voted_at IS NULL OR t.voted_at >= $data_cut
    UNION ALL
    SELECT 'prompt_in_live_window', e.vote_key
    FROM export AS e JOIN truth AS t USING (vote_key)
    WHERE t.prompt_hash IN (SELECT prompt_hash FROM live_window_prompts)
    UNION ALL
    SELECT 'row_differs_from_warehouse', e.vote_key
    FROM export AS e JOIN truth AS t USING (vote_key)
    WHERE e.voted_at IS DISTINCT FROM t.voted_at OR e.distribution IS DISTINCT FROM t.distribution
        OR e.prompt_hash IS DISTINCT FROM t.prompt_hash
    UNION ALL
    SELECT 'duplicate_vote_key', vote_key FROM export GROUP BY vote_key HAVING count(*) > 1
)
SELECT rule, count(*) AS rows, list(vote_key ORDER BY vote_key)[1:5] AS sample
FROM checks
GROUP BY rule
ORDER BY rule
