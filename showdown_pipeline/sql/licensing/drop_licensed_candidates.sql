-- The candidates of one export (create_licensed_candidates.sql), dropped once its rows are read.
DROP TABLE IF EXISTS licensed_candidates
