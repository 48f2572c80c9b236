-- One row per line of every ingested models.csv (DESIGN §2.3), as text.
-- No primary key, as raw_votes (create_raw_votes.sql): the ledger's key guards a file's rows.
CREATE TABLE IF NOT EXISTS raw_models (
    source_sha256 VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    model_id VARCHAR,
    display_name VARCHAR,
    provider VARCHAR,
    released_at VARCHAR,
    deprecated_at VARCHAR,
    pre_release VARCHAR  -- optional column (vote_schema.MODEL_OPTIONAL_FIELDS)
)
