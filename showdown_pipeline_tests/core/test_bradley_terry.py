"""The rating math against numbers someone else published, an independent fit, and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from showdown_pipeline.core import boards
from showdown_pipeline.core import bradley_terry as bt


def _llmfao_counts(real_fixtures):
    df = pd.read_csv(real_fixtures / "llmfao_crowd_comparisons.csv")
    df["score"] = df["winner"].map({"left": 1.0, "right": 0.0, "tie": 0.5})
    assert df["score"].notna().all()
    cells = df.groupby(["left", "right", "score"]).size().reset_index(name="n")
    return df, bt.PairCounts.from_cells(list(cells["left"]), list(cells["right"]), cells["score"], cells["n"])


def test_llmfao_golden_bradley_terry_scores_reproduced(real_fixtures):
    """evalica's published `bradley_terry` scores (exp θ / Σ exp θ, ties ½) on the LLMFAO crowd data."""
    golden = pd.read_csv(real_fixtures / "llmfao_golden_scores.csv")
    golden = golden[golden["algorithm"] == "bradley_terry"].set_index("item")["score"]
    _, counts = _llmfao_counts(real_fixtures)
    fit = bt.fit_bradley_terry(counts, anchor=counts.models[0])
    assert fit.converged and fit.mle_exists
    ours = pd.Series(np.exp(fit.theta) / np.exp(fit.theta).sum(), index=counts.models)
    assert set(ours.index) == set(golden.index) and len(ours) == 59
    np.testing.assert_allclose(ours.sort_index(), golden.sort_index(), atol=1e-4, rtol=0)


def test_agrees_with_an_independent_fit_on_unaggregated_rows(real_fixtures):
    """scipy's BFGS on the per-vote log-likelihood (no aggregation, no Newton) agrees to 0.01 Elo."""
    df, counts = _llmfao_counts(real_fixtures)
    models = list(counts.models)
    index = {m: i for i, m in enumerate(models)}
    li = df["left"].map(index).to_numpy()
    ri = df["right"].map(index).to_numpy()
    y = df["score"].to_numpy()
    anchor = 0

    def negloglik(free):
        theta = np.insert(free, anchor, 0.0)
        d = theta[li] - theta[ri]
        p = 1 / (1 + np.exp(-d))
        grad_d = y - p
        g = np.bincount(li, grad_d, len(models)) - np.bincount(ri, grad_d, len(models))
        ll = np.sum(y * np.log(p) + (1 - y) * np.log1p(-p))
        return -ll, -np.delete(g, anchor)

    res = minimize(
        negloglik,
        np.zeros(len(models) - 1),
        jac=True,
        method="BFGS",
        options={"gtol": 1e-10, "maxiter": 5000},
    )
    independent = np.insert(res.x, anchor, 0.0) * bt.ELO_SCALE
    fit = bt.fit_bradley_terry(counts, anchor=models[anchor])
    assert np.max(np.abs(fit.theta * bt.ELO_SCALE - independent)) < 0.01


def test_two_models_hand_computed():
    """70 wins, 20 losses, 10 ties: θ = ln(75/25); the sandwich SE matches the per-vote formula. The one
    pair ties as often as the board, so of its ties only the share the board's one decisive pseudo-vote
    leaves over counts as fair coins: 1 − (10/101)/(10/100) = 1/101, each adding ¼ to its squared residual."""
    counts = bt.PairCounts.from_cells(["a", "a", "a"], ["b", "b", "b"], [1.0, 0.0, 0.5], [70, 20, 10])
    fit = bt.fit_bradley_terry(counts, anchor="b")
    assert fit.theta[0] == pytest.approx(math.log(75 / 25), abs=1e-10)
    rating = fit.ratings(1000.0)
    assert rating[1] == 1000.0 and rating[0] == pytest.approx(1000 + 400 * math.log10(3), abs=1e-8)
    p = 0.75
    hessian = 100 * p * (1 - p)
    meat = 70 * (1 - p) ** 2 + 20 * p**2 + 10 * ((0.5 - p) ** 2 + 0.25 / 101)
    var = meat / hessian**2
    assert fit.cov[0, 0] == pytest.approx(var, rel=1e-9)
    # centred: θ_a − mean = θ/2, so its SE is half the difference's SE, for both models
    np.testing.assert_allclose(fit.centred_se(), [math.sqrt(var) / 2] * 2, rtol=1e-9)


def test_rank_is_one_plus_models_clearly_above():
    lower = np.array([10.0, 8.0, 2.0, 1.0])
    upper = np.array([14.0, 12.0, 9.0, 3.0])
    # a: nobody above; b: a's lower 10 is not above b's upper 12; c: a (10>9) is above;
    # d: a, b (8>3) and c (2 > 3? no) -> 3
    assert list(bt.rank_by_intervals(lower, upper)) == [1, 1, 2, 3]


def test_model_that_never_wins_is_finite_and_flagged():
    counts = bt.PairCounts.from_cells(
        ["a", "a", "b", "a", "b"], ["b", "b", "a", "c", "c"], [1.0, 0.0, 1.0, 1.0, 1.0], [30, 20, 5, 40, 10]
    )
    # c never scores: the MLE has c at −∞
    assert not bt.mle_exists(counts)
    fit = bt.fit_bradley_terry(counts, anchor="a")
    assert not fit.mle_exists and fit.ridge == bt.FALLBACK_RIDGE and fit.notes
    assert np.all(np.isfinite(fit.theta)) and fit.theta[2] < fit.theta[1] < fit.theta[0] + 1


def test_disconnected_graph_is_refused_by_the_fit_and_the_board_rates_each_component_apart():
    """The fit refuses a graph in two parts; the board rates the part without the anchor on its own
    scale (its most-voted model pinned at the anchor rating), ranked and labelled apart, never dropped."""
    counts = bt.PairCounts.from_cells(["a", "b", "c"], ["b", "a", "d"], [1.0, 1.0, 1.0], [10, 5, 8])
    with pytest.raises(bt.RatingError, match="disconnected"):
        bt.fit_bradley_terry(counts, anchor="a")
    cells = pd.DataFrame(
        {
            "model_left": ["a", "b", "c", "d"],
            "model_right": ["b", "a", "d", "c"],
            "winner": ["left"] * 4,
            "n": [10, 5, 8, 3],
        }
    )
    stats = pd.DataFrame(
        {"model_id": list("abcd"), "votes": [15, 15, 11, 11], "users": [9, 9, 9, 9], "top_user_share": 0.2}
    )
    board = boards.build_board(cells, stats, anchor="a", anchor_rating=1000.0)
    frame = board.frame.set_index("model_id")
    assert list(board.frame["model_id"]) == ["a", "b", "c", "d"] and board.unrated == {}
    assert list(frame["component"]) == [1, 1, 2, 2]
    # c and d have 11 votes each: the tie goes to the alphabetically first, pinned at the same 1000
    assert list(frame["component_anchor"]) == ["a", "a", "c", "c"]
    assert frame.loc["a", "rating"] == frame.loc["c", "rating"] == 1000.0
    # each part's ratings come from its own votes only: c beat d 8 times, d beat c 3 times
    alone = bt.fit_bradley_terry(
        bt.PairCounts.from_cells(["c", "d"], ["d", "c"], [1.0, 1.0], [8, 3]),
        "c",
        prior_precision=bt.RATING_PRIOR_PRECISION,
    )
    assert frame.loc["d", "rating"] == pytest.approx(alone.ratings(1000.0)[1], abs=1e-9)
    assert list(frame["rank"]) == [1, 1, 1, 1]  # ranks count within a component
    assert (
        frame.loc["c", "provisional"]
        and "not connected to the anchor a" in frame.loc["c", "provisional_reason"]
    )
    assert "not connected" not in (frame.loc["a", "provisional_reason"] or "")
    described = [c.describe(1000.0) for c in board.components]
    assert [(c["component"], c["anchor"], c["models"]) for c in described] == [
        (1, "a", ["a", "b"]),
        (2, "c", ["c", "d"]),
    ]


def test_anchor_without_votes_is_a_clear_error():
    cells = pd.DataFrame({"model_left": ["a"], "model_right": ["b"], "winner": ["left"], "n": [3]})
    stats = pd.DataFrame(
        {"model_id": ["a", "b"], "votes": [3, 3], "users": [1, 1], "top_user_share": [1.0, 1.0]}
    )
    with pytest.raises(bt.RatingError, match="anchor model 'zzz'"):
        boards.build_board(cells, stats, anchor="zzz", anchor_rating=1000.0)


def test_provisional_reasons_follow_the_thresholds():
    cells = pd.DataFrame(
        {
            "model_left": ["a", "b", "a"],
            "model_right": ["b", "a", "b"],
            "winner": ["left", "left", "both_bad"],
            "n": [400, 300, 50],
        }
    )
    stats = pd.DataFrame(
        {"model_id": ["a", "b"], "votes": [750, 299], "users": [60, 49], "top_user_share": [0.05, 0.2]}
    )
    frame = boards.build_board(cells, stats, anchor="a", anchor_rating=1000.0).frame.set_index("model_id")
    assert not frame.loc["a", "provisional"]
    reason = frame.loc["b", "provisional_reason"]
    assert (
        frame.loc["b", "provisional"]
        and "votes 299 < 300" in reason
        and "users 49 < 50" in reason
        and "20%" in reason
    )


def test_unknown_winner_label_is_refused_not_scored():
    cells = pd.DataFrame({"model_left": ["a"], "model_right": ["b"], "winner": ["tie"], "n": [3]})
    with pytest.raises(bt.RatingError, match="unexpected winner"):
        boards.pair_counts_from_frame(cells)


def _style_rows(seed: int = 5, n: int = 20_000, m: int = 8) -> bt.PairCounts:
    """Single-vote rows with a known offset per row (the style segments' shape), ties included."""
    rng = np.random.default_rng(seed)
    left = rng.integers(0, m, n)
    right = (left + rng.integers(1, m, n)) % m
    offset = rng.normal(0.0, 0.4, n)
    theta = np.linspace(-1.0, 1.0, m)
    p = 1.0 / (1.0 + np.exp(-(theta[left] - theta[right] + offset)))
    score = np.where(rng.random(n) < 0.2, 0.5, (rng.random(n) < p).astype(float))
    models = tuple(f"m{i}" for i in range(m))
    return bt.PairCounts(models, left, right, score, np.ones(n), offset=offset)


def test_a_path_of_shrunk_fits_is_the_loop_of_warm_started_fits_to_the_bit():
    """shrunk_path reuses each fit's last evaluation as the next fit's start: the same θ, bit for bit, as
    calling shrunk_theta along the penalties, each starting at the previous optimum."""
    counts = _style_rows()
    prior = np.linspace(-0.8, 0.9, counts.n_models)
    penalties = [1.0 / sd**2 for sd in boards.SHRINKAGE_SD_GRID]
    path = bt.shrunk_path(counts, prior, penalties, tol=1e-8)
    theta = prior
    for penalty, (got, notes) in zip(penalties, path, strict=True):
        theta, loop_notes = bt.shrunk_theta(counts, prior, penalty, tol=1e-8, start=theta)
        assert np.array_equal(got, theta) and notes == loop_notes


def test_a_fold_fitted_on_the_cells_it_counts_is_the_fold_fitted_with_zero_counts():
    """The held-out choice fits each fold on the cells it counts (PairCounts.counted). Cells of count 0
    add exactly nothing to a gradient or a Hessian, so the fit is the same one; the log-likelihood's sums
    group their terms differently without the zeros, so values agree to rounding, not to the bit."""
    counts = _style_rows()
    prior = np.zeros(counts.n_models)
    split = np.random.default_rng(1).multinomial(np.ones(len(counts.count), dtype=np.int64), [1 / 3] * 3)
    train_count = counts.count - split[:, 0]
    counted = counts.counted(train_count)
    assert len(counted.count) == int((train_count > 0).sum()) < len(counts.count)
    for penalty in (1.0 / 0.02**2, 1.0 / 0.2**2, 1.0 / 3.0**2):
        zeros, _ = bt.shrunk_theta(counts.with_counts(train_count), prior, penalty, tol=1e-8)
        fewer, _ = bt.shrunk_theta(counted, prior, penalty, tol=1e-8)
        np.testing.assert_allclose(fewer, zeros, rtol=0, atol=1e-12)
        test_all, test_counted = counts.with_counts(split[:, 0]), counts.counted(split[:, 0])
        assert bt.heldout_loglik(test_counted, fewer) == pytest.approx(
            bt.heldout_loglik(test_all, zeros), rel=1e-12
        )
    # the whole held-out choice against the same folds fitted with their zero counts, as it was before
    of = dict(zip(counts.models, prior, strict=True))
    chosen, scores = boards.choose_shrinkage_of([("only", counts)], of, seed=3)
    split = np.random.default_rng(3).multinomial(counts.count.astype(np.int64), [1 / 3] * 3).astype(float)
    before = dict.fromkeys(boards.SHRINKAGE_SD_GRID, 0.0)
    for f in range(3):
        train, test, theta = (
            counts.with_counts(counts.count - split[:, f]),
            counts.with_counts(split[:, f]),
            prior,
        )
        for sd in sorted(boards.SHRINKAGE_SD_GRID):
            theta, _ = bt.shrunk_theta(train, prior, 1.0 / sd**2, tol=1e-8, start=theta)
            before[sd] += bt.heldout_loglik(test, theta)
    assert scores == {f"{sd:g}": round(v, 3) for sd, v in before.items()}
    best = max(before.values())
    assert chosen == max(sd for sd, v in before.items() if v >= best - boards.SHRINKAGE_TOLERANCE_NATS)


def test_a_pinned_level_is_a_term_that_vanishes_at_the_shrunk_optimum():
    """Penalty.level_pinned adds κ/2 · (Σ (θ − centre))²: its gradient and Hessian are those of its value
    (central differences), and at a shrunk optimum, where Σ (θ − centre) = 0, it adds nothing. It needs
    one positive ridge (with a ridge per rating the optimum's level condition is another)."""
    m = 6
    centre = np.linspace(-1.0, 1.0, m)
    plain = bt.Penalty(m, ridge=0.3, centre=centre, precision=0.01)
    pinned = plain.level_pinned(2.5)
    x = np.array([0.4, -0.2, 1.3, 0.0, -0.9, 0.7])
    h = 1e-6
    numeric = np.array([(pinned.value(x + h * e) - pinned.value(x - h * e)) / (2 * h) for e in np.eye(m)])
    np.testing.assert_allclose(pinned.gradient(x.copy()), numeric, rtol=1e-7, atol=1e-8)
    hessian = np.array(
        [(pinned.gradient(x + h * e) - pinned.gradient(x - h * e)) / (2 * h) for e in np.eye(m)]
    )
    np.testing.assert_allclose(pinned.hessian(m), hessian, rtol=1e-6, atol=1e-6)
    assert pinned.value(x) - plain.value(x) == pytest.approx(2.5 / 2 * np.sum(x - centre) ** 2, rel=1e-12)
    with pytest.raises(ValueError, match="one positive ridge"):
        bt.Penalty(m, ridge=np.full(m, 0.3), centre=centre).level_pinned()
    with pytest.raises(ValueError, match="one positive ridge"):
        bt.Penalty(m, ridge=0.0, centre=centre).level_pinned()
    level = x - np.mean(x - centre)  # the same spread, Σ (θ − centre) = 0
    assert pinned.value(level) == pytest.approx(plain.value(level), rel=1e-14)
    np.testing.assert_allclose(
        pinned.gradient(level.copy()), plain.gradient(level.copy()), rtol=0, atol=1e-13
    )


def test_the_unshrunk_fit_sits_at_the_plain_penalties_optimum_with_its_level_exact():
    """The shrunk fits run Newton on the level-pinned penalty. On a million style rows under the unshrunk
    ridge (1e-6), the fit is the plain penalty's optimum: its ratings' spread is the one a fit without the
    pin reaches (to 1e-12), the plain objective's gradient vanishes there, and its level meets the
    optimum's exact condition Σ (θ − prior) = 0 to rounding (without the pin the level is set by a
    near-singular system: it drifted by 6e-8)."""
    rng = np.random.default_rng(3)
    m, n = 40, 1_000_000
    truth = rng.normal(0, 0.6, m)
    left = rng.integers(0, m, n)
    right = (left + rng.integers(1, m, n)) % m
    offset = rng.normal(0, 0.5, n)
    p = 1 / (1 + np.exp(-(truth[left] - truth[right] + offset)))
    score = np.where(rng.random(n) < 0.1, 0.5, (rng.random(n) < p).astype(float))
    counts = bt.PairCounts(tuple(f"m{i}" for i in range(m)), left, right, score, np.ones(n), offset=offset)
    prior = truth + rng.normal(0, 0.2, m)
    start = bt.shrunk_theta(counts, prior, 1 / 0.3**2)[0]
    theta, notes = bt.shrunk_theta(counts, prior, boards.UNSHRUNK_PENALTY, start=start)
    assert notes == []
    assert abs(np.sum(theta - prior)) < 1e-12
    model, plain = bt.PairModel.of_counts(counts), bt.Penalty(m, ridge=boards.UNSHRUNK_PENALTY, centre=prior)
    gradient = model.gradient(model.evaluate(theta, with_value=False)[0]) - plain.gradient(theta.copy())
    assert np.max(np.abs(gradient)) < 1e-6 * n**0.5
    unpinned = bt.penalised_newton(
        model, plain, start, np.ones(m, dtype=bool), [], what="plain", tol=1e-10, max_iter=100
    ).x
    np.testing.assert_allclose(theta - theta.mean(), unpinned - unpinned.mean(), rtol=0, atol=1e-12)


def test_log_likelihood_from_the_sigmoid_matches_logaddexp_row_by_row():
    """_loglik reads log(1 + e^d) off σ(d) (one log per row); numpy's logaddexp is the independent
    reference, row by row, from far below to far above 0 and at the infinities (both round at the scale
    of d, so they agree to a few ulps of max(1, |d|), not to the last bit of a small result)."""
    d = np.concatenate(
        [np.array([-np.inf, -800.0, -40.0, -36.5, -1e-9, 0.0, 1e-12, 1e-3, 5.0, 36.0, 40.0, 800.0, np.inf]),
         np.random.default_rng(3).normal(0.0, 4.0, 10_000)]
    )  # fmt: skip
    p = bt._sigmoid(d)
    for y in (0.0, 0.5, 1.0):
        with np.errstate(invalid="ignore"):  # 0·inf and inf − inf at the infinities: NaN, on both sides
            rows = [bt._loglik(d[i : i + 1], p[i : i + 1], np.array([y]), 1.0) for i in range(len(d))]
            expected = y * d - np.logaddexp(0.0, d)
        finite = np.isfinite(expected)
        # both round y·d − log(1 + e^d) at the scale of d: within a few ulps of max(1, |d|)
        error = np.abs(np.array(rows)[finite] - expected[finite])
        assert np.all(error <= 4 * np.finfo(float).eps * np.maximum(1.0, np.abs(d[finite]))), error.max()
        assert np.array_equal(np.isnan(rows), np.isnan(expected))  # ±inf·0 stays NaN, as before
    finite = d[np.isfinite(d)]
    weights = np.random.default_rng(4).integers(1, 9, len(finite)).astype(float)
    y = np.random.default_rng(5).choice([0.0, 0.5, 1.0], len(finite))
    total = bt._loglik(finite, bt._sigmoid(finite), y, weights)
    expected = float(np.sum(weights * (y * finite - np.logaddexp(0.0, finite))))
    assert total == pytest.approx(expected, rel=1e-13)


_LOGLIK_BITS = """
import numpy as np
from showdown_pipeline.core import bradley_terry as bt
rng = np.random.default_rng(11)
d = rng.normal(0.0, 3.0, 1_000_000)
y = rng.choice([0.0, 0.5, 1.0], len(d))
w = rng.integers(1, 5, len(d)).astype(float)
print(bt._loglik(d, bt._sigmoid(d), y, w).hex())
"""


def test_the_log_likelihood_has_the_same_bits_on_every_cpu_kernel():
    """At ten million rows the line search's decisions turn on the log-likelihood's last bits, so a sum
    whose rounding depends on the CPU makes the published ratings depend on the machine. OpenBLAS picks a
    kernel per CPU (forced here with OPENBLAS_CORETYPE: SSE3 Prescott and AVX2 Haswell, which any x86-64
    CI machine of today runs); on this million-row sum a BLAS dot product gave other bits under the two
    (…f284 and …f292 against numpy's …f298 on an AMD EPYC), numpy's sum gives one answer."""
    import os
    import subprocess
    import sys

    bits = {
        kernel: subprocess.run(
            [sys.executable, "-c", _LOGLIK_BITS],
            env={**os.environ, "OPENBLAS_CORETYPE": kernel},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for kernel in ("Prescott", "Haswell")
    }
    assert len(set(bits.values())) == 1, bits
