-- A plain vote table for `showdown rate`, from CSV with a header.
CREATE OR REPLACE TEMP TABLE vote_table AS SELECT * FROM read_csv($path, header = true, all_varchar = true)
