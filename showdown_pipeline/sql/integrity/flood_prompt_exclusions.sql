-- Prompt flooding (LMArena's rule): prompts among the top 0.1% most frequent are down-sampled to the
-- count of the prompt at that quantile; which votes stay is decided by a hash of the row, so the
-- choice is reproducible. One row per excluded vote.
WITH counted AS (
    SELECT row_key, prompt_hash FROM votes_clean
    WHERE (voted_at < $cutoff OR voted_at IS NULL) AND prompt_hash IS NOT NULL
),
per_prompt AS (
    SELECT prompt_hash, count(*) AS n FROM counted GROUP BY prompt_hash
),
cap AS (
    SELECT greatest(quantile_disc(n, 0.999), 1) AS cap FROM per_prompt
),
ranked AS (
    SELECT c.row_key, c.prompt_hash, p.n,
        row_number() OVER (PARTITION BY c.prompt_hash ORDER BY md5(c.row_key)) AS k
    FROM counted AS c JOIN per_prompt AS p USING (prompt_hash)
)
SELECT row_key, 'prompt_flooding' AS check_name,
    'prompt asked ' || n || ' times (top 0.1%); down-sampled to ' || (SELECT cap FROM cap) AS reason
FROM ranked
WHERE n > (SELECT cap FROM cap) AND k > (SELECT cap FROM cap)
ORDER BY row_key
