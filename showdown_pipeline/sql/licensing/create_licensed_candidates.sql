-- One row per vote a licensee may receive as of $data_cut (the rule: core/holdout.py), keyed and
-- coarsened, with its quasi-identifiers still at full detail (k-anonymity recodes them next, in
-- licensed_votes.sql): counted (votes_counted: valid, deduplicated, not excluded by integrity), dated,
-- cast before the cut; no live vote cast after $holdout_cutoff; no vote whose prompt is protected.
-- Protected (the leak guard, fail closed): the prompt of EVERY ingested vote record (votes_checked: valid,
-- quarantined for any reason, duplicate, excluded by integrity) that is or might be live (distribution
-- `live`, or one that did not normalise or arrived as a non-string) and is or might be in the window
-- (voted after $holdout_cutoff with NO upper bound — a live vote at or after the cut protects its prompt
-- too —, or voted_at missing or unreadable). Its keys (holdout.protected_prompt_keys): the prompt key
-- folded leniently (lower case, every character but a-z0-9 removed, a leading 0x dropped), and for a
-- prompt delivered as a JSON integer its 64-bit hex spelling, compared with the candidates' canonical keys.
-- Pseudonyms are HMAC-SHA256 under the export's key ($inner_key/$outer_key are its padded forms); the
-- upstream prompt_hash leaves only keyed, as prompt_key.
-- Precision (EXPORT_PRECISION): the UTC date, counts to 2 significant digits, loading times to 100 ms.
CREATE OR REPLACE TEMP TABLE licensed_candidates AS
WITH protected_records AS (
    SELECT prompt_hash, coalesce(json_types, '') AS json_types
    FROM votes_checked
    WHERE prompt_hash IS NOT NULL
        AND (distribution = 'live' OR distribution IS NULL OR regexp_matches(coalesce(json_types, ''), '(^|,)distribution:'))
        AND (voted_at > $holdout_cutoff OR voted_at IS NULL)
),
protected_prompts AS (
    SELECT DISTINCT key
    FROM (
        SELECT regexp_replace(regexp_replace(lower(prompt_hash), '[^a-z0-9]', '', 'g'), '^0x', '') AS key
        FROM protected_records
        UNION ALL
        SELECT lpad(lower(coalesce(hex(try_cast(prompt_hash AS UBIGINT)), hex(try_cast(prompt_hash AS BIGINT)))), 16, '0')
        FROM protected_records
        WHERE regexp_matches(json_types, '(^|,)prompt_hash:(UBIGINT|BIGINT)(,|$)')
    )
    WHERE key IS NOT NULL AND key <> ''
),
eligible AS (
    SELECT *
    FROM votes_counted AS v
    WHERE voted_at IS NOT NULL
        AND voted_at < $data_cut
        AND NOT (distribution = 'live' AND voted_at > $holdout_cutoff)
        AND NOT EXISTS (SELECT 1 FROM protected_prompts AS p WHERE p.key = v.prompt_hash)
)
SELECT
    lower(sha256($outer_key || unhex(sha256($inner_key || encode('vote:' || vote_id))))) AS vote_key,
    lower(sha256($outer_key || unhex(sha256($inner_key || encode('contributor:' || user_id))))) AS contributor_key,
    CASE WHEN prompt_hash IS NOT NULL
        THEN lower(sha256($outer_key || unhex(sha256($inner_key || encode('prompt:' || prompt_hash)))))
    END AS prompt_key,
    cast(timezone('UTC', voted_at) AS DATE) AS voted_on,
    distribution,
    model_left,
    model_right,
    winner,
    in_flow_side,
    category,
    country,
    age_band,
    education,
    profession,
    language,
    two_significant_digits(tokens_left) AS tokens_left,
    two_significant_digits(tokens_right) AS tokens_right,
    two_significant_digits(headers_left) AS headers_left,
    two_significant_digits(headers_right) AS headers_right,
    two_significant_digits(lists_left) AS lists_left,
    two_significant_digits(lists_right) AS lists_right,
    two_significant_digits(bold_left) AS bold_left,
    two_significant_digits(bold_right) AS bold_right,
    (round(latency_ms_left / 100) * 100)::BIGINT AS latency_ms_left,
    (round(latency_ms_right / 100) * 100)::BIGINT AS latency_ms_right
FROM eligible
