-- One row per valid vote record that does not count because another record stands for it, with a
-- pointer (kept_row_key) to the record that counts. Three rules, applied in this order:
--   exact_duplicate        the same record delivered again (identical fields): the first delivery is kept;
--   superseded             the same vote_id re-exported: the latest exported_at wins, then the latest delivery;
--   duplicate_user_battle  a second vote of one user on one battle: the first vote cast is kept.
-- Kept up to date per key by core/validation.py (dedupe_*.sql): a batch recomputes the rules over every
-- record of the vote_ids it brings and of the (user_id, battle_id) those records touch, old ones included.
CREATE TABLE IF NOT EXISTS vote_duplicates (
    row_key VARCHAR NOT NULL,
    vote_id VARCHAR,
    reason VARCHAR NOT NULL,
    kept_row_key VARCHAR NOT NULL
)
