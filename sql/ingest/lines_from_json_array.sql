-- Stage a JSON array file (the FastChat battle-log layout) as one JSON object per element.
CREATE OR REPLACE TEMP TABLE landing_lines AS
SELECT
    row_number() OVER () AS source_row,
    to_json(json)::VARCHAR AS line,
    false AS is_blank
FROM read_json($path, format = 'array', records = false)
