-- Stage a Parquet file as one JSON object per row, so Parquet and JSON Lines share one parser. The rows come
-- from core/staging.parquet_records, registered as `parquet_records` (source_row, record): `record` is a
-- struct of the contract's fields the file holds, by their exact names, so no column of the file (one named
-- like a table alias, one differing from a field only in case) can replace or rename the record. A file
-- holding none of them gives NULL structs: the empty record {}. $sha256: the file's ledger key.
CREATE OR REPLACE TEMP TABLE landing_lines AS
SELECT
    $sha256 AS source_sha256,
    source_row,
    coalesce(to_json(record)::VARCHAR, '{}') AS line,
    FALSE AS is_blank
FROM parquet_records
