-- Drop an earlier rejection of these bytes (a limit since raised): runs in the transaction that ingests
-- them, so the ledger never lacks the file. An ingested row is never removed.
DELETE FROM landing_files WHERE sha256 = $sha256 AND status = 'rejected'
