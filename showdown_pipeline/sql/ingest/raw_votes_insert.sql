-- Canonical vote records (DESIGN §2.1) from the lines staged by the lines_from_* statements.
-- Every field is read as text; a line that is not a JSON object keeps its text and a parse error.
INSERT INTO raw_votes
SELECT
    $sha256 AS source_sha256,
    source_row,
    'votes' AS source_kind,
    CASE WHEN NOT is_object THEN 'unparseable_line' END AS parse_error,
    CASE WHEN NOT is_object THEN line END AS raw_line,
    rec.vote_id,
    rec.battle_id,
    rec.user_id,
    rec.session_id,
    rec.voted_at,
    rec.shown_at,
    rec.exported_at,
    rec.model_left,
    rec.model_right,
    rec.in_flow_side,
    rec.winner,
    rec.distribution,
    rec.language,
    rec.category,
    rec.prompt_hash,
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
    rec.ip_hash,
    rec.device_hash
FROM (
    SELECT
        source_row,
        line,
        is_object,
        json_transform(CASE WHEN is_object THEN line END, '{"vote_id":"VARCHAR","battle_id":"VARCHAR","user_id":"VARCHAR","session_id":"VARCHAR","voted_at":"VARCHAR","shown_at":"VARCHAR","exported_at":"VARCHAR","model_left":"VARCHAR","model_right":"VARCHAR","in_flow_side":"VARCHAR","winner":"VARCHAR","distribution":"VARCHAR","language":"VARCHAR","category":"VARCHAR","prompt_hash":"VARCHAR","identities_hidden":"VARCHAR","tokens_left":"VARCHAR","tokens_right":"VARCHAR","headers_left":"VARCHAR","headers_right":"VARCHAR","lists_left":"VARCHAR","lists_right":"VARCHAR","bold_left":"VARCHAR","bold_right":"VARCHAR","latency_ms_left":"VARCHAR","latency_ms_right":"VARCHAR","error_left":"VARCHAR","error_right":"VARCHAR","ip_hash":"VARCHAR","device_hash":"VARCHAR"}') AS rec
    FROM (
        SELECT
            source_row,
            line,
            coalesce(json_valid(line), false) AND coalesce(try(json_type(line)) = 'OBJECT', false) AS is_object
        FROM landing_lines
        WHERE NOT is_blank
    )
)
ORDER BY source_row
