-- A night: the batch's checked records join votes_checked (the batch stays for the dedupe's keys).
INSERT INTO votes_checked BY NAME SELECT * FROM votes_checked_batch
