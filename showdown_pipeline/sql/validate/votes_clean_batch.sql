-- One row per counted vote among clean_candidates (core/validation.py: every checked record on a full
-- build; on a night, the records whose dedupe outcome or voter profile it decided again): valid
-- (reason IS NULL) and not a duplicate, typed, with
-- the contributor's verified demographics where there is a verified record, and the winner's
-- Bradley-Terry score (the rule relation winner_scores: left 1, right 0, either tie ½) that every
-- later statement reads instead of spelling the rule out again.
CREATE OR REPLACE TABLE votes_clean_batch AS
SELECT
    v.row_key,
    v.source_sha256,
    v.source_row,
    v.source_kind,
    v.vote_id,
    v.battle_id,
    v.user_id,
    v.session_id,
    v.voted_at,
    v.shown_at,
    v.exported_at,
    v.model_left,
    v.model_right,
    v.in_flow_side,
    v.winner,
    s.score,
    v.distribution,
    v.language,
    v.category,
    v.prompt_hash,
    v.tokens_left,
    v.tokens_right,
    v.headers_left,
    v.headers_right,
    v.lists_left,
    v.lists_right,
    v.bold_left,
    v.bold_right,
    v.latency_ms_left,
    v.latency_ms_right,
    v.ip_hash,
    v.device_hash,
    p.country,
    p.age_band,
    p.education,
    p.profession
FROM clean_candidates AS v
LEFT JOIN contributor_profiles AS p ON p.user_id = v.user_id
LEFT JOIN winner_scores AS s ON s.winner = v.winner
WHERE v.reason IS NULL
    AND NOT EXISTS (SELECT 1 FROM vote_duplicates AS d WHERE d.row_key = v.row_key)
