-- One row per non-blank line (or Parquet row) of every ingested vote file, canonical and arena alike.
-- Fields stay text here: typing and every rule happen in validate/votes_checked.sql, so a bad value
-- becomes a quarantine reason instead of a failed load.
-- No primary key: (source_sha256, source_row) is unique by construction. Staging numbers a file's rows once,
-- and they are inserted only in the transaction that inserts the file's ledger row, after the ledger was
-- looked up for that key (core/landing._find_read; no file can take another read's key). On DuckDB the
-- ledger's own key (landing_files.sha256) also refuses a second row and takes the rows back with it; Spark's
-- table store enforces no key, so there the lookup under the home's lock (one writer) is the guard. The raw
-- key's index cost each file's load and commit about half a second at 10M votes. Old warehouses keep it.
CREATE TABLE IF NOT EXISTS raw_votes (
    source_sha256 VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    source_kind VARCHAR NOT NULL,  -- votes | arena
    parse_error VARCHAR,           -- unparseable_line when the line is not a JSON object
    raw_line VARCHAR,              -- the original text, kept only when it could not be parsed
    vote_id VARCHAR,
    battle_id VARCHAR,
    user_id VARCHAR,
    session_id VARCHAR,
    voted_at VARCHAR,
    shown_at VARCHAR,
    exported_at VARCHAR,
    model_left VARCHAR,
    model_right VARCHAR,
    in_flow_side VARCHAR,
    winner VARCHAR,
    distribution VARCHAR,
    language VARCHAR,
    category VARCHAR,
    prompt_hash VARCHAR,
    identities_hidden VARCHAR,
    tokens_left VARCHAR,
    tokens_right VARCHAR,
    headers_left VARCHAR,
    headers_right VARCHAR,
    lists_left VARCHAR,
    lists_right VARCHAR,
    bold_left VARCHAR,
    bold_right VARCHAR,
    latency_ms_left VARCHAR,
    latency_ms_right VARCHAR,
    error_left VARCHAR,
    error_right VARCHAR,
    ip_hash VARCHAR,
    device_hash VARCHAR,
    json_types VARCHAR            -- 'field:TYPE,…' of string fields delivered as another JSON type
)
