-- Every counted vote waiting for the suite has passed it (or a full rebuild re-adds them all).
DELETE FROM votes_clean_unchecked
