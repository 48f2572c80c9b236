-- The staged lines of each file of a batch (one row per ledger key): records read, blank lines, the longest
-- line (bytes) and its row.
SELECT
    source_sha256,
    count(*) AS lines,
    count(*) FILTER (WHERE is_blank) AS blank_lines,
    max(strlen(line)) AS longest,
    arg_max(source_row, strlen(line)) AS longest_row
FROM landing_lines
GROUP BY source_sha256
