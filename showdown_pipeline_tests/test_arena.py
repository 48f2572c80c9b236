"""LMArena / FastChat battle logs (DESIGN §2.4) through the whole pipeline, on real public votes."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from showdown_pipeline.core.snapshots import latest_snapshot
from showdown_pipeline.definitions import ASSET_CHECKS
from showdown_pipeline_tests.conftest import check_evaluations, materialization_metadata, materialize_pipeline


@pytest.mark.slow
def test_real_arena_2023_votes_run_through(real_fixtures, tmp_path):
    landing = tmp_path / "landing"
    (landing / "arena").mkdir(parents=True)
    shutil.copy(real_fixtures / "arena_2023_human_votes.jsonl", landing / "arena")
    result = materialize_pipeline(landing, tmp_path / "home", as_of="2026-01-01")
    assert result.success
    checks = check_evaluations(result)
    assert set(checks) == {k.name for c in ASSET_CHECKS for k in c.check_keys}  # every check ran ...
    assert all(c.passed for c in checks.values())  # ... and passed
    meta = {k: v.value for k, v in checks["input_rows_reconcile"].metadata.items()}
    assert meta["rows_in"] == 26_919
    assert meta["rows_in"] == meta["valid"] + meta["duplicates"] + meta["quarantined"]
    assert meta["quarantined"] == 0  # every row of this log is a valid, anonymous vote

    snapshot = latest_snapshot(tmp_path / "home" / "snapshots")
    board = snapshot.leaderboard()
    assert len(board) == 20
    assert board.iloc[0]["model_id"] == "gpt-4" and board.iloc[0]["rank"] == 1
    manifest = snapshot.manifest
    assert manifest["registry"]["source"].startswith("none")
    assert manifest["input"]["files"][0]["rows_in"] == 26_919
    assert manifest["data_cut"]["undated_counted"] == 26_919
    assert materialization_metadata(result, "overall_ratings")["dagster/row_count"] == 20
    # battle logs carry no style features: the style board is skipped, and says why
    assert materialization_metadata(result, "style_ratings")["votes_with_features"] == 0
    assert manifest["style"]["skipped"] == "no counted votes carry style features"
    assert set(board["board"]) == {"raw"}


def test_arena_json_array_mapping_and_redelivery(tmp_path):
    rows = [
        {
            "model_a": "x",
            "model_b": "y",
            "winner": "model_a",
            "tstamp": 1767225600.0,
            "judge": "j1",
            "anony": True,
        },
        {
            "model_a": "x",
            "model_b": "y",
            "winner": "model_b",
            "tstamp": 1767225601.0,
            "judge": "j2",
            "anony": True,
        },
        {
            "model_a": "y",
            "model_b": "x",
            "winner": "tie",
            "tstamp": 1767225602.0,
            "judge": "j3",
            "anony": True,
        },
        {
            "model_a": "y",
            "model_b": "x",
            "winner": "tie (bothbad)",
            "tstamp": 1767225603.0,
            "judge": "j1",
            "anony": True,
        },
        {
            "model_a": "x",
            "model_b": "y",
            "winner": "model_a",
            "tstamp": 1767225604.0,
            "judge": "j4",
            "anony": False,
        },
        {
            "model_a": "x",
            "model_b": "y",
            "winner": "draw",
            "tstamp": 1767225605.0,
            "judge": "j5",
            "anony": True,
        },
    ]
    landing = tmp_path / "landing"
    (landing / "arena").mkdir(parents=True)
    (landing / "arena" / "battles.json").write_text(json.dumps(rows))
    home = tmp_path / "home"
    assert materialize_pipeline(landing, home, as_of="2026-02-01").success
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        counted = conn.execute("SELECT winner, user_id FROM votes_clean ORDER BY voted_at").fetchall()
        quarantined = dict(conn.execute("SELECT reason, reason_detail FROM vote_quarantine").fetchall())
        ids = conn.execute("SELECT vote_id FROM votes_checked ORDER BY source_row").fetchall()
    assert counted == [
        ("left", "arena:j1"),
        ("right", "arena:j2"),
        ("both_good", "arena:j3"),
        ("both_bad", "arena:j1"),
    ]
    assert quarantined == {"identities_visible": None, "invalid_winner": "draw"}

    # The same log delivered again under another name is the same content: nothing changes.
    shutil.copy(landing / "arena" / "battles.json", landing / "arena" / "battles-copy.json")
    again = materialize_pipeline(landing, home, as_of="2026-02-01")
    assert materialization_metadata(again, "landing_files")["files_unchanged"] == 2
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT vote_id FROM votes_checked ORDER BY source_row").fetchall() == ids
