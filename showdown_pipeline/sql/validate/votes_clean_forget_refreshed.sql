-- A night: the rows of votes_clean written again (or no longer counted) go before the batch is added.
DELETE FROM votes_clean WHERE row_key IN (SELECT r.row_key FROM clean_refresh AS r)
