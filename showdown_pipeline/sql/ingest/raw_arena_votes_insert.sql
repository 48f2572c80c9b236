-- LMArena / FastChat battle-log rows (DESIGN §2.4) mapped into the canonical vote fields:
-- a -> left, b -> right, and the winner label through the rule relation arena_winners
-- (core/vote_schema.ARENA_WINNERS); any other label is kept as it is so validation quarantines it as
-- invalid_winner. vote_id and battle_id derive from the
-- row's content and its position in the file, so a re-delivered log maps to the same ids.
-- A row without `judge` gets a voter of its own: one synthetic user per row invents no voter
-- behaviour for the integrity checks to find. A row without `tstamp` stays undated.
-- No ORDER BY: rows are inserted in file order as read, and a sort held every row in memory (20 million
-- `{}` records took 13 GB; bench/bench_ingest_limits.py).
INSERT INTO raw_votes
SELECT
    source_sha256,
    source_row,
    'arena' AS source_kind,
    CASE WHEN NOT is_object THEN 'unparseable_line' END AS parse_error,
    CASE WHEN NOT is_object THEN line END AS raw_line,
    row_id AS vote_id,
    row_id AS battle_id,
    CASE
        WHEN rec.judge IS NOT NULL AND trim(rec.judge) <> '' THEN 'arena:' || rec.judge
        ELSE 'arena-row:' || row_id
    END AS user_id,
    NULL AS session_id,
    -- epoch seconds become RFC 3339; a value no timestamp can hold (1e300, NaN, inf) stays as delivered,
    -- and validation quarantines it as invalid_timestamp: this insert never fails on a value
    coalesce(
        try(strftime(to_timestamp(try_cast(rec.tstamp AS DOUBLE)), '%Y-%m-%dT%H:%M:%S.%f+00:00')),
        rec.tstamp
    ) AS voted_at,
    NULL AS shown_at,
    NULL AS exported_at,
    rec.model_a AS model_left,
    rec.model_b AS model_right,
    NULL AS in_flow_side,
    coalesce(labels.winner, rec.winner) AS winner,
    'arena' AS distribution,
    rec.language AS language,
    NULL AS category,
    NULL AS prompt_hash,
    CASE lower(rec.anony) WHEN 'false' THEN 'false' WHEN 'true' THEN 'true' ELSE rec.anony END AS identities_hidden,
    NULL AS tokens_left,
    NULL AS tokens_right,
    NULL AS headers_left,
    NULL AS headers_right,
    NULL AS lists_left,
    NULL AS lists_right,
    NULL AS bold_left,
    NULL AS bold_right,
    NULL AS latency_ms_left,
    NULL AS latency_ms_right,
    NULL AS error_left,
    NULL AS error_right,
    NULL AS ip_hash,
    NULL AS device_hash,
    NULL AS json_types
FROM (
    SELECT
        source_sha256,
        source_row,
        line,
        is_object,
        'arena-' || substr(sha256(coalesce(line, '') || '#' || source_row::VARCHAR), 1, 24) AS row_id,
        json_transform(
            CASE WHEN is_object THEN line END,
            '{"model_a":"VARCHAR","model_b":"VARCHAR","winner":"VARCHAR","tstamp":"VARCHAR","judge":"VARCHAR","anony":"VARCHAR","language":"VARCHAR","question_id":"VARCHAR"}'
        ) AS rec
    FROM (
        SELECT
            source_sha256,
            source_row,
            line,
            coalesce(json_valid(line), FALSE) AND coalesce(try(json_type(line)) = 'OBJECT', FALSE) AS is_object
        FROM landing_lines
        WHERE NOT is_blank
    )
) AS parsed
LEFT JOIN arena_winners AS labels ON labels.label = parsed.rec.winner
