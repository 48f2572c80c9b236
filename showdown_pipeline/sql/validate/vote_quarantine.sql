-- One row per vote record that failed validation: where it came from, the first reason, every
-- reason, and the record as delivered (raw fields, or the unparseable line) so nothing is lost.
CREATE OR REPLACE TABLE vote_quarantine AS
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
FROM votes_checked
WHERE reason IS NOT NULL
ORDER BY source_path, source_row
