-- Every entry of the landing ledger, in delivery order: what core/data_state.py fingerprints as the state
-- of the landing zone a derived table was made from.
SELECT sha256, path, kind, status, rows_in, ingest_seq FROM landing_files ORDER BY ingest_seq, sha256
