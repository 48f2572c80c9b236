-- The records whose dedupe outcome this run decided again (dedupe_vote_stage, dedupe_user_battle_extra).
CREATE OR REPLACE TEMP TABLE dedupe_decided AS
SELECT row_key FROM dedupe_vote_stage
UNION ALL
SELECT row_key FROM dedupe_user_battle_extra
