-- A plain vote table for `showdown rate`, from Parquet.
CREATE OR REPLACE TEMP TABLE vote_table AS SELECT * FROM read_parquet($path)
