-- One row per ingested vote record: typed fields and every validation rule of DESIGN §2.
-- `reasons` lists every rule the row breaks, in the order of vote_schema.QUARANTINE_REASONS;
-- `reason` is the first of them (NULL: the row is valid); `reason_detail` names the fields involved.
-- An unknown winner is invalid and is never read as a tie. Arena rows (DESIGN §2.4) may be undated.
CREATE OR REPLACE TABLE votes_checked AS
WITH typed AS (
    SELECT
        r.source_sha256,
        r.source_row,
        substr(r.source_sha256, 1, 16) || ':' || r.source_row::VARCHAR AS row_key,
        r.source_kind,
        f.path AS source_path,
        f.ingest_seq,
        r.parse_error,
        r.raw_line,
        {'vote_id': r.vote_id, 'battle_id': r.battle_id, 'user_id': r.user_id, 'session_id': r.session_id, 'voted_at': r.voted_at, 'shown_at': r.shown_at, 'exported_at': r.exported_at, 'model_left': r.model_left, 'model_right': r.model_right, 'in_flow_side': r.in_flow_side, 'winner': r.winner, 'distribution': r.distribution, 'language': r.language, 'category': r.category, 'prompt_hash': r.prompt_hash, 'identities_hidden': r.identities_hidden, 'tokens_left': r.tokens_left, 'tokens_right': r.tokens_right, 'headers_left': r.headers_left, 'headers_right': r.headers_right, 'lists_left': r.lists_left, 'lists_right': r.lists_right, 'bold_left': r.bold_left, 'bold_right': r.bold_right, 'latency_ms_left': r.latency_ms_left, 'latency_ms_right': r.latency_ms_right, 'error_left': r.error_left, 'error_right': r.error_right, 'ip_hash': r.ip_hash, 'device_hash': r.device_hash} AS raw,
        md5(to_json({'vote_id': r.vote_id, 'battle_id': r.battle_id, 'user_id': r.user_id, 'session_id': r.session_id, 'voted_at': r.voted_at, 'shown_at': r.shown_at, 'exported_at': r.exported_at, 'model_left': r.model_left, 'model_right': r.model_right, 'in_flow_side': r.in_flow_side, 'winner': r.winner, 'distribution': r.distribution, 'language': r.language, 'category': r.category, 'prompt_hash': r.prompt_hash, 'identities_hidden': r.identities_hidden, 'tokens_left': r.tokens_left, 'tokens_right': r.tokens_right, 'headers_left': r.headers_left, 'headers_right': r.headers_right, 'lists_left': r.lists_left, 'lists_right': r.lists_right, 'bold_left': r.bold_left, 'bold_right': r.bold_right, 'latency_ms_left': r.latency_ms_left, 'latency_ms_right': r.latency_ms_right, 'error_left': r.error_left, 'error_right': r.error_right, 'ip_hash': r.ip_hash, 'device_hash': r.device_hash})::VARCHAR) AS content_hash,
        nullif(trim(r.vote_id), '') AS vote_id,
        nullif(trim(r.battle_id), '') AS battle_id,
        nullif(trim(r.user_id), '') AS user_id,
        nullif(trim(r.session_id), '') AS session_id,
        CASE WHEN regexp_matches(trim(r.voted_at), '([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$') THEN try_cast(trim(r.voted_at) AS TIMESTAMPTZ) END AS voted_at,
        CASE WHEN regexp_matches(trim(r.shown_at), '([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$') THEN try_cast(trim(r.shown_at) AS TIMESTAMPTZ) END AS shown_at,
        CASE WHEN regexp_matches(trim(r.exported_at), '([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$') THEN try_cast(trim(r.exported_at) AS TIMESTAMPTZ) END AS exported_at,
        nullif(trim(r.model_left), '') AS model_left,
        nullif(trim(r.model_right), '') AS model_right,
        lower(nullif(trim(r.in_flow_side), '')) AS in_flow_side,
        lower(nullif(trim(r.winner), '')) AS winner,
        coalesce(nullif(trim(r.distribution), ''), 'live') AS distribution,
        lower(nullif(trim(r.language), '')) AS language,
        nullif(trim(r.category), '') AS category,
        nullif(trim(r.prompt_hash), '') AS prompt_hash,
        CASE WHEN coalesce(trim(r.identities_hidden), '') = '' THEN true ELSE try_cast(lower(trim(r.identities_hidden)) AS BOOLEAN) END AS identities_hidden,
        CASE WHEN try_cast(r.tokens_left AS DOUBLE) >= 0 AND try_cast(r.tokens_left AS DOUBLE) = floor(try_cast(r.tokens_left AS DOUBLE)) THEN try_cast(r.tokens_left AS DOUBLE)::BIGINT END AS tokens_left,
        CASE WHEN try_cast(r.tokens_right AS DOUBLE) >= 0 AND try_cast(r.tokens_right AS DOUBLE) = floor(try_cast(r.tokens_right AS DOUBLE)) THEN try_cast(r.tokens_right AS DOUBLE)::BIGINT END AS tokens_right,
        CASE WHEN try_cast(r.headers_left AS DOUBLE) >= 0 AND try_cast(r.headers_left AS DOUBLE) = floor(try_cast(r.headers_left AS DOUBLE)) THEN try_cast(r.headers_left AS DOUBLE)::BIGINT END AS headers_left,
        CASE WHEN try_cast(r.headers_right AS DOUBLE) >= 0 AND try_cast(r.headers_right AS DOUBLE) = floor(try_cast(r.headers_right AS DOUBLE)) THEN try_cast(r.headers_right AS DOUBLE)::BIGINT END AS headers_right,
        CASE WHEN try_cast(r.lists_left AS DOUBLE) >= 0 AND try_cast(r.lists_left AS DOUBLE) = floor(try_cast(r.lists_left AS DOUBLE)) THEN try_cast(r.lists_left AS DOUBLE)::BIGINT END AS lists_left,
        CASE WHEN try_cast(r.lists_right AS DOUBLE) >= 0 AND try_cast(r.lists_right AS DOUBLE) = floor(try_cast(r.lists_right AS DOUBLE)) THEN try_cast(r.lists_right AS DOUBLE)::BIGINT END AS lists_right,
        CASE WHEN try_cast(r.bold_left AS DOUBLE) >= 0 AND try_cast(r.bold_left AS DOUBLE) = floor(try_cast(r.bold_left AS DOUBLE)) THEN try_cast(r.bold_left AS DOUBLE)::BIGINT END AS bold_left,
        CASE WHEN try_cast(r.bold_right AS DOUBLE) >= 0 AND try_cast(r.bold_right AS DOUBLE) = floor(try_cast(r.bold_right AS DOUBLE)) THEN try_cast(r.bold_right AS DOUBLE)::BIGINT END AS bold_right,
        CASE WHEN try_cast(r.latency_ms_left AS DOUBLE) >= 0 AND try_cast(r.latency_ms_left AS DOUBLE) = floor(try_cast(r.latency_ms_left AS DOUBLE)) THEN try_cast(r.latency_ms_left AS DOUBLE)::BIGINT END AS latency_ms_left,
        CASE WHEN try_cast(r.latency_ms_right AS DOUBLE) >= 0 AND try_cast(r.latency_ms_right AS DOUBLE) = floor(try_cast(r.latency_ms_right AS DOUBLE)) THEN try_cast(r.latency_ms_right AS DOUBLE)::BIGINT END AS latency_ms_right,
        try_cast(lower(trim(r.error_left)) AS BOOLEAN) AS error_left,
        try_cast(lower(trim(r.error_right)) AS BOOLEAN) AS error_right,
        nullif(trim(r.ip_hash), '') AS ip_hash,
        nullif(trim(r.device_hash), '') AS device_hash
    FROM raw_votes AS r
    JOIN landing_files AS f ON f.sha256 = r.source_sha256
),
registry AS (
    SELECT model_id, released_at, deprecated_at FROM model_registry WHERE problem IS NULL
),
flags AS (
    SELECT
        t.*,
        (SELECT count(*) > 0 FROM model_registry) AS has_registry,
        list_filter([
                CASE WHEN vote_id IS NULL THEN 'vote_id' END,
                CASE WHEN battle_id IS NULL THEN 'battle_id' END,
                CASE WHEN user_id IS NULL THEN 'user_id' END,
                CASE WHEN coalesce(trim(raw.voted_at), '') = '' AND source_kind <> 'arena' THEN 'voted_at' END,
                CASE WHEN model_left IS NULL THEN 'model_left' END,
                CASE WHEN model_right IS NULL THEN 'model_right' END,
                CASE WHEN winner IS NULL THEN 'winner' END
            ], lambda x: x IS NOT NULL) AS missing_fields,
        list_filter([
                CASE WHEN raw.shown_at IS NOT NULL AND trim(raw.shown_at) <> '' AND shown_at IS NULL THEN 'shown_at' END,
                CASE WHEN raw.exported_at IS NOT NULL AND trim(raw.exported_at) <> '' AND exported_at IS NULL THEN 'exported_at' END,
                CASE WHEN raw.tokens_left IS NOT NULL AND trim(raw.tokens_left) <> '' AND tokens_left IS NULL THEN 'tokens_left' END,
                CASE WHEN raw.tokens_right IS NOT NULL AND trim(raw.tokens_right) <> '' AND tokens_right IS NULL THEN 'tokens_right' END,
                CASE WHEN raw.headers_left IS NOT NULL AND trim(raw.headers_left) <> '' AND headers_left IS NULL THEN 'headers_left' END,
                CASE WHEN raw.headers_right IS NOT NULL AND trim(raw.headers_right) <> '' AND headers_right IS NULL THEN 'headers_right' END,
                CASE WHEN raw.lists_left IS NOT NULL AND trim(raw.lists_left) <> '' AND lists_left IS NULL THEN 'lists_left' END,
                CASE WHEN raw.lists_right IS NOT NULL AND trim(raw.lists_right) <> '' AND lists_right IS NULL THEN 'lists_right' END,
                CASE WHEN raw.bold_left IS NOT NULL AND trim(raw.bold_left) <> '' AND bold_left IS NULL THEN 'bold_left' END,
                CASE WHEN raw.bold_right IS NOT NULL AND trim(raw.bold_right) <> '' AND bold_right IS NULL THEN 'bold_right' END,
                CASE WHEN raw.latency_ms_left IS NOT NULL AND trim(raw.latency_ms_left) <> '' AND latency_ms_left IS NULL THEN 'latency_ms_left' END,
                CASE WHEN raw.latency_ms_right IS NOT NULL AND trim(raw.latency_ms_right) <> '' AND latency_ms_right IS NULL THEN 'latency_ms_right' END,
                CASE WHEN raw.error_left IS NOT NULL AND trim(raw.error_left) <> '' AND error_left IS NULL THEN 'error_left' END,
                CASE WHEN raw.error_right IS NOT NULL AND trim(raw.error_right) <> '' AND error_right IS NULL THEN 'error_right' END,
                CASE WHEN raw.identities_hidden IS NOT NULL AND try_cast(lower(trim(raw.identities_hidden)) AS BOOLEAN) IS NULL THEN 'identities_hidden' END,
                CASE WHEN in_flow_side IS NOT NULL AND in_flow_side NOT IN ('left', 'right') THEN 'in_flow_side' END
            ], lambda x: x IS NOT NULL) AS invalid_fields,
        (raw.voted_at IS NOT NULL AND trim(raw.voted_at) <> '' AND voted_at IS NULL) AS bad_voted_at,
        rl.model_id IS NOT NULL AS left_registered,
        rr.model_id IS NOT NULL AS right_registered,
        (voted_at IS NOT NULL AND (
            voted_at < rl.released_at OR voted_at >= rl.deprecated_at
            OR voted_at < rr.released_at OR voted_at >= rr.deprecated_at
        )) AS outside_active_window
    FROM typed AS t
    LEFT JOIN registry AS rl ON rl.model_id = t.model_left
    LEFT JOIN registry AS rr ON rr.model_id = t.model_right
),
judged AS (
    SELECT
        *,
        CASE WHEN parse_error IS NOT NULL THEN ['unparseable_line'] ELSE list_filter([
            CASE WHEN len(missing_fields) > 0 THEN 'missing_required_field' END,
            CASE WHEN bad_voted_at THEN 'invalid_timestamp' END,
            CASE WHEN winner IS NOT NULL AND winner NOT IN ('left', 'right', 'both_good', 'both_bad')
                THEN 'invalid_winner' END,
            CASE WHEN model_left = model_right THEN 'same_model_both_sides' END,
            CASE WHEN has_registry AND (
                    (model_left IS NOT NULL AND NOT left_registered)
                    OR (model_right IS NOT NULL AND NOT right_registered)
                ) THEN 'unregistered_model' END,
            CASE WHEN has_registry AND outside_active_window THEN 'model_not_active' END,
            CASE WHEN exported_at IS NOT NULL AND voted_at > exported_at THEN 'voted_after_export' END,
            CASE WHEN NOT identities_hidden THEN 'identities_visible' END,
            CASE WHEN error_left OR error_right THEN 'response_error' END,
            CASE WHEN len(invalid_fields) > 0 THEN 'invalid_field' END
        ], lambda x: x IS NOT NULL) END AS reasons
    FROM flags
)
SELECT
    * EXCLUDE (raw, reasons, has_registry, left_registered, right_registered, outside_active_window, bad_voted_at),
    CASE WHEN len(reasons) > 0 THEN raw END AS raw,
    reasons,
    reasons[1] AS reason,
    CASE reasons[1]
        WHEN 'missing_required_field' THEN array_to_string(missing_fields, ',')
        WHEN 'invalid_field' THEN array_to_string(invalid_fields, ',')
        WHEN 'invalid_winner' THEN winner
        WHEN 'unregistered_model' THEN array_to_string(list_filter(
            [CASE WHEN NOT left_registered THEN model_left END, CASE WHEN NOT right_registered THEN model_right END],
            lambda x: x IS NOT NULL), ',')
        WHEN 'invalid_timestamp' THEN raw.voted_at
    END AS reason_detail
FROM judged
