-- Records in this run's batch of checked votes.
SELECT count(*) AS n FROM votes_checked_batch
