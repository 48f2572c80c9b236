-- A sample of quarantined records (file, row, reason, detail) for the UI.
SELECT source_path, source_row, reason, reason_detail FROM vote_quarantine ORDER BY source_path, source_row LIMIT 20
