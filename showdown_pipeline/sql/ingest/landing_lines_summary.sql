-- The staged lines of one file: records read, blank lines, the longest line (bytes) and its row.
SELECT
    count(*) AS lines,
    count(*) FILTER (WHERE is_blank) AS blank_lines,
    max(strlen(line)) AS longest,
    arg_max(source_row, strlen(line)) AS longest_row
FROM landing_lines
