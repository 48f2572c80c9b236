-- Prompt flooding (LMArena's rule): prompts among the top 0.1% most frequent are down-sampled to the
-- count of the prompt at that quantile; which votes stay is decided by a hash of the row, so the
-- choice is reproducible. One row per excluded vote. Only the rows of prompts over the cap are ranked:
-- a prompt's ranks do not depend on the other prompts, and ranking every row (a sort of all the votes by
-- prompt and hash) was nine tenths of the statement's time at 10M votes.
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
    SELECT c.row_key, p.n,
        row_number() OVER (PARTITION BY c.prompt_hash ORDER BY md5(c.row_key)) AS k
    FROM counted AS c JOIN per_prompt AS p USING (prompt_hash)
    WHERE p.n > (SELECT cap FROM cap)
)
SELECT row_key, 'prompt_flooding' AS check_name,
    'prompt asked ' || n || ' times (top 0.1%); down-sampled to ' || (SELECT cap FROM cap) AS reason
FROM ranked
WHERE k > (SELECT cap FROM cap)
ORDER BY row_key
