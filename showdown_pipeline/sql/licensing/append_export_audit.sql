-- Record one published export ($note: NULL when audited as it was published, else how it was audited).
INSERT INTO export_audit (licensee, as_of, holdout_cutoff, policy_version, rows, sha256, path, published_at, run_id, note)
VALUES ($licensee, $as_of, $holdout_cutoff, $policy_version, $rows, $sha256, $path, now(), $run_id, $note)
