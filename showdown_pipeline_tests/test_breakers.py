"""Publication circuit breakers: each trips on a crafted case and stops the snapshot (LATEST stays), an
operator override publishes and is recorded in the manifest, and a normal run trips nothing."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from showdown_pipeline import snapshots
from showdown_pipeline.core import boards
from showdown_pipeline.core import breakers as br
from showdown_pipeline_tests.conftest import check_evaluations, copy_home, materialize_pipeline
from showdown_pipeline_tests.landing_builder import (
    random_valid_votes,
    write_jsonl,
    write_models,
)

T = br.BreakerThresholds()


def _board(
    ratings: dict[str, float], votes: dict[str, int] | None = None, half: float = 30.0
) -> pd.DataFrame:
    rows = [
        {
            "model_id": m,
            "rating": r,
            "ci_lower": r - half,
            "ci_upper": r + half,
            "sandwich_lower": r - half,
            "sandwich_upper": r + half,
            "cluster_lower": np.nan,
            "cluster_upper": np.nan,
            "votes": (votes or {}).get(m, 500),
        }
        for m, r in ratings.items()
    ]
    return pd.DataFrame(rows)


BASE = {"a": 1000.0, "b": 1050.0, "c": 980.0, "d": 940.0, "e": 900.0}


# --- the predicates on crafted board tables ------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("column", ["rating", "ci_lower", "ci_upper"])
def test_finite_breaker_trips_on_any_non_finite_rating_or_bound(column, bad):
    board = _board(BASE)
    board.loc[2, column] = bad
    verdict = br.ratings_and_intervals_finite(board, T)
    assert not verdict.passed and verdict.value == 1.0 and "c" in verdict.reason
    assert br.ratings_and_intervals_finite(_board(BASE), T).passed


def test_finite_breaker_allows_empty_optional_columns_but_not_infinite_ones():
    board = _board(BASE)  # cluster_* empty by design off the raw overall board
    assert br.ratings_and_intervals_finite(board, T).passed
    board.loc[0, "cluster_upper"] = np.inf
    assert not br.ratings_and_intervals_finite(board, T).passed


@pytest.mark.parametrize(
    ("lower", "upper", "estimate"),
    [("ci_lower", "ci_upper", "rating"), ("sandwich_lower", "sandwich_upper", "rating")],
)
def test_containment_breaker_trips_when_an_interval_excludes_its_estimate(lower, upper, estimate):
    board = _board(BASE)
    board.loc[1, lower] = board.loc[1, estimate] + 0.01  # the interval sits just above the rating
    verdict = br.intervals_contain_estimates(board, T)
    assert not verdict.passed and verdict.sample[0]["model_id"] == "b"
    board = _board(BASE)
    board.loc[1, upper] = board.loc[1, estimate] - 0.01
    assert not br.intervals_contain_estimates(board, T).passed
    board = _board(BASE)
    board.loc[1, lower] = board.loc[1, estimate]  # a degenerate interval at the estimate still contains it
    assert br.intervals_contain_estimates(board, T).passed


def test_containment_breaker_checks_the_segment_difference_interval_too():
    board = _board(BASE).assign(diff_vs_overall=5.0, diff_lower=6.0, diff_upper=9.0)
    assert not br.intervals_contain_estimates(board, T).passed


def test_anchor_breaker_trips_off_its_pin_or_when_absent():
    board = _board(BASE)
    assert br.anchor_at_pinned_value(board, "a", 1000.0, T).passed
    board.loc[0, "rating"] = 1000.001
    verdict = br.anchor_at_pinned_value(board, "a", 1000.0, T)
    assert not verdict.passed and verdict.value == pytest.approx(0.001)
    assert not br.anchor_at_pinned_value(board, "zz", 1000.0, T).passed
    board.loc[0, "rating"] = np.nan
    assert not br.anchor_at_pinned_value(board, "a", 1000.0, T).passed


def test_movement_breaker_ignores_the_anchor_choice_and_trips_on_a_model_that_moved_alone():
    before = _board(BASE)
    # another anchor (everything shifted by 114 Elo) is not movement
    assert br.no_movement_without_new_votes(_board({m: r + 114 for m, r in BASE.items()}), before, T).passed
    moved = dict(BASE, e=BASE["e"] + 30)  # e moved 30 Elo with the same votes
    verdict = br.no_movement_without_new_votes(_board(moved), before, T)
    assert not verdict.passed and {s["model_id"] for s in verdict.sample} == {"e"}
    assert verdict.value == pytest.approx(24.0)  # 30 minus e's share of the centring (30/5)
    # the same move with new votes for e is what votes do
    assert br.no_movement_without_new_votes(_board(moved, votes={"e": 600}), before, T).passed


def test_a_model_that_lost_votes_cannot_move_without_tripping_the_movement_breaker():
    """A model whose count FELL (integrity removed some of its votes, or history went missing) has no new
    votes either: on a 30-model board the leader dropping 300 Elo and 29 places with 1% of its votes gone
    (far under the 10% volume breaker) trips the breaker. It used to compare only models whose count was
    exactly unchanged, so this passed (attack 12)."""
    names = [f"m{k:02d}" for k in range(30)]
    ratings = {m: 1300.0 - 10 * k for k, m in enumerate(names)}
    votes = dict.fromkeys(names, 1000)
    before = _board(ratings, votes)
    after = _board({**ratings, "m00": ratings["m29"] - 10}, {**votes, "m00": 990})
    verdict = br.no_movement_without_new_votes(after, before, T)
    assert not verdict.passed
    assert verdict.sample[0]["model_id"] == "m00" and verdict.sample[0]["moved_places"] == 29
    assert "m00" in verdict.reason
    # the same board where m00 gained votes is what votes do; where nobody moved, nothing trips
    assert br.no_movement_without_new_votes(after.assign(votes=[1001] + [1000] * 29), before, T).passed
    assert br.no_movement_without_new_votes(before.assign(votes=990), before, T).passed


def test_movement_breaker_counts_places_among_the_models_both_boards_rate():
    before = _board(BASE)  # order b a c d e
    after = dict(BASE, e=1049.0)  # e jumps from 5th to 2nd, a 149 Elo move
    verdict = br.no_movement_without_new_votes(_board(after), before, br.BreakerThresholds(max_move_elo=1e9))
    assert not verdict.passed and verdict.sample[0] == {
        "model_id": "e",
        "moved_elo": pytest.approx(119.2),
        "moved_places": -3,
    }
    # a newcomer above every model moves nobody's place, and a model that left is not compared
    newcomer = _board({**BASE, "new": 2000.0}, votes={"new": 10})
    assert br.no_movement_without_new_votes(newcomer.iloc[1:], before, T).passed


def test_volume_and_exclusion_breakers():
    assert br.counted_votes_not_collapsed(900, 1000, "2026-06-02", "2026-06-01", T).passed  # -10%: the limit
    tripped = br.counted_votes_not_collapsed(899, 1000, "2026-06-02", "2026-06-01", T)
    assert not tripped.passed and "1,000 -> 899" in tripped.reason
    assert br.counted_votes_not_collapsed(10, 1000, "2026-05-01", "2026-06-01", T).passed  # an earlier cut
    assert br.counted_votes_not_collapsed(10, None, "2026-06-02", None, T).passed
    assert br.exclusions_within_limit(1000, 750, T).passed
    assert not br.exclusions_within_limit(1000, 749, T).passed


# --- through the pipeline: a tripped breaker stops the snapshot, an override publishes -------------------


@pytest.fixture(scope="module")
def published(published_template):
    """The session's end-to-end run of the messy landing zone (tests copy its home)."""
    return published_template.landing.root, published_template.home


def _copy_home(published, tmp_path):
    landing, home = published
    return landing, copy_home(home, tmp_path / "home")


def rate_and_publish(landing, home, **kwargs):
    """The ratings and publish stages alone, on a home whose counted votes exist; the breakers on the
    counted votes are evaluated again in this run (publish reads every breaker of what it carries)."""
    return materialize_pipeline(
        landing, home, stages=("ratings", "publish"), checks_on=("votes_counted",), **kwargs
    )


def _tamper(monkeypatch, builder: str, change):
    """Make a board builder write a crafted table (the checks read it back from the warehouse)."""
    original = getattr(boards, builder)

    def crafted(*args, **kwargs):
        out = original(*args, **kwargs)
        frame = out.frame if hasattr(out, "frame") else out[0] if isinstance(out, tuple) else out
        change(frame)  # a Board, a dimension's (boards, prior sd, scores) or a frame
        return out

    monkeypatch.setattr(boards, builder, crafted)


def _shift(frame: pd.DataFrame, model: str, by: float) -> None:
    rows = frame["model_id"] == model
    for column in (
        "rating",
        "ci_lower",
        "ci_upper",
        "sandwich_lower",
        "sandwich_upper",
        "cluster_lower",
        "cluster_upper",
    ):
        frame.loc[rows, column] = frame.loc[rows, column] + by


def _stopped(result, home, before_id, breaker, asset):
    assert not result.success
    tripped = [e for e in result.get_asset_check_evaluations() if e.check_name == breaker and not e.passed]
    assert tripped and {e.asset_key.to_user_string() for e in tripped} == {asset}
    assert all(e.metadata["reason"].value and e.metadata["overridden"].value is False for e in tripped)
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "leaderboard_snapshot" not in materialized
    assert snapshots.latest(home).snapshot_id == before_id
    assert [s.snapshot_id for s in snapshots.list_all(home)] == [before_id]


CASES = {
    "finite": (
        "build_board",
        lambda f: f.__setitem__("ci_upper", f["ci_upper"].where(f["model_id"] != "m-c", np.inf)),
        br.FINITE,
        "overall_ratings",
    ),
    "contains": (
        "build_board",
        lambda f: f.__setitem__("ci_lower", f["ci_lower"].where(f["model_id"] != "m-b", f["rating"] + 1)),
        br.CONTAINS,
        "overall_ratings",
    ),
    "anchor": (
        "build_board",
        lambda f: [_shift(f, m, 0.5) for m in list(f["model_id"])],
        br.ANCHOR,
        "overall_ratings",
    ),
    "movement": ("build_board", lambda f: _shift(f, "m-c", 40.0), br.MOVEMENT, "overall_ratings"),
    "segment_finite": (
        "dimension_boards",  # what the segment_ratings asset calls
        lambda f: f.__setitem__(
            "rating", f["rating"].where(~((f["segment_dim"] == "country") & (f.index == 0)), np.nan)
        ),
        br.FINITE,
        "country_ratings",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_tripped_breaker_stops_the_snapshot_and_latest_stays(case, published, tmp_path, monkeypatch):
    landing, home = _copy_home(published, tmp_path)
    before = snapshots.latest(home).snapshot_id
    builder, change, breaker, asset = CASES[case]
    _tamper(monkeypatch, builder, change)
    _stopped(rate_and_publish(landing, home), home, before, breaker, asset)


def test_an_override_publishes_and_the_manifest_records_it(published, tmp_path, monkeypatch):
    landing, home = _copy_home(published, tmp_path)
    before = snapshots.latest(home)
    _tamper(monkeypatch, "build_board", lambda f: _shift(f, "m-c", 40.0))
    result = rate_and_publish(landing, home, overrides=(br.MOVEMENT,))
    assert result.success
    snap = snapshots.latest(home)
    assert snap.snapshot_id != before.snapshot_id and not snap.verify()
    record = snap.manifest["breakers"]
    assert record["overrides"]["breakers"] == [br.MOVEMENT]
    tripped = record["overrides"]["tripped"]
    assert [(t["breaker"], t["asset"]) for t in tripped] == [(br.MOVEMENT, "overall_ratings")]
    assert (
        tripped[0]["value"] == pytest.approx(40.0 - 40.0 / 3, abs=0.5)
        and tripped[0]["limit"] == T.max_move_elo
    )
    assert not tripped[0]["passed"] and tripped[0]["overridden"] and tripped[0]["evaluated_at"]
    assert record["thresholds"]["max_move_elo"] == T.max_move_elo
    others = [r for r in record["evaluated"] if not r["overridden"]]
    assert others and all(r["passed"] for r in others)


def test_a_normal_run_trips_nothing_and_records_every_breaker(published, tmp_path):
    landing, home = _copy_home(published, tmp_path)
    result = rate_and_publish(landing, home)  # same votes again: nothing may move
    assert result.success
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name in br.BREAKER_NAMES]
    assert len(evaluations) == 2 + 4 + 4 + 2 * 5 and all(e.passed for e in evaluations)
    record = snapshots.latest(home).manifest["breakers"]
    assert record["overrides"] is None and len(record["evaluated"]) == len(evaluations)
    movement = [
        r for r in record["evaluated"] if r["breaker"] == br.MOVEMENT and r["asset"] == "overall_ratings"
    ]
    assert movement[0]["value"] == pytest.approx(0.0, abs=1e-9)


def test_too_many_exclusions_trip_on_a_fresh_home(validated_template, tmp_path):
    """Integrity excluding most votes (a daily cap of 1) trips the exclusion breaker on a home that never
    published: the stages from integrity on run, and no snapshot appears."""
    landing = validated_template.landing
    home = copy_home(validated_template.home, tmp_path / "home")
    result = materialize_pipeline(
        landing.root, home, stages=("integrity", "ratings", "publish"), integrity={"daily_cap": 1}
    )
    assert not result.success
    evaluation = check_evaluations(result)[br.EXCLUSIONS]
    assert not evaluation.passed and evaluation.metadata["value"].value > T.max_excluded_share
    assert not (tmp_path / "home" / "snapshots" / "LATEST").exists()


def _small_world(root, n: int):
    write_models(root / "models.csv", [(m, m, "p", "2025-01-01", None) for m in ("m-a", "m-b", "m-c")])
    write_jsonl(root / "votes" / "v.jsonl", random_valid_votes(0, n, ["m-a", "m-b", "m-c"], seed=9))
    return root


def _cli(*argv):
    return subprocess.run(
        [sys.executable, "-m", "showdown_pipeline.cli", "run", *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_a_warehouse_rebuilt_from_half_the_history_is_refused_then_overridden(tmp_path):
    """The volume breaker through `showdown run`: one line naming the breaker and why, LATEST unchanged; then
    `--override-breaker` publishes and the manifest says who overrode what."""
    home = tmp_path / "home"
    assert materialize_pipeline(_small_world(tmp_path / "full", 400), home).success
    before = snapshots.latest(home).snapshot_id
    (home / "warehouse.duckdb").unlink()  # the warehouse is lost and rebuilt from a partial landing zone
    half = _small_world(tmp_path / "half", 200)
    argv = ("--landing", str(half), "--home", str(home), "--as-of", "2026-06-01")
    refused = _cli(*argv)
    assert refused.returncode == 2, refused.stderr[-2000:]
    err = refused.stderr.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in refused.stderr
    assert f"check {br.COUNTED_VOTES} on votes_counted failed: counted votes 400 -> 200 (-50.0%)" in err[0]
    assert f"--override-breaker {br.COUNTED_VOTES}" in err[0]
    assert snapshots.latest(home).snapshot_id == before and len(snapshots.list_all(home)) == 1
    published = _cli(*argv, "--override-breaker", br.COUNTED_VOTES)
    assert published.returncode == 0, published.stderr[-2000:]
    manifest = snapshots.latest(home).manifest
    overrides = manifest["breakers"]["overrides"]
    assert overrides["breakers"] == [br.COUNTED_VOTES] and "@" in overrides["by"]
    assert overrides["tripped"][0]["value"] == pytest.approx(0.5)
    assert manifest["data_cut"]["counted_before_cut"] == 200
    assert json.dumps(manifest, allow_nan=False)  # the record itself is plain JSON
    assert not math.isnan(overrides["tripped"][0]["limit"])
