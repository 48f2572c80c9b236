-- Record one published export.
INSERT INTO export_audit VALUES ($licensee, $as_of, $holdout_cutoff, $policy_version, $rows, $sha256, $path, now(), $run_id)
