-- The next Parquet file of a batch of staged files (core/landing._Batch), appended to the lines of the
-- batch's first file under its own ledger key $sha256: the columns of lines_from_parquet.sql, which says how
-- `parquet_records` is read. DuckDB only: Spark loads each file alone.
INSERT INTO landing_lines
SELECT
    $sha256 AS source_sha256,
    source_row,
    coalesce(to_json(record)::VARCHAR, '{}') AS line,
    FALSE AS is_blank
FROM parquet_records
