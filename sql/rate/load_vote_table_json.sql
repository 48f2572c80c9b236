-- A plain vote table for `showdown rate`, from JSON Lines or a JSON array (gzip allowed).
CREATE OR REPLACE TEMP TABLE vote_table AS SELECT * FROM read_json_auto($path)
