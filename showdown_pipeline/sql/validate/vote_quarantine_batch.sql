-- One row per vote record of this batch (votes_checked_batch) that failed validation: where it came from, the first reason, every
-- reason, and the record as delivered (raw fields, or the unparseable line) so nothing is lost.
CREATE OR REPLACE TABLE vote_quarantine_batch AS
SELECT
    row_key,
    source_path,
    source_sha256,
    source_row,
    source_kind,
    vote_id,
    reason,
    reason_detail,
    reasons,
    coalesce(raw_line, to_json(raw)::VARCHAR) AS record
FROM votes_checked_batch
WHERE reason IS NOT NULL
ORDER BY source_path, source_row
