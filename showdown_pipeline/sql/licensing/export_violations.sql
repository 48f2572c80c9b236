-- Independent re-check of a written export (read back from its Parquet file, $export_path) against the
-- warehouse: one row per violated rule with how many rows break it and a sample of their vote keys.
-- Written apart from the writer's SQL on purpose: it recomputes every rule from the raw tables, checks
-- coarsened values by their properties (a date, a multiple of the promised step, within half a step of
-- the truth) and quasi-identifiers against the recoding the manifest declares (the table declared_recode).
WITH export AS (
    SELECT * FROM read_parquet($export_path)
),
truth AS (
    SELECT
        lower(sha256($outer_key || unhex(sha256($inner_key || encode('vote:' || vote_id))))) AS vote_key,
        lower(sha256($outer_key || unhex(sha256($inner_key || encode('contributor:' || user_id))))) AS contributor_key,
        lower(sha256($outer_key || unhex(sha256($inner_key || encode('prompt:' || prompt_hash))))) AS prompt_key,
        *
    FROM votes_counted
),
-- the leak guard, recomputed: every ingested record (votes_checked, valid or not) that might be live and
-- is not known to be older than the holdout cutoff; no upper bound (core/holdout.py)
guarded AS (
    SELECT prompt_hash AS spelled, string_split(coalesce(json_types, ''), ',') AS types
    FROM votes_checked
    WHERE prompt_hash IS NOT NULL
        AND (coalesce(distribution, 'live') = 'live' OR json_types LIKE '%distribution:%')
        AND coalesce(voted_at > $data_cut - to_days($holdout_days), TRUE)
),
guarded_keys AS (
    SELECT regexp_replace(lower(spelled), '[^0-9a-z]+', '', 'g') AS k, types FROM guarded
),
live_window_prompts AS (
    SELECT CASE WHEN starts_with(k, '0x') THEN substr(k, 3) ELSE k END AS prompt_hash FROM guarded_keys
    UNION
    SELECT printf(
        '%016x',
        coalesce(try_cast(spelled AS UBIGINT)::HUGEINT, try_cast(spelled AS BIGINT)::HUGEINT + 18446744073709551616)
    )
    FROM guarded
    WHERE list_contains(types, 'prompt_hash:UBIGINT') OR list_contains(types, 'prompt_hash:BIGINT')
),
live_window_keys AS (
    SELECT prompt_hash FROM live_window_prompts WHERE prompt_hash IS NOT NULL AND prompt_hash <> ''
),
paired AS (
    SELECT e.vote_key, e AS x, t AS w FROM export AS e JOIN truth AS t USING (vote_key)
),
counts AS (
    SELECT vote_key, unnest([
        {'e': x.tokens_left, 't': w.tokens_left, 'step': NULL},
        {'e': x.tokens_right, 't': w.tokens_right, 'step': NULL},
        {'e': x.headers_left, 't': w.headers_left, 'step': NULL},
        {'e': x.headers_right, 't': w.headers_right, 'step': NULL},
        {'e': x.lists_left, 't': w.lists_left, 'step': NULL},
        {'e': x.lists_right, 't': w.lists_right, 'step': NULL},
        {'e': x.bold_left, 't': w.bold_left, 'step': NULL},
        {'e': x.bold_right, 't': w.bold_right, 'step': NULL},
        {'e': x.latency_ms_left, 't': w.latency_ms_left, 'step': 100},
        {'e': x.latency_ms_right, 't': w.latency_ms_right, 'step': 100}
    ]) AS c
    FROM paired
),
count_steps AS (
    SELECT vote_key, c.e, c.t,
        coalesce(c.step, CASE WHEN abs(c.t) < 100 THEN 1 ELSE 10 ** (length(cast(abs(c.t) AS VARCHAR)) - 2) END) AS step
    FROM counts
),
declared AS (
    SELECT
        p.vote_key,
        p.x,
        coalesce(r_country.output, p.w.country) AS country,
        coalesce(r_age.output, p.w.age_band) AS age_band,
        coalesce(r_education.output, p.w.education) AS education,
        coalesce(r_profession.output, p.w.profession) AS profession,
        coalesce(r_language.output, p.w.language) AS language
    FROM paired AS p
    LEFT JOIN declared_recode AS r_country ON r_country.attribute = 'country' AND r_country.value = p.w.country
    LEFT JOIN declared_recode AS r_age ON r_age.attribute = 'age_band' AND r_age.value = p.w.age_band
    LEFT JOIN declared_recode AS r_education ON r_education.attribute = 'education' AND r_education.value = p.w.education
    LEFT JOIN declared_recode AS r_profession ON r_profession.attribute = 'profession' AND r_profession.value = p.w.profession
    LEFT JOIN declared_recode AS r_language ON r_language.attribute = 'language' AND r_language.value = p.w.language
),
checks AS (
    SELECT 'not_a_counted_vote' AS rule, e.vote_key
    FROM export AS e LEFT JOIN truth AS t USING (vote_key) WHERE t.vote_key IS NULL
    UNION ALL
    SELECT 'live_vote_younger_than_holdout', vote_key
    FROM paired WHERE w.distribution = 'live' AND w.voted_at > $data_cut - to_days($holdout_days)
    UNION ALL
    SELECT 'voted_at_or_after_data_cut', vote_key
    FROM paired WHERE w.voted_at IS NULL OR w.voted_at >= $data_cut
    UNION ALL
    SELECT 'prompt_in_live_window', vote_key
    FROM paired WHERE w.prompt_hash IN (SELECT prompt_hash FROM live_window_keys)
    UNION ALL
    SELECT 'row_differs_from_warehouse', vote_key
    FROM paired
    WHERE x.voted_on IS DISTINCT FROM cast(timezone('UTC', w.voted_at) AS DATE)
        OR x.contributor_key IS DISTINCT FROM w.contributor_key
        OR x.prompt_key IS DISTINCT FROM w.prompt_key
        OR x.distribution IS DISTINCT FROM w.distribution
        OR x.model_left IS DISTINCT FROM w.model_left
        OR x.model_right IS DISTINCT FROM w.model_right
        OR x.winner IS DISTINCT FROM w.winner
        OR x.in_flow_side IS DISTINCT FROM w.in_flow_side
        OR x.category IS DISTINCT FROM w.category
    UNION ALL
    SELECT 'count_finer_than_promised_or_off', vote_key
    FROM count_steps
    WHERE (e IS NULL) <> (t IS NULL) OR e % step <> 0 OR abs(e - t) > step / 2
    UNION ALL
    SELECT 'quasi_identifier_differs_from_declared_recoding', vote_key
    FROM declared
    WHERE x.country IS DISTINCT FROM country OR x.age_band IS DISTINCT FROM age_band
        OR x.education IS DISTINCT FROM education OR x.profession IS DISTINCT FROM profession
        OR x.language IS DISTINCT FROM language
    UNION ALL
    SELECT 'contributor_quasi_identifiers_vary', min(vote_key)
    FROM export GROUP BY contributor_key
    HAVING count(DISTINCT {'c': country, 'a': age_band, 'e': education, 'p': profession}) > 1
    UNION ALL
    SELECT 'duplicate_vote_key', vote_key FROM export GROUP BY vote_key HAVING count(*) > 1
)
SELECT rule, count(*) AS rows, list(vote_key ORDER BY vote_key)[1:5] AS sample
FROM checks
GROUP BY rule
ORDER BY rule
