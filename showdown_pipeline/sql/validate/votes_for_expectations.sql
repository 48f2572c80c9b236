-- The counted votes' columns the Great Expectations suite checks (core/expectations.SUITE_COLUMNS, in that
-- order; a test keeps the two equal), fetched alone so the whole table is not pulled into pandas, for the
-- votes written since the suite last passed (votes_clean_unchecked). Run once and streamed a slice at a time
-- (session.query_slices): a filter per slice re-read every row for each slice, which grew with the square of
-- the votes (30M votes: 30 slices, each a full pass).
SELECT
    vote_id,
    battle_id,
    user_id,
    source_kind,
    voted_at,
    model_left,
    model_right,
    winner,
    in_flow_side,
    distribution,
    language,
    prompt_hash,
    country,
    age_band,
    education,
    tokens_left,
    tokens_right,
    latency_ms_left,
    latency_ms_right
FROM votes_clean
WHERE row_key IN (SELECT u.row_key FROM votes_clean_unchecked AS u)
