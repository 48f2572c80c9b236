-- Has this content been seen before? (status, rows_in, error) of the ledger row, if any.
SELECT status, rows_in, error FROM landing_files WHERE sha256 = $sha256
