-- Votes that count on the boards (the integrity assets' row count).
SELECT count(*) AS votes FROM votes_counted
