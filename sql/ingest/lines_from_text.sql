-- Stage the physical lines of a JSON Lines file (plain or gzip). Each line is one text value: the
-- delimiter is the ASCII unit separator, which valid JSON never contains unescaped. A truncated
-- gzip or invalid UTF-8 raises, and the caller rejects the whole file.
CREATE OR REPLACE TEMP TABLE landing_lines AS
SELECT
    row_number() OVER () AS source_row,
    line,
    line IS NULL OR trim(line) = '' AS is_blank
FROM read_csv(
    $path,
    columns = {'line': 'VARCHAR'},
    header = false,
    delim = $delimiter,
    quote = '',
    escape = '',
    auto_detect = false,
    compression = 'auto',
    new_line = '\n'
)
