-- Is this ledger key known? (status, rows_in, error) of its row, if any (entries rejected unread).
SELECT status, rows_in, error FROM landing_files WHERE sha256 = $sha256
