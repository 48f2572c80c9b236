-- Model ids of votes_table_canonical that would print as another model's name (a control or invisible
-- character, a space other than ASCII's, or an ASCII space at an end or in a run: $model_id_hidden_pattern,
-- core/normalise.py, the rule the pipeline's validation applies). `showdown rate` refuses the table naming them.
SELECT DISTINCT m AS model_id
FROM (
    SELECT model_left AS m FROM votes_table_canonical
    UNION ALL
    SELECT model_right FROM votes_table_canonical
)
WHERE regexp_matches(m, $model_id_hidden_pattern)
ORDER BY m
LIMIT 5
