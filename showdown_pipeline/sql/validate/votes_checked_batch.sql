-- One row per vote record of the files validation has not seen yet (pending_vote_files, registered by
-- core/validation.py: every vote file on a full build, the newly ingested ones on a night): typed fields and
-- every validation rule of DESIGN §2. core/validation.py adds the batch to votes_checked.
-- `reasons` lists every rule the row breaks, in the order of vote_schema.QUARANTINE_REASONS;
-- `reason` is the first of them (NULL: the row is valid); `reason_detail` names the fields involved.
-- An unknown winner is invalid and is never read as a tie. Arena rows (DESIGN §2.4) may be undated.
-- A timestamp is read only when it matches $timestamp_pattern (vote_schema.TIMESTAMP_PATTERN: a date, a
-- time of day and a real offset); a shown_at after the voted_at is invalid (negative time-to-vote).
-- Enumerated fields are never interpreted here: vote_field_map (registered by core/normalise.py for
-- this statement: field, raw, value, problem) holds the one decided value of each distinct raw value.
-- prompt_hash becomes the canonical prompt key (core/normalise.prompt_key): invisible and whitespace
-- characters ($strip_pattern) removed, lower case, a leading 0x dropped; values still non-ASCII after
-- that take the key the map gives. No cast here can fail: every one is a try_cast, and a value it
-- cannot read (NaN, inf, 1e400, a year 294247) is quarantined with its reason.
CREATE OR REPLACE TABLE votes_checked_batch AS
WITH parsed AS (
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
        CASE WHEN regexp_full_match(trim(r.voted_at), $timestamp_pattern) THEN try_cast(upper(trim(r.voted_at)) AS TIMESTAMPTZ) END AS voted_at,
        CASE WHEN regexp_full_match(trim(r.shown_at), $timestamp_pattern) THEN try_cast(upper(trim(r.shown_at)) AS TIMESTAMPTZ) END AS shown_at,
        CASE WHEN regexp_full_match(trim(r.exported_at), $timestamp_pattern) THEN try_cast(upper(trim(r.exported_at)) AS TIMESTAMPTZ) END AS exported_at,
        nullif(trim(r.model_left), '') AS model_left,
        nullif(trim(r.model_right), '') AS model_right,
        n_in_flow_side.value AS in_flow_side,
        n_winner.value AS winner,
        n_distribution.value AS distribution,
        n_language.value AS language,
        nullif(trim(r.category), '') AS category,
        CASE WHEN regexp_matches(r.prompt_stripped, '[^\x00-\x7F]')
            THEN coalesce(n_prompt.value, r.prompt_hash)  -- unmapped: the raw text, which fails the pattern
            ELSE nullif(regexp_replace(lower(r.prompt_stripped), '^0x', ''), '')
        END AS prompt_hash,
        n_identities_hidden.value = 'true' AS identities_hidden,
        CASE WHEN r.tokens_left <> '' AND ltrim(r.tokens_left, '0123456789') = '' THEN try_cast(r.tokens_left AS DOUBLE)
            ELSE try_cast(regexp_extract(trim(r.tokens_left), $count_pattern) AS DOUBLE) END AS tokens_left,
        CASE WHEN r.tokens_right <> '' AND ltrim(r.tokens_right, '0123456789') = '' THEN try_cast(r.tokens_right AS DOUBLE)
            ELSE try_cast(regexp_extract(trim(r.tokens_right), $count_pattern) AS DOUBLE) END AS tokens_right,
        CASE WHEN r.headers_left <> '' AND ltrim(r.headers_left, '0123456789') = '' THEN try_cast(r.headers_left AS DOUBLE)
            ELSE try_cast(regexp_extract(trim(r.headers_left), $count_pattern) AS DOUBLE) END AS headers_left,
        CASE WHEN r.headers_right <> '' AND ltrim(r.headers_right, '0123456789') = '' THEN try_cast(r.headers_right AS DOUBLE)
            ELSE try_cast(regexp_extract(trim(r.headers_right), $count_pattern) AS DOUBLE) END AS headers_right,
        CASE WHEN r.lists_left <> '' AND ltrim(r.lists_left, '0123456789') = '' THEN try_cast(r.lists_left AS DOUBLE)
            ELSE try_cast(regexp_extract(trim(r.lists_left), $count_pattern) AS DOUBLE) END AS lists_left,
        CASE WHEN r.lists_right <> '' AND ltrim(r.lists_right, '0123456789') = '' THEN try_cast(r.lists_right AS DOUBLE)
            ELSE try_cast(regexp_extract(trim(r.lists_right), $count_pattern) AS DOUBLE) END AS lists_right,
        CASE WHEN r.bold_left <> '' AND ltrim(r.bold_left, '0123456789') = '' THEN try_cast(r.bold_left AS DOUBLE)
            ELSE try_cast(regexp_extract(trim(r.bold_left), $count_pattern) AS DOUBLE) END AS bold_left,
        CASE WHEN r.bold_right <> '' AND ltrim(r.bold_right, '0123456789') = '' THEN try_cast(r.bold_right AS DOUBLE)
            ELSE try_cast(regexp_extract(trim(r.bold_right), $count_pattern) AS DOUBLE) END AS bold_right,
        CASE WHEN r.latency_ms_left <> '' AND ltrim(r.latency_ms_left, '0123456789') = '' THEN try_cast(r.latency_ms_left AS DOUBLE)
            ELSE try_cast(regexp_extract(trim(r.latency_ms_left), $count_pattern) AS DOUBLE) END AS latency_ms_left,
        CASE WHEN r.latency_ms_right <> '' AND ltrim(r.latency_ms_right, '0123456789') = '' THEN try_cast(r.latency_ms_right AS DOUBLE)
            ELSE try_cast(regexp_extract(trim(r.latency_ms_right), $count_pattern) AS DOUBLE) END AS latency_ms_right,
        n_error_left.value = 'true' AS error_left,
        n_error_right.value = 'true' AS error_right,
        nullif(trim(r.ip_hash), '') AS ip_hash,
        nullif(trim(r.device_hash), '') AS device_hash,
        -- a raw value the map does not know is invalid, never silently absent
        list_filter([
                CASE WHEN n_in_flow_side.field IS NULL OR n_in_flow_side.problem IS NOT NULL THEN 'in_flow_side' END,
                CASE WHEN n_distribution.field IS NULL OR n_distribution.problem IS NOT NULL THEN 'distribution' END,
                CASE WHEN n_language.field IS NULL OR n_language.problem IS NOT NULL THEN 'language' END,
                CASE WHEN n_identities_hidden.field IS NULL OR n_identities_hidden.problem IS NOT NULL THEN 'identities_hidden' END,
                CASE WHEN n_error_left.field IS NULL OR n_error_left.problem IS NOT NULL THEN 'error_left' END,
                CASE WHEN n_error_right.field IS NULL OR n_error_right.problem IS NOT NULL THEN 'error_right' END
            ], LAMBDA x: x IS NOT NULL) AS mapped_invalid,
        n_winner.field IS NULL OR n_winner.problem IS NOT NULL AS winner_invalid,
        -- string fields delivered as another JSON type (ingest's json_types): invalid, but integer ids
        r.json_types,
        regexp_matches(
            concat(r.vote_id, r.battle_id, r.user_id, r.session_id, r.ip_hash, r.device_hash),
            $control_pattern
        ) AS any_control,
        list_transform(
            list_filter(string_split(coalesce(r.json_types, ''), ','), LAMBDA t: t <> '' AND NOT (
                list_contains($integer_id_fields, split_part(t, ':', 1))
                AND list_contains($json_integer_types, split_part(t, ':', 2))
            )),
            LAMBDA t: split_part(t, ':', 1)
        ) AS type_invalid
    FROM (
        SELECT *, regexp_replace(coalesce(prompt_hash, ''), $strip_pattern, '', 'g') AS prompt_stripped FROM raw_votes
        WHERE source_sha256 IN (SELECT p.source_sha256 FROM pending_vote_files AS p)
    ) AS r
    JOIN landing_files AS f ON f.sha256 = r.source_sha256
    LEFT JOIN vote_field_map AS n_winner ON n_winner.field = 'winner' AND n_winner.raw = coalesce(r.winner, '')
    LEFT JOIN vote_field_map AS n_in_flow_side
        ON n_in_flow_side.field = 'in_flow_side' AND n_in_flow_side.raw = coalesce(r.in_flow_side, '')
    LEFT JOIN vote_field_map AS n_distribution
        ON n_distribution.field = 'distribution' AND n_distribution.raw = coalesce(r.distribution, '')
    LEFT JOIN vote_field_map AS n_language ON n_language.field = 'language' AND n_language.raw = coalesce(r.language, '')
    LEFT JOIN vote_field_map AS n_identities_hidden
        ON n_identities_hidden.field = 'identities_hidden' AND n_identities_hidden.raw = coalesce(r.identities_hidden, '')
    LEFT JOIN vote_field_map AS n_error_left ON n_error_left.field = 'error_left' AND n_error_left.raw = coalesce(r.error_left, '')
    LEFT JOIN vote_field_map AS n_error_right ON n_error_right.field = 'error_right' AND n_error_right.raw = coalesce(r.error_right, '')
    LEFT JOIN vote_field_map AS n_prompt ON n_prompt.field = 'prompt_hash' AND n_prompt.raw = r.prompt_hash
),
-- (A count of plain digits, the usual case, skips the pattern: it matches such text whole, so the value is
-- the same; a regular expression per field and row was most of this statement's time at 10M votes.)
-- Readable is not enough: timestamps outside [$earliest, $latest) and counts that are not integers
-- in [0, $max_count] are unreadable. NaN sorts above every number, so BETWEEN rejects it too.
typed AS (
    SELECT
        * REPLACE (
            CASE WHEN voted_at >= $earliest AND voted_at < $latest THEN voted_at END AS voted_at,
            CASE WHEN shown_at >= $earliest AND shown_at < $latest THEN shown_at END AS shown_at,
            CASE WHEN exported_at >= $earliest AND exported_at < $latest THEN exported_at END AS exported_at,
            CASE WHEN tokens_left BETWEEN 0 AND $max_count AND tokens_left = floor(tokens_left) THEN try_cast(tokens_left AS BIGINT) END AS tokens_left,
            CASE WHEN tokens_right BETWEEN 0 AND $max_count AND tokens_right = floor(tokens_right) THEN try_cast(tokens_right AS BIGINT) END AS tokens_right,
            CASE WHEN headers_left BETWEEN 0 AND $max_count AND headers_left = floor(headers_left) THEN try_cast(headers_left AS BIGINT) END AS headers_left,
            CASE WHEN headers_right BETWEEN 0 AND $max_count AND headers_right = floor(headers_right) THEN try_cast(headers_right AS BIGINT) END AS headers_right,
            CASE WHEN lists_left BETWEEN 0 AND $max_count AND lists_left = floor(lists_left) THEN try_cast(lists_left AS BIGINT) END AS lists_left,
            CASE WHEN lists_right BETWEEN 0 AND $max_count AND lists_right = floor(lists_right) THEN try_cast(lists_right AS BIGINT) END AS lists_right,
            CASE WHEN bold_left BETWEEN 0 AND $max_count AND bold_left = floor(bold_left) THEN try_cast(bold_left AS BIGINT) END AS bold_left,
            CASE WHEN bold_right BETWEEN 0 AND $max_count AND bold_right = floor(bold_right) THEN try_cast(bold_right AS BIGINT) END AS bold_right,
            CASE WHEN latency_ms_left BETWEEN 0 AND $max_count AND latency_ms_left = floor(latency_ms_left) THEN try_cast(latency_ms_left AS BIGINT) END AS latency_ms_left,
            CASE WHEN latency_ms_right BETWEEN 0 AND $max_count AND latency_ms_right = floor(latency_ms_right) THEN try_cast(latency_ms_right AS BIGINT) END AS latency_ms_right
        )
    FROM parsed
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
                CASE WHEN winner IS NULL AND NOT winner_invalid THEN 'winner' END
            ], LAMBDA x: x IS NOT NULL) AS missing_fields,
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
                CASE WHEN prompt_hash IS NOT NULL AND NOT regexp_full_match(prompt_hash, $prompt_key_pattern) THEN 'prompt_hash' END,
                CASE WHEN shown_at > voted_at THEN 'shown_at' END,  -- shown after the vote: impossible
                -- identifiers holding a control character (NUL, C0, DEL, C1): never cleaned, invalid
                -- (looked for field by field only in a row where their concatenation holds one; the model ids
                -- are checked below by the wider model-id rule, which includes control characters)
                CASE WHEN any_control AND regexp_matches(raw.vote_id, $control_pattern) THEN 'vote_id' END,
                CASE WHEN any_control AND regexp_matches(raw.battle_id, $control_pattern) THEN 'battle_id' END,
                CASE WHEN any_control AND regexp_matches(raw.user_id, $control_pattern) THEN 'user_id' END,
                CASE WHEN any_control AND regexp_matches(raw.session_id, $control_pattern) THEN 'session_id' END,
                -- a model id is printed everywhere: no invisible character or odd space either (normalise.py),
                -- read as it is counted: trimmed of ASCII spaces at its ends, like the registry's ids
                CASE WHEN regexp_matches(trim(raw.model_left), $model_id_hidden_pattern) THEN 'model_left' END,
                CASE WHEN regexp_matches(trim(raw.model_right), $model_id_hidden_pattern) THEN 'model_right' END,
                CASE WHEN any_control AND regexp_matches(raw.ip_hash, $control_pattern) THEN 'ip_hash' END,
                CASE WHEN any_control AND regexp_matches(raw.device_hash, $control_pattern) THEN 'device_hash' END
            ] || mapped_invalid, LAMBDA x: x IS NOT NULL) AS invalid_fields,
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
            CASE WHEN winner_invalid THEN 'invalid_winner' END,
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
        ], LAMBDA x: x IS NOT NULL) END AS reasons
    FROM (  -- a field named once: its JSON type is one more reason it is invalid
        SELECT * REPLACE (
            invalid_fields || list_filter(type_invalid, LAMBDA f: NOT list_contains(invalid_fields, f)) AS invalid_fields
        )
        FROM flags
    )
)
SELECT
    * EXCLUDE (
        raw, reasons, has_registry, left_registered, right_registered, outside_active_window, bad_voted_at,
        mapped_invalid, winner_invalid, type_invalid, any_control
    ),
    CASE WHEN len(reasons) > 0 THEN raw END AS raw,
    reasons,
    reasons[1] AS reason,
    CASE reasons[1]
        WHEN 'missing_required_field' THEN array_to_string(missing_fields, ',')
        WHEN 'invalid_field' THEN array_to_string(invalid_fields, ',')
        WHEN 'invalid_winner' THEN raw.winner
        WHEN 'unregistered_model' THEN array_to_string(list_filter(
            [CASE WHEN NOT left_registered THEN model_left END, CASE WHEN NOT right_registered THEN model_right END],
            LAMBDA x: x IS NOT NULL), ',')
        WHEN 'invalid_timestamp' THEN raw.voted_at
    END AS reason_detail
FROM judged
