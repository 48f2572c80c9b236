-- The staged lines of the file just loaded (lines_from_staged.sql / lines_from_parquet.sql), dropped once its
-- rows are in the raw table, and on every ingest start (a killed run may have left them).
DROP TABLE IF EXISTS temp.landing_lines
