-- A night: the batch is in votes_checked and its vote_ids in dedupe_input; it goes.
DROP TABLE votes_checked_batch
