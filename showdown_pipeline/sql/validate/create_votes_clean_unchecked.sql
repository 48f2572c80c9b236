-- One row per counted vote written since the Great Expectations suite last passed (row_key): the rows
-- votes_clean_passes_expectations checks; it empties the table when the suite passes on them.
CREATE TABLE IF NOT EXISTS votes_clean_unchecked (row_key VARCHAR NOT NULL)
