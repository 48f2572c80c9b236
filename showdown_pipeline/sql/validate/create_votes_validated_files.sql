-- One row per vote ledger entry whose records votes_checked holds, with the fingerprint of the rules they
-- were checked under (core/validation.rules_fingerprint). A night validates only the entries missing here;
-- any entry under another fingerprint, or no longer in the ledger, makes the next run validate everything.
CREATE TABLE IF NOT EXISTS votes_validated_files (
    source_sha256 VARCHAR PRIMARY KEY,
    fingerprint VARCHAR NOT NULL
)
