-- The integrity summary (one row, JSON) of the run that last made votes_counted: read by ratings and publish.
SELECT summary FROM integrity_summary
