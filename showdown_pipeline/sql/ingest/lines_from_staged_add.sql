-- The next file of a batch of staged files (core/landing._Batch), appended to the lines of the first
-- (lines_from_staged.sql, whose columns these are) under its own ledger key $sha256. DuckDB only: Spark
-- loads each file alone.
INSERT INTO landing_lines
SELECT
    $sha256 AS source_sha256,
    source_row,
    line,
    CASE WHEN line IS NULL OR line = '' THEN TRUE WHEN NOT starts_with(line, ' ') THEN FALSE ELSE trim(line) = '' END
        AS is_blank
FROM read_parquet($path)
