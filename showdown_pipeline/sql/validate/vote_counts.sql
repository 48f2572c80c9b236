-- Vote records checked, and votes counted after validation and dedupe.
SELECT (SELECT count(*) FROM votes_checked) AS checked, (SELECT count(*) FROM votes_clean) AS clean
