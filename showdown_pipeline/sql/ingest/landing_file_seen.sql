-- A models.csv the ledger knows was found in the landing zone again: it becomes the latest sighting, so the
-- registry in force is the one the landing zone holds now (validate/registry_files.sql orders by it), even
-- when its bytes were delivered before (a revert). Its own counter: ingest_seq stays the delivery order.
UPDATE landing_files
SET seen_seq = (SELECT coalesce(max(seen_seq), 0) + 1 FROM landing_files)
WHERE sha256 = $sha256
