-- Canonical vote records (DESIGN §2.1) from the lines staged by the lines_from_* statements.
-- Every field is read as text; a line that is not a JSON object keeps its text and a parse error.
-- The fields the contract spells as strings (vote_schema.STRING_FIELDS: ids, model ids, enumerations,
-- category, hashes) are read as JSON first, so that json_types records each one delivered as another JSON
-- type ('prompt_hash:UBIGINT': a number, e.g. from a Parquet integer column, whose decimal text is not
-- the hash's spelling); validation decides what each type means. A string is read unescaped.
-- No ORDER BY: rows are inserted in file order as read, and a sort held every row in memory (20 million
-- `{}` records took 13 GB; bench/bench_ingest_limits.py).
INSERT INTO raw_votes
SELECT
    source_sha256,
    source_row,
    'votes' AS source_kind,
    CASE WHEN NOT is_object THEN 'unparseable_line' END AS parse_error,
    CASE WHEN NOT is_object THEN line END AS raw_line,
    CASE WHEN starts_with(rec.vote_id, '"') THEN json_extract_string(rec.vote_id, '$') ELSE rec.vote_id::VARCHAR END AS vote_id,
    CASE WHEN starts_with(rec.battle_id, '"') THEN json_extract_string(rec.battle_id, '$') ELSE rec.battle_id::VARCHAR END AS battle_id,
    CASE WHEN starts_with(rec.user_id, '"') THEN json_extract_string(rec.user_id, '$') ELSE rec.user_id::VARCHAR END AS user_id,
    CASE WHEN starts_with(rec.session_id, '"') THEN json_extract_string(rec.session_id, '$') ELSE rec.session_id::VARCHAR END AS session_id,
    rec.voted_at,
    rec.shown_at,
    rec.exported_at,
    CASE WHEN starts_with(rec.model_left, '"') THEN json_extract_string(rec.model_left, '$') ELSE rec.model_left::VARCHAR END AS model_left,
    CASE WHEN starts_with(rec.model_right, '"') THEN json_extract_string(rec.model_right, '$') ELSE rec.model_right::VARCHAR END AS model_right,
    CASE WHEN starts_with(rec.in_flow_side, '"') THEN json_extract_string(rec.in_flow_side, '$') ELSE rec.in_flow_side::VARCHAR END AS in_flow_side,
    CASE WHEN starts_with(rec.winner, '"') THEN json_extract_string(rec.winner, '$') ELSE rec.winner::VARCHAR END AS winner,
    CASE WHEN starts_with(rec.distribution, '"') THEN json_extract_string(rec.distribution, '$') ELSE rec.distribution::VARCHAR END AS distribution,
    CASE WHEN starts_with(rec.language, '"') THEN json_extract_string(rec.language, '$') ELSE rec.language::VARCHAR END AS language,
    CASE WHEN starts_with(rec.category, '"') THEN json_extract_string(rec.category, '$') ELSE rec.category::VARCHAR END AS category,
    CASE WHEN starts_with(rec.prompt_hash, '"') THEN json_extract_string(rec.prompt_hash, '$') ELSE rec.prompt_hash::VARCHAR END AS prompt_hash,
    rec.identities_hidden,
    rec.tokens_left,
    rec.tokens_right,
    rec.headers_left,
    rec.headers_right,
    rec.lists_left,
    rec.lists_right,
    rec.bold_left,
    rec.bold_right,
    rec.latency_ms_left,
    rec.latency_ms_right,
    rec.error_left,
    rec.error_right,
    CASE WHEN starts_with(rec.ip_hash, '"') THEN json_extract_string(rec.ip_hash, '$') ELSE rec.ip_hash::VARCHAR END AS ip_hash,
    CASE WHEN starts_with(rec.device_hash, '"') THEN json_extract_string(rec.device_hash, '$') ELSE rec.device_hash::VARCHAR END AS device_hash,
    nullif(concat_ws(
        ',',
        CASE WHEN NOT starts_with(rec.vote_id, '"') THEN 'vote_id:' || json_type(rec.vote_id) END,
        CASE WHEN NOT starts_with(rec.battle_id, '"') THEN 'battle_id:' || json_type(rec.battle_id) END,
        CASE WHEN NOT starts_with(rec.user_id, '"') THEN 'user_id:' || json_type(rec.user_id) END,
        CASE WHEN NOT starts_with(rec.session_id, '"') THEN 'session_id:' || json_type(rec.session_id) END,
        CASE WHEN NOT starts_with(rec.model_left, '"') THEN 'model_left:' || json_type(rec.model_left) END,
        CASE WHEN NOT starts_with(rec.model_right, '"') THEN 'model_right:' || json_type(rec.model_right) END,
        CASE WHEN NOT starts_with(rec.in_flow_side, '"') THEN 'in_flow_side:' || json_type(rec.in_flow_side) END,
        CASE WHEN NOT starts_with(rec.winner, '"') THEN 'winner:' || json_type(rec.winner) END,
        CASE WHEN NOT starts_with(rec.distribution, '"') THEN 'distribution:' || json_type(rec.distribution) END,
        CASE WHEN NOT starts_with(rec.language, '"') THEN 'language:' || json_type(rec.language) END,
        CASE WHEN NOT starts_with(rec.category, '"') THEN 'category:' || json_type(rec.category) END,
        CASE WHEN NOT starts_with(rec.prompt_hash, '"') THEN 'prompt_hash:' || json_type(rec.prompt_hash) END,
        CASE WHEN NOT starts_with(rec.ip_hash, '"') THEN 'ip_hash:' || json_type(rec.ip_hash) END,
        CASE WHEN NOT starts_with(rec.device_hash, '"') THEN 'device_hash:' || json_type(rec.device_hash) END
    ), '') AS json_types
FROM (
    SELECT
        source_sha256,
        source_row,
        line,
        is_object,
        json_transform(CASE WHEN is_object THEN line END, '{"vote_id":"JSON","battle_id":"JSON","user_id":"JSON","session_id":"JSON","voted_at":"VARCHAR","shown_at":"VARCHAR","exported_at":"VARCHAR","model_left":"JSON","model_right":"JSON","in_flow_side":"JSON","winner":"JSON","distribution":"JSON","language":"JSON","category":"JSON","prompt_hash":"JSON","identities_hidden":"VARCHAR","tokens_left":"VARCHAR","tokens_right":"VARCHAR","headers_left":"VARCHAR","headers_right":"VARCHAR","lists_left":"VARCHAR","lists_right":"VARCHAR","bold_left":"VARCHAR","bold_right":"VARCHAR","latency_ms_left":"VARCHAR","latency_ms_right":"VARCHAR","error_left":"VARCHAR","error_right":"VARCHAR","ip_hash":"JSON","device_hash":"JSON"}') AS rec
    FROM (
        SELECT
            source_sha256,
            source_row,
            line,
            coalesce(json_valid(line), FALSE) AND coalesce(try(json_type(line)) = 'OBJECT', FALSE) AS is_object
        FROM landing_lines
        WHERE NOT is_blank
    )
)
