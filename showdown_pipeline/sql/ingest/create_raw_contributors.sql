-- One row per non-blank line (or Parquet row) of every ingested contributors file (DESIGN §2.2), as text.
-- No primary key, as raw_votes (create_raw_votes.sql): the ledger's key guards a file's rows.
CREATE TABLE IF NOT EXISTS raw_contributors (
    source_sha256 VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,
    parse_error VARCHAR,
    raw_line VARCHAR,
    user_id VARCHAR,
    country VARCHAR,
    age_band VARCHAR,
    education VARCHAR,
    profession VARCHAR,
    languages VARCHAR,
    verified VARCHAR,
    verified_at VARCHAR,
    account_created_at VARCHAR
)
