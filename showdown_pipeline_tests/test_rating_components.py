"""A comparison graph in two parts through the pipeline: every model published, each part on its own
scale, labelled in the leaderboard, the manifest and `showdown show`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from showdown_pipeline import cli
from showdown_pipeline.core import boards
from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline.core.snapshots import SCHEMA_VERSION, latest_snapshot
from showdown_pipeline_tests.conftest import materialization_metadata, materialize_pipeline
from showdown_pipeline_tests.real_subsets import GROUP_A, GROUP_B, two_group_arena_log


def test_pipeline_publishes_both_groups_of_real_arena_votes_on_their_own_scales(
    real_fixtures, tmp_path, capsys
):
    """Before: the six models of the group without the anchor were absent from the snapshot and only a
    log line said so."""
    landing, home = tmp_path / "landing", tmp_path / "home"
    (landing / "arena").mkdir(parents=True)
    two_group_arena_log(real_fixtures / "arena_2023_human_votes.jsonl", landing / "arena" / "battles.jsonl")
    result = materialize_pipeline(landing, home, as_of="2026-01-01", anchor="alpaca-13b")
    assert result.success
    assert materialization_metadata(result, "overall_ratings")["components"] == 2

    snapshot = latest_snapshot(home / "snapshots")
    board = snapshot.leaderboard()
    overall = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")].set_index("model_id")
    assert set(overall.index) == set(GROUP_A) | set(GROUP_B)
    assert set(overall.loc[list(GROUP_B), "component"]) == {2}
    assert set(overall.loc[list(GROUP_B), "component_anchor"]) == {"vicuna-7b"}
    assert overall.loc[list(GROUP_B), "provisional_reason"].str.contains("not connected to the anchor").all()
    assert ((overall["ci_lower"] <= overall["rating"]) & (overall["rating"] <= overall["ci_upper"])).all()
    # the rows of one component are contiguous, the anchor's first: no consumer interleaves the scales
    assert list(board.loc[board["segment_dim"] == "overall", "component"]) == sorted(overall["component"])

    manifest = snapshot.manifest
    assert manifest["schema_version"] == SCHEMA_VERSION == 6
    parts = manifest["parameters"]["components"]
    assert [(p["component"], p["anchor"], sorted(p["models"])) for p in parts] == [
        (1, "alpaca-13b", sorted(GROUP_A)),
        (2, "vicuna-7b", sorted(GROUP_B)),
    ]
    assert manifest["parameters"]["unrated_models"] == {}
    assert manifest["parameters"]["prior"]["precision"] > 0

    assert cli.main(["show", "--home", str(home)]) == 0
    printed = capsys.readouterr().out
    main, _, rest = printed.partition("component 2:")
    assert "main board (component 1, anchor alpaca-13b = 1000)" in main
    assert "NOT comparable with the main board" in rest
    assert all(m in rest for m in GROUP_B) and not any(m in main for m in GROUP_B)

    # the report: the main table holds the anchor's part only; the other part has its own labelled block
    html = (snapshot.path / "index.html").read_text(encoding="utf-8")
    main_table = html.split('id="overall-table"', 1)[1].split("</table>", 1)[0]
    assert all(m in main_table for m in GROUP_A) and not any(m in main_table for m in GROUP_B)
    part = html.split('id="part-2"', 1)[1].split("</section>", 1)[0]
    assert "pinned: vicuna-7b" in part and all(m in part for m in GROUP_B)
    assert "Models not connected to alpaca-13b" in html


def test_segment_rows_keep_their_overall_component_and_rank_within_it():
    """A segment's votes never link two overall components, so each model is shrunk towards its overall
    rating on its own component's scale, and ranks never compare two scales."""
    rng = np.random.default_rng(3)
    rows = []
    for group, strength in (("p", [0.6, 0.0, -0.6]), ("q", [2.0, 1.5, 1.0])):
        for _ in range(1200):
            i, j = rng.choice(3, 2, replace=False)
            win = rng.random() < 1 / (1 + np.exp(-(strength[i] - strength[j])))
            rows.append((rng.choice(["x", "y"]), f"{group}{i}", f"{group}{j}", "left" if win else "right"))
    votes = pd.DataFrame(rows, columns=["segment_value", "model_left", "model_right", "winner"])
    cells = votes.value_counts().reset_index(name="n")
    overall_cells = cells.groupby(["model_left", "model_right", "winner"], as_index=False)["n"].sum()
    models = sorted(set(votes["model_left"]))
    stats = pd.DataFrame({"model_id": models, "votes": 800, "users": 400, "top_user_share": 0.01})
    overall = boards.build_board(overall_cells, stats, "p0", 1000.0)
    per_model = pd.concat([overall_cells.groupby(c)["n"].sum() for c in ("model_left", "model_right")])
    q_anchor = per_model.groupby(level=0).sum()[["q0", "q1", "q2"]].idxmax()  # most votes in its part
    assert set(overall.frame.loc[overall.frame["component"] == 2, "component_anchor"]) == {q_anchor}

    seg_stats = pd.concat([stats.assign(segment_value=v) for v in ("x", "y")], ignore_index=True)
    frame = boards.build_segment_boards(cells, seg_stats, overall, "country", 0.2)
    assert len(frame) == 12
    for _, rows_ in frame.groupby("segment_value"):
        by_model = rows_.set_index("model_id")
        assert list(by_model["component"]) == sorted(by_model["component"])
        assert set(by_model.loc[["q0", "q1", "q2"], "component_anchor"]) == {q_anchor}
        assert set(by_model.loc[["p0", "p1", "p2"], "component"]) == {1}
        # the best of each part ranks 1 in its own block (ranked together, the q part's scale, set by
        # its own anchor, would decide who is "first")
        assert by_model.loc["p0", "rank"] == 1 and by_model.loc["q0", "rank"] == 1
        assert by_model.loc["p2", "rank"] > 1 and by_model.loc["q2", "rank"] > 1


def test_a_model_compared_only_with_itself_is_listed_not_rated_and_cannot_anchor():
    """Cells of a model against itself (a careless caller; validation quarantines such votes) form a
    component of one: nothing to rate it against. It is named with the reason, never silently
    dropped, and as the anchor it is a clear error rather than a board on someone else's scale."""
    cells = pd.DataFrame(
        {
            "model_left": ["a", "b", "z"],
            "model_right": ["b", "a", "z"],
            "winner": ["left"] * 3,
            "n": [3, 2, 4],
        }
    )
    stats = pd.DataFrame({"model_id": ["a", "b", "z"], "votes": 5, "users": 5, "top_user_share": 0.0})
    board = boards.build_board(cells, stats, "a", 1000.0)
    assert list(board.frame["model_id"]) == ["a", "b"]
    assert board.unrated == {"z": "compared only with itself: nothing to rate it against"}
    with pytest.raises(bt.RatingError, match="'z' was never compared with another model"):
        boards.build_board(cells, stats, "z", 1000.0)
