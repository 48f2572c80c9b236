"""The sampling plan (core/sampling_plan.py): weights, coverage of active pairs, the floor, where the
weight goes, and the design it solves, checked against finite differences and scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from showdown_pipeline.core import boards
from showdown_pipeline.core import sampling_plan as sp

LOOK_ALIKE = "m\u0430"  # Cyrillic a: a different model from "ma", never merged with it


def board_from(battles, anchor: str, rounds: int = 200) -> boards.Board:
    cells = pd.DataFrame(battles, columns=["model_left", "model_right", "winner", "n"])
    models = sorted(set(cells["model_left"]) | set(cells["model_right"]))
    stats = pd.DataFrame({"model_id": models, "votes": 1000, "users": 100, "top_user_share": 0.0})
    return boards.build_board(cells, stats, anchor, 1000.0, bootstrap_rounds=rounds, seed=1)


def uncertain_pair_world(top=("A", "B"), rest=("C", "D", "E")) -> list[tuple]:
    """Every order decided by hundreds of votes except the two top models': 62–38 between them, and
    the same 900–100 record against each of the others."""
    a, b = top
    battles = [(a, b, "left", 62), (a, b, "right", 38)]
    for x in top:
        for y in rest:
            battles += [(x, y, "left", 900), (x, y, "right", 100)]
    c, d, e = rest
    battles += [(c, d, "left", 800), (c, d, "right", 200), (d, e, "left", 800), (d, e, "right", 200)]
    battles += [(c, e, "left", 900), (c, e, "right", 100)]
    return battles


def test_weights_sum_to_one_and_every_active_pair_appears_once_above_the_floor():
    """Active models: the five rated ones (one named with a quote, one a Cyrillic look-alike of another
    name) and a new model without votes; a deprecated model with votes is not active. Every pair of
    active models appears exactly once, ordered by name, with at least the floor's share; none with the
    deprecated model; the weights sum to 1 and nothing is NaN."""
    battles = uncertain_pair_world(top=('q"x', "ma"), rest=(LOOK_ALIKE, "D", "old"))
    board = board_from(battles, "ma")
    active = ['q"x', "ma", LOOK_ALIKE, "D", "new-model"]
    plan, summary = sp.sampling_plan(sp.plan_boards(board.components), active)
    assert list(plan.columns) == list(sp.PLAN_COLUMNS)
    pairs = set(zip(plan["model_left"], plan["model_right"], strict=True))
    names = sorted(active)
    assert pairs == {(a, b) for i, a in enumerate(names) for b in names[i + 1 :]}
    assert len(plan) == len(pairs) == 10 and (plan["model_left"] < plan["model_right"]).all()
    assert plan["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    floor = sp.PlanSettings().floor_share / len(plan)
    assert (plan["weight"] >= floor * (1 - 1e-12)).all()
    assert plan.notna().all().all() and np.isfinite(plan["weight"]).all()
    assert not (plan["model_left"] == "old").any() and not (plan["model_right"] == "old").any()
    new = plan[(plan["model_left"] == "new-model") | (plan["model_right"] == "new-model")]
    assert len(new) == 4 and new["reason"].str.startswith("floor: new-model has no rating yet").all()
    assert summary["pairs"] == 10 and summary["active_models"] == 5


def test_most_weight_goes_to_the_hand_built_uncertain_pair():
    """Only A vs B is undecided (its t is below the critical value): the plan gives that pair the most
    weight by far, and its reason names the order it sharpens."""
    board = board_from(uncertain_pair_world(), "A")
    ranks = board.components[0].ranks
    a, b = (board.components[0].models.index(m) for m in ("A", "B"))
    assert not ranks.separable[a, b] and ranks.separable.sum() == 5 * 4 - 2  # the one undecided pair
    plan, summary = sp.sampling_plan(sp.plan_boards(board.components), list("ABCDE"))
    top = plan.iloc[0]
    assert (top["model_left"], top["model_right"]) == ("A", "B")
    assert top["weight"] > 0.5 and top["weight"] > 10 * plan["weight"].iloc[1]
    assert top["reason"].startswith("uncertainty: sharpens the order of A and B")
    assert summary["objective"]["plan"] < summary["objective"]["equal_shares"]


def test_the_design_gradient_matches_finite_differences_and_the_optimum_matches_scipy():
    """The design's objective Σ w·Var_N/Var_0 on a 6-model board with several undecided orders: its
    analytic gradient equals central finite differences, and the multiplicative algorithm's shares reach
    the minimum scipy's SLSQP finds over the simplex (within 1%)."""
    rng = np.random.default_rng(11)
    names = [f"m{i}" for i in range(6)]
    strength = np.array([1.0, 0.9, 0.6, 0.5, 0.0, -0.3])
    battles = []
    for i in range(6):
        for j in range(i + 1, 6):
            n = int(rng.integers(40, 120))
            wins = int(rng.binomial(n, 1 / (1 + np.exp(strength[j] - strength[i]))))
            battles += [(names[i], names[j], "left", wins), (names[i], names[j], "right", n - wins)]
    board = board_from(battles, "m0")
    part = sp.plan_boards(board.components)[0]
    pairs = pd.DataFrame(
        [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]], columns=["model_left", "model_right"]
    )
    design = sp._design(part, pairs, 10)
    assert len(design.targets) >= 3
    horizon = 0.5 * part.counts.count.sum()

    def objective(shares):
        return design.objective_and_gain(horizon * shares * design.info_per_vote)[0]

    shares = rng.dirichlet(np.ones(len(pairs)))
    gain = (
        horizon * design.info_per_vote * design.objective_and_gain(horizon * shares * design.info_per_vote)[1]
    )
    for p in range(len(pairs)):
        step = np.zeros(len(pairs))
        step[p] = 1e-6
        numeric = (objective(shares + step) - objective(shares - step)) / 2e-6
        assert -gain[p] == pytest.approx(numeric, rel=1e-4, abs=1e-9)
    plan, summary = sp.sampling_plan([part], names, sp.PlanSettings(floor_share=0.0, iterations=2000))
    found = minimize(
        objective,
        np.full(len(pairs), 1 / len(pairs)),
        method="SLSQP",
        bounds=[(0, 1)] * len(pairs),
        constraints=[{"type": "eq", "fun": lambda s: s.sum() - 1}],
        options={"ftol": 1e-12, "maxiter": 500},
    )
    assert found.success
    assert summary["objective"]["plan"] <= found.fun * 1.01


def test_without_bootstrap_the_plan_targets_the_sandwich_rank_analysis():
    """B = 0: the board's rank analysis comes from normal draws with its sandwich covariance (schema 6), so
    the plan still targets the one undecided pair, as it does with a bootstrap."""
    board = board_from(uncertain_pair_world(), "A", rounds=0)
    assert "sandwich covariance" in board.components[0].ranks.method
    plan, summary = sp.sampling_plan(sp.plan_boards(board.components), list("ABCDE"))
    assert (plan.iloc[0]["model_left"], plan.iloc[0]["model_right"]) == ("A", "B")
    assert plan.iloc[0]["reason"].startswith("uncertainty: sharpens the order of A and B")
    assert plan["weight"].sum() == pytest.approx(1.0) and summary["objective"]["plan"] is not None


def test_without_any_rank_analysis_the_plan_is_uniform_and_says_why():
    board = board_from(uncertain_pair_world(), "A", rounds=0)
    board.components[0].ranks = None  # e.g. a sandwich covariance that is not finite
    plan, summary = sp.sampling_plan(sp.plan_boards(board.components), list("ABCDE"))
    assert plan["weight"].tolist() == pytest.approx([0.1] * 10)
    assert plan["reason"].str.startswith("uniform: the board has no rank analysis").all()
    assert summary["objective"] == {"equal_shares": None, "plan": None}


def test_when_every_order_is_decided_the_plan_is_uniform_and_says_so():
    battles = []
    names = list("PQRS")
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            battles += [(a, b, "left", 950), (a, b, "right", 50)]
    board = board_from(battles, "P")
    assert board.components[0].ranks.separable.sum() == 12
    plan, _ = sp.sampling_plan(sp.plan_boards(board.components), names)
    assert plan["weight"].tolist() == pytest.approx([1 / 6] * 6)
    assert plan["reason"].str.startswith("uniform: every order on the board is already decided").all()


def test_fewer_than_two_active_models_give_an_empty_plan():
    board = board_from(uncertain_pair_world(), "A")
    for active in ([], ["A"], ["A", "A"]):
        plan, summary = sp.sampling_plan(sp.plan_boards(board.components), active)
        assert plan.empty and list(plan.columns) == list(sp.PLAN_COLUMNS)
        assert summary["pairs"] == 0 and "fewer than two active models" in summary["note"]


def test_pairs_across_components_keep_the_floor_and_say_what_they_would_link():
    """Two parts no vote links: a pair across them has the floor share and a reason saying it would join
    them; the design targets each part's own undecided orders."""
    battles = uncertain_pair_world()
    battles += [
        ("X", "Y", "left", 55),
        ("X", "Y", "right", 45),
        ("Y", "Z", "left", 300),
        ("Y", "Z", "right", 30),
    ]
    battles += [("X", "Z", "left", 280), ("X", "Z", "right", 20)]
    board = board_from(battles, "A")
    assert len(board.components) == 2
    plan, _ = sp.sampling_plan(sp.plan_boards(board.components), list("ABCDEXYZ"))
    across = plan[(plan["model_left"] == "A") & (plan["model_right"] == "X")].iloc[0]
    assert across["weight"] == pytest.approx(plan["weight"].min())
    assert across["reason"] == "floor: links component 1 and component 2 (no chain of votes joins them yet)"
    assert plan["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    heavy = plan[plan["reason"].str.startswith("uncertainty")]
    assert {("A", "B"), ("X", "Y")} <= set(zip(heavy["model_left"], heavy["model_right"], strict=True))


def test_the_plan_is_the_same_every_time():
    board = board_from(uncertain_pair_world(), "A")
    first, _ = sp.sampling_plan(sp.plan_boards(board.components), list("ABCDE"))
    again, _ = sp.sampling_plan(sp.plan_boards(board.components), list("EDCBA"))
    pd.testing.assert_frame_equal(first, again)


def test_a_plan_of_models_no_board_rates_together_says_so_not_that_no_order_is_near_deciding():
    """A and B are undecided and near deciding on the board, but the active models are A and two new ones
    (B retired): no pair of active models is on the board, so the plan is uniform. Its reason used to say that
    no undecided order is near being decided, which is false; it says what is true."""
    board = board_from(uncertain_pair_world(), "A")
    ranks = board.components[0].ranks
    names = list(board.components[0].counts.models)
    a, b = names.index("A"), names.index("B")
    assert not ranks.separable[a, b]  # the order the reason used to deny
    for active in (["A", "new-1", "new-2"], ["new-1", "new-2"]):
        plan, _ = sp.sampling_plan(sp.plan_boards(board.components), active)
        assert plan["weight"].tolist() == pytest.approx([1 / len(plan)] * len(plan))
        assert set(plan["reason"]) == {
            "uniform: no two active models are rated on one board yet: every pair gets the same share"
        }
