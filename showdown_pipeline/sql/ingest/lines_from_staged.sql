-- Stage the records of a JSON Lines file or a JSON array, split by core/staging.py into a Parquet copy
-- (source_row, line): physical lines (CRLF and a BOM removed) or array elements as delivered, under the
-- file's ledger key $sha256. $path is that copy's literal path (glob characters escaped), never a landing
-- path. The first file of a batch; lines_from_staged_add.sql appends the others (core/landing._Batch).
CREATE OR REPLACE TEMP TABLE landing_lines AS
SELECT
    $sha256 AS source_sha256,
    source_row,
    line,
    -- blank: empty or spaces only; the first character decides most lines without a trim (3x faster)
    CASE WHEN line IS NULL OR line = '' THEN TRUE WHEN NOT starts_with(line, ' ') THEN FALSE ELSE trim(line) = '' END
        AS is_blank
FROM read_parquet($path)
