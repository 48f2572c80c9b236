-- A night: the records votes_clean must hold afresh, or no longer hold: every record whose dedupe outcome
-- was decided again, and every counted vote of a voter whose profile changed.
CREATE OR REPLACE TEMP TABLE clean_refresh AS
SELECT row_key FROM dedupe_decided
UNION
SELECT v.row_key FROM votes_clean AS v WHERE v.user_id IN (SELECT c.user_id FROM changed_voters AS c)
