-- The batch's ledger entries are validated under the rules of $fingerprint (same transaction as the rows).
INSERT INTO votes_validated_files
SELECT p.source_sha256, $fingerprint AS fingerprint FROM pending_vote_files AS p
