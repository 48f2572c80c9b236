"""One place for each rule (issue 13): the tie score, the arena labels, the leaderboard schema, the
Config defaults, the anchor default and the exports path are each defined once, and everything else
derives from that one definition."""

from __future__ import annotations

from showdown_pipeline.core import vote_schema
from showdown_pipeline.core.warehouse import duckdb_session


def test_every_session_reads_the_winner_score_and_arena_labels_from_the_vocabulary():
    """SQL reads the tie score and the arena labels as relations built from `core/vote_schema.py`: the
    Python rule and the SQL rule cannot drift apart, because there is only one."""
    with duckdb_session(":memory:") as session:
        scores = session.read_table("winner_scores").to_pylist()
        labels = session.read_table("arena_winners").to_pylist()
    assert {r["winner"]: r["score"] for r in scores} == vote_schema.WINNER_SCORE
    assert {r["label"]: r["winner"] for r in labels} == vote_schema.ARENA_WINNERS
