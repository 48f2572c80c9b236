-- The counted votes' columns the Great Expectations suite checks (core/expectations.SUITE_COLUMNS, in that
-- order; a test keeps the two equal), fetched alone so the whole table is not pulled into pandas, for the
-- votes written since the suite last passed (votes_clean_unchecked), one of $chunks slices at a time.
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
    AND hash(row_key) % $chunks = $chunk
