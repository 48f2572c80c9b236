-- One row per vote a licensee may receive as of $data_cut (the rule: core/holdout.py), keyed and
-- coarsened, with its quasi-identifiers still at full detail (k-anonymity recodes them next, in
-- licensed_votes.sql): counted (votes_counted: valid, deduplicated, not excluded by integrity), dated,
-- cast before the cut; no live vote cast after $holdout_cutoff; no vote whose prompt occurs among live
-- votes of the window ($holdout_cutoff, $data_cut). Pseudonyms are HMAC-SHA256 under the licensee's key
-- ($inner_key/$outer_key are its padded forms); the upstream prompt_hash leaves only keyed, as prompt_key.
-- Precision (EXPORT_PRECISION): the UTC date, counts to 2 significant digits, loading times to 100 ms.
CREATE OR REPLACE TEMP TABLE licensed_candidates AS
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
)
SELECT
    lower(sha256($outer_key || unhex(sha256($inner_key || encode('vote:' || vote_id))))) AS vote_key,
    lower(sha256($outer_key || unhex(sha256($inner_key || encode('contributor:' || user_id))))) AS contributor_key,
    CASE WHEN prompt_hash IS NOT NULL
        THEN lower(sha256($outer_key || unhex(sha256($inner_key || encode('prompt:' || prompt_hash)))))
    END AS prompt_key,
    CAST(timezone('UTC', voted_at) AS DATE) AS voted_on,
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
