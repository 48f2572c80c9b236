-- Every published licensed export, appended once.
CREATE TABLE IF NOT EXISTS export_audit (
    licensee VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    holdout_cutoff TIMESTAMPTZ NOT NULL,
    policy_version VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR,
    note VARCHAR                    -- NULL, or how the export was audited after its publisher died
)
