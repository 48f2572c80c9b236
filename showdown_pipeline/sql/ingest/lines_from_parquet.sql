-- Stage a Parquet file as one JSON object per row, so Parquet and JSON Lines share one parser. $path is
-- the staged byte copy's literal path (glob characters escaped), never a landing path.
CREATE OR REPLACE TEMP TABLE landing_lines AS
SELECT
    file_row_number + 1 AS source_row,
    to_json(p)::VARCHAR AS line,
    FALSE AS is_blank
FROM read_parquet($path, file_row_number = TRUE) AS p
