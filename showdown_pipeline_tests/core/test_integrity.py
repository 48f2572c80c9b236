"""Each integrity check on a small hand-built case: it flags the manipulator and nobody else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline.core import integrity

T = integrity.IntegrityThresholds()


def honest_stats(n_users: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    votes = rng.integers(20, 120, n_users)
    decided = (votes * 0.66).astype(int)
    return pd.DataFrame(
        {
            "user_id": [f"h{i}" for i in range(n_users)],
            "votes": votes,
            "decided": decided,
            "left_wins": rng.binomial(decided, 0.5),
            "timed": votes,
            "too_fast": rng.binomial(votes, 0.005),
            "ttv_cv": rng.uniform(0.3, 0.9, n_users),
            "max_daily": np.minimum(votes, rng.integers(5, 60, n_users)),
            "top_prompt_votes": rng.integers(1, 4, n_users),
        }
    )


def with_user(stats: pd.DataFrame, **row) -> pd.DataFrame:
    return pd.concat([stats, pd.DataFrame([row])], ignore_index=True)


def test_too_fast_flags_the_bot_only():
    stats = with_user(
        honest_stats(),
        user_id="bot",
        votes=500,
        decided=330,
        left_wins=165,
        timed=500,
        too_fast=480,
        max_daily=100,
        top_prompt_votes=2,
    )
    flags = integrity.too_fast(stats, T)
    assert list(flags["user_id"]) == ["bot"] and flags["excluded"].all() and flags["p_value"].iloc[0] < 1e-10
    assert integrity.too_fast(honest_stats(), T).empty


def test_daily_volume_cap():
    stats = with_user(
        honest_stats(),
        user_id="farm",
        votes=900,
        decided=600,
        left_wins=300,
        timed=900,
        too_fast=0,
        max_daily=T.daily_cap + 1,
        top_prompt_votes=1,
    )
    assert list(integrity.daily_volume(stats, T)["user_id"]) == ["farm"]


def test_position_bias_flags_always_left_not_a_slightly_left_voter():
    stats = with_user(
        honest_stats(),
        user_id="lefty",
        votes=120,
        decided=80,
        left_wins=80,
        timed=120,
        too_fast=0,
        max_daily=20,
        top_prompt_votes=1,
    )
    stats = with_user(
        stats,
        user_id="slightly-left",
        votes=120,
        decided=80,
        left_wins=50,
        timed=120,
        too_fast=0,
        max_daily=20,
        top_prompt_votes=1,
    )
    assert list(integrity.position_bias(stats, T)["user_id"]) == ["lefty"]
    assert integrity.position_bias(honest_stats(), T).empty


def test_prompt_flooder():
    stats = with_user(
        honest_stats(),
        user_id="flooder",
        votes=200,
        decided=130,
        left_wins=65,
        timed=200,
        too_fast=0,
        max_daily=30,
        top_prompt_votes=180,
    )
    assert list(integrity.prompt_flooders(stats, T)["user_id"]) == ["flooder"]


def _scores(rows):
    return pd.DataFrame(rows, columns=["user_id", "model_id", "seen", "score", "expected", "variance"])


def test_favouritism_flags_a_booster_not_a_fan_with_few_votes():
    rows = [[f"h{i}", "m", 20, 10.0 + (i % 5), 10.0, 5.0] for i in range(300)]
    rows.append(["booster", "m", 40, 40.0, 18.0, 9.9])
    rows.append(["lucky", "m", 5, 5.0, 2.5, 1.25])  # too few sightings to accuse anyone
    flags = integrity.favouritism(_scores(rows), T)
    assert list(flags["user_id"]) == ["booster"] and "m scored 40.0 of 40" in flags["reason"].iloc[0]


def test_collusion_ring_every_member_flagged_households_are_not():
    shared = pd.DataFrame(
        {
            "identity": ["ip:r1", "ip:r2", "device:r", "ip:home"],
            "users": [["r1", "r2", "r3"], ["r3", "r4"], ["r4", "r5"], ["h1", "h2"]],
        }
    )
    rows = [[f"r{i}", "target", 12, 11.5, 5.0, 3.0] for i in range(1, 6)]
    rows += [["h1", "target", 12, 6.0, 5.0, 3.0], ["h2", "target", 12, 5.0, 5.0, 3.0]]
    flags = integrity.rings(shared, _scores(rows), T)
    assert sorted(flags["user_id"]) == ["r1", "r2", "r3", "r4", "r5"]
    assert flags["reason"].str.contains("one of 5 accounts").all()


def test_fragility_is_confirmed_by_refitting():
    # a narrow lead of a over b: a handful of votes flips it; a wide lead needs many more
    def counts(extra):
        return bt.PairCounts.from_cells(
            ["a", "a", "a", "b", "a", "b"],
            ["b", "b", "c", "c", "c", "c"],
            [1.0, 0.0, 1.0, 1.0, 0.0, 0.0],
            [50 + extra, 50, 70, 70, 30, 30],
        )

    narrow = integrity.fragility(counts(2), "c")
    wide = integrity.fragility(counts(40), "c")
    assert narrow["top_model"] == "a" and narrow["new_top_model"] == "b"
    assert narrow["votes_to_flip_confirmed"] is not None and narrow["votes_to_flip_confirmed"] <= 5
    assert wide["votes_to_flip_confirmed"] > narrow["votes_to_flip_confirmed"]


@pytest.mark.parametrize(
    "check", [integrity.too_fast, integrity.position_bias, integrity.prompt_flooders, integrity.daily_volume]
)
def test_checks_flag_nobody_in_an_honest_population(check):
    assert check(honest_stats(seed=3), T).empty


def test_coordinated_sweeps_flag_a_campaign_too_thin_to_see_one_by_one():
    rng = np.random.default_rng(5)
    rows = []
    for i in range(2000):  # honest voters: each sighting won outright with probability 0.4
        seen = int(rng.integers(5, 9))
        for model in ("target", "other"):
            rows.append([f"h{i}", model, seen, int(rng.binomial(seen, 0.4)), seen * np.log(0.4)])
    for i in range(12):  # boosters: six sightings of the target, six outright wins
        rows.append([f"b{i}", "target", 6, 6, 6 * np.log(0.4)])
    sweeps = pd.DataFrame(rows, columns=["user_id", "model_id", "seen", "outright_wins", "log_p_sweep"])
    flags = integrity.coordinated_sweeps(sweeps, T)
    flagged = set(flags["user_id"])
    assert {f"b{i}" for i in range(12)} <= flagged
    honest_flagged = {u for u in flagged if u.startswith("h")}
    assert len(honest_flagged) <= 10  # the lucky honest sweepers, about as many as expected (≈ 5)
    assert "expected by chance" in flags["reason"].iloc[0]
    # without the campaign, nobody is flagged
    assert integrity.coordinated_sweeps(sweeps[~sweeps["user_id"].str.startswith("b")], T).empty


def test_coordinated_sweeps_need_more_than_a_misfit_of_honest_tastes():
    """At scale the Poisson test alone finds any misfit: 40,000 honest voters who like the model a
    little more than the ratings say (outright wins 0.436 instead of 0.4) sweep it 1.5x as often as
    expected, p ≈ 1e-20. That is a taste, not a campaign: no flags."""
    rng = np.random.default_rng(6)
    outright = rng.binomial(5, 0.436, 40_000)
    sweeps = pd.DataFrame(
        {
            "user_id": [f"h{i}" for i in range(40_000)],
            "model_id": "liked",
            "seen": 5,
            "outright_wins": outright,
            "log_p_sweep": 5 * np.log(0.4),
        }
    )
    observed, expected = int((outright == 5).sum()), 40_000 * 0.4**5
    assert 1.3 < observed / expected < 1.8
    assert integrity.coordinated_sweeps(sweeps, T).empty
    loose = integrity.IntegrityThresholds(sweep_min_ratio=1.0)  # the test without the floor flags them
    assert len(integrity.coordinated_sweeps(sweeps, loose)) == observed


def test_outcome_anomaly_flags_a_contrarian_not_consensus_voters():
    rng = np.random.default_rng(9)
    rows = []
    for i in range(300):  # honest: outcomes drawn near the consensus (log p around log 0.5)
        for k in range(1, 121):
            rows.append([f"h{i}", k, np.log(rng.choice([0.6, 0.3, 0.1], p=[0.6, 0.3, 0.1]))])
    for k in range(1, 121):  # a contrarian: always the outcome almost nobody else chose
        rows.append(["contrarian", k, np.log(0.05)])
    surprise = pd.DataFrame(rows, columns=["user_id", "k", "log_p"])
    flags = integrity.outcome_anomaly(surprise, T, seed=1)
    assert list(flags["user_id"]) == ["contrarian"] and "Fisher" in flags["reason"].iloc[0]
    assert integrity.outcome_anomaly(surprise[surprise["user_id"] != "contrarian"], T, seed=1).empty


def test_disfavouring_flags_omnipresent_rigging():
    rows = [[f"h{i}", "neighbour", 20, 10.0 - (i % 4), 10.0, 5.0] for i in range(300)]
    rows.append(["rigger", "neighbour", 30, 0.0, 15.0, 7.5])
    flags = integrity.disfavouring(_scores(rows), T)
    assert list(flags["user_id"]) == ["rigger"]


def test_inhuman_regularity():
    stats = with_user(
        honest_stats(),
        user_id="script",
        votes=300,
        decided=200,
        left_wins=100,
        timed=300,
        too_fast=0,
        ttv_cv=0.02,
        max_daily=50,
        top_prompt_votes=1,
    )
    assert list(integrity.inhuman_regularity(stats, T)["user_id"]) == ["script"]
    assert integrity.inhuman_regularity(honest_stats(), T).empty


def test_coordinated_sweeps_ignore_voters_already_caught():
    rows = [[f"h{i}", "target", 5, 2, 5 * np.log(0.4)] for i in range(200)]
    rows += [[f"b{i}", "target", 6, 6, 6 * np.log(0.4)] for i in range(12)]
    sweeps = pd.DataFrame(rows, columns=["user_id", "model_id", "seen", "outright_wins", "log_p_sweep"])
    assert set(integrity.coordinated_sweeps(sweeps, T)["user_id"]) == {f"b{i}" for i in range(12)}
    assert integrity.coordinated_sweeps(sweeps, T, already={f"b{i}" for i in range(12)}).empty
