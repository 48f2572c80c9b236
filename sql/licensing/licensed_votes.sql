-- One row per vote a licensee may receive as of $data_cut (the rule: core/holdout.py):
-- counted (votes_counted: valid, deduplicated, not excluded by integrity), dated, cast before the cut; no live vote cast after $holdout_cutoff; no vote whose prompt
-- occurs among live votes of the window ($holdout_cutoff, $data_cut). Pseudonyms are HMAC-SHA256
-- under the licensee's key ($inner_key/$outer_key are its padded forms). Demographic values held by
-- fewer than $k_anonymity contributors of this export become 'other'.
WITH eligible AS (
    SELECT *
    FROM votes_counted
    WHERE voted_at IS NOT NULL
        AND voted_at < $data_cut
        AND NOT (distribution = 'live' AND voted_at > $holdout_cutoff)
        AND (prompt_hash IS NULL OR prompt_hash NOT IN (
            -- every valid live vote, excluded or not: its prompt is still the live distribution's
            SELECT prompt_hash FROM votes_clean
            WHERE distribution = 'live' AND voted_at > $holdout_cutoff AND voted_at < $data_cut
                AND prompt_hash IS NOT NULL
        ))
),
keyed AS (
    SELECT
        lower(sha256($outer_key || unhex(sha256($inner_key || encode('vote:' || vote_id))))) AS vote_key,
        lower(sha256($outer_key || unhex(sha256($inner_key || encode('contributor:' || user_id))))) AS contributor_key,
        *
    FROM eligible
),
holders AS (
    SELECT
        *,
        count(DISTINCT contributor_key) OVER (PARTITION BY country) AS country_holders,
        count(DISTINCT contributor_key) OVER (PARTITION BY age_band) AS age_band_holders,
        count(DISTINCT contributor_key) OVER (PARTITION BY education) AS education_holders,
        count(DISTINCT contributor_key) OVER (PARTITION BY profession) AS profession_holders
    FROM keyed
)
SELECT
    vote_key,
    contributor_key,
    voted_at,
    distribution,
    prompt_hash,
    model_left,
    model_right,
    winner,
    in_flow_side,
    language,
    category,
    CASE WHEN country IS NULL OR country_holders >= $k_anonymity THEN country ELSE 'other' END AS country,
    CASE WHEN age_band IS NULL OR age_band_holders >= $k_anonymity THEN age_band ELSE 'other' END AS age_band,
    CASE WHEN education IS NULL OR education_holders >= $k_anonymity THEN education ELSE 'other' END AS education,
    CASE WHEN profession IS NULL OR profession_holders >= $k_anonymity THEN profession ELSE 'other' END AS profession,
    tokens_left,
    tokens_right,
    headers_left,
    headers_right,
    lists_left,
    lists_right,
    bold_left,
    bold_right,
    latency_ms_left,
    latency_ms_right
FROM holders
ORDER BY voted_at, vote_key
