"""Bootstrap, style control and shrinkage: against independent fits, known truths and coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq, minimize

from showdown_pipeline.core import boards, rate_file
from showdown_pipeline.core import bradley_terry as bt


def simulate(
    n: int, strengths: np.ndarray, seed: int, tie_scale: float = 0.4, style: np.ndarray | None = None
):
    """Votes from a known BT world with ties (E[score] = σ(d) exactly, as in the demo world)."""
    rng = np.random.default_rng(seed)
    m = len(strengths)
    left = rng.integers(0, m, n)
    right = (left + rng.integers(1, m, n)) % m
    x = rng.normal(0, 0.5, size=(n, 0 if style is None else len(style)))
    d = strengths[left] - strengths[right] + (x @ style if style is not None else 0.0)
    p = 1 / (1 + np.exp(-d))
    t = tie_scale * 4 * p * (1 - p)
    q = (p - t / 2) / (1 - t)
    u = rng.random(n)
    score = np.where(u < t, 0.5, np.where(rng.random(n) < q, 1.0, 0.0))
    return left, right, score, x


def counts_from(left, right, score, names):
    frame = (
        pd.DataFrame({"l": left, "r": right, "y": score})
        .groupby(["l", "r", "y"])
        .size()
        .reset_index(name="n")
    )
    return bt.PairCounts.from_cells(
        [names[i] for i in frame.l], [names[i] for i in frame.r], frame.y, frame.n
    )


def test_bootstrap_is_seeded_and_does_not_depend_on_batching():
    names = [f"m{i}" for i in range(6)]
    counts = counts_from(*simulate(3000, np.linspace(0.5, -0.5, 6), seed=1)[:3], names)
    fit = bt.fit_bradley_terry(counts, "m0")
    free = np.arange(6) != 0
    a = bt.bootstrap_thetas(counts, fit.theta, 60, seed=7, free=free, batch=20)
    b = bt.bootstrap_thetas(counts, fit.theta, 60, seed=7, free=free, batch=20)
    c = bt.bootstrap_thetas(counts, fit.theta, 60, seed=8, free=free, batch=20)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.all(a[:, 0] == 0.0)  # the anchor stays pinned


def test_bootstrap_replicates_are_exact_refits():
    """Each replicate equals a from-scratch Newton fit on the same resampled counts."""
    names = [f"m{i}" for i in range(5)]
    counts = counts_from(*simulate(2000, np.linspace(0.8, -0.8, 5), seed=2)[:3], names)
    fit = bt.fit_bradley_terry(counts, "m0")
    free = np.arange(5) != 0
    thetas = bt.bootstrap_thetas(counts, fit.theta, 5, seed=3, free=free, batch=5, tol=1e-10)
    cells = bt.resampling_cells(counts)  # the excess ties' coins: part of each tie cell drawn as wins, losses
    assert len(cells.count) > len(counts.count)
    assert cells.count.sum() == pytest.approx(counts.count.sum())  # the votes, and the fit, are unchanged
    assert cells.count @ cells.score == pytest.approx(counts.count @ counts.score)
    weights = np.random.default_rng(np.random.SeedSequence(3).spawn(1)[0]).poisson(
        cells.count, size=(5, len(cells.count))
    )
    for i in range(5):
        replicate = bt.PairCounts(
            cells.models, cells.left, cells.right, cells.score, weights[i].astype(float)
        )
        direct = bt.fit_bradley_terry(replicate, "m0", ridge=0.0)
        np.testing.assert_allclose(thetas[i], direct.theta, atol=1e-8)


@pytest.mark.slow
def test_bootstrap_intervals_cover_the_truth_about_95_percent():
    """Across seeds, the 95% percentile intervals (relative to the board mean) cover the true strengths."""
    truth = np.linspace(0.6, -0.6, 8)
    names = [f"m{i}" for i in range(8)]
    covered = []
    for seed in range(12):
        counts = counts_from(*simulate(4000, truth, seed=100 + seed)[:3], names)
        fit = bt.fit_bradley_terry(counts, "m0")
        thetas = bt.bootstrap_thetas(counts, fit.theta, 300, seed=seed, free=np.arange(8) != 0)
        lo, hi = bt.percentile_interval(thetas, fit.theta)
        # compare on the same footing: the truth re-expressed relative to its mean, placed like θ̂
        target = truth - truth.mean() + fit.theta.mean()
        covered.extend((lo <= target) & (target <= hi))
    coverage = float(np.mean(covered))
    assert 0.88 <= coverage <= 0.99, coverage


def test_bootstrap_and_sandwich_agree_on_a_large_sample():
    names = [f"m{i}" for i in range(6)]
    counts = counts_from(*simulate(60_000, np.linspace(0.5, -0.5, 6), seed=4)[:3], names)
    fit = bt.fit_bradley_terry(counts, "m0")
    thetas = bt.bootstrap_thetas(counts, fit.theta, 400, seed=1, free=np.arange(6) != 0)
    lo, hi = bt.percentile_interval(thetas, fit.theta)
    sandwich = 2 * bt.Z_95 * fit.centred_se()
    np.testing.assert_allclose(hi - lo, sandwich, rtol=0.15)


def test_style_fit_agrees_with_an_independent_fit_and_recovers_the_coefficients():
    truth = np.array([0.4, 0.1, -0.2, -0.3])
    beta = np.array([0.8, -0.3])
    left, right, score, x = simulate(40_000, truth, seed=5, style=beta)
    names = ("a", "b", "c", "d")
    fit = bt.fit_style_bradley_terry(names, left, right, score, x, np.ones(len(score)), "a", ridge=1.0)
    # independent: scipy L-BFGS on the per-vote likelihood, with the same scaling and ridge
    scale = np.sqrt(np.mean(x**2, axis=0))
    xs = x / scale

    def nll(params):
        theta = np.insert(params[:3], 0, 0.0)
        b = params[3:]
        d = theta[left] - theta[right] + xs @ b
        ll = np.sum(score * -np.logaddexp(0, -d) + (1 - score) * -np.logaddexp(0, d))
        return -(ll - 0.5 * 1.0 * b @ b)

    res = minimize(
        nll, np.zeros(5), method="L-BFGS-B", options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-10}
    )
    assert np.max(np.abs(fit.theta[1:] - res.x[:3])) * bt.ELO_SCALE < 0.01
    assert np.max(np.abs(fit.beta - res.x[3:])) < 1e-4
    np.testing.assert_allclose(fit.beta / fit.feature_scale, beta, rtol=0.1)
    np.testing.assert_allclose(fit.theta[1:] - fit.theta[0], truth[1:] - truth[0], atol=0.05)
    # the sandwich, written out densely from the scipy optimum: H⁻¹ M H⁻¹ over (θ without the anchor, β)
    theta = np.insert(res.x[:3], 0, 0.0)
    z = np.hstack([(np.eye(4)[left] - np.eye(4)[right])[:, 1:], xs])
    p = 1 / (1 + np.exp(-(theta[left] - theta[right] + xs @ res.x[3:])))
    hess = z.T @ (z * (p * (1 - p))[:, None]) + np.diag([0, 0, 0, 1.0, 1.0])
    meat = z.T @ (z * ((score - p) ** 2 + _coins(left, right, score) * score * (1 - score))[:, None])
    dense = np.linalg.solve(hess, np.linalg.solve(hess, meat).T)
    np.testing.assert_allclose(fit.cov[1:, 1:], dense, rtol=1e-4)


def _coins(left, right, score) -> np.ndarray:
    """Per vote, written out with pandas: the share of its pair's ties that count as fair coins, 1 − t̄/t
    (t the pair's tie share, either order; t̄ the board's, with one decisive pseudo-vote), at least 0."""
    votes = pd.DataFrame(
        {"pair": [tuple(sorted(p)) for p in zip(left, right, strict=True)], "tie": score == 0.5}
    )
    board = votes["tie"].sum() / (len(votes) + 1)
    pair_share = votes.groupby("pair")["tie"].transform("mean")
    return np.where(votes["tie"], np.clip(1 - board / pair_share.where(pair_share > 0, 1.0), 0, 1), 0.0)


def test_style_fit_on_aggregated_rows_equals_the_fit_on_every_vote_and_leaves_its_input_alone():
    left, right, score, x = simulate(20_000, np.array([0.3, 0.0, -0.2]), seed=9, style=np.array([0.6]))
    x = np.round(x, 1)  # coarse features, so identical rows exist and aggregate
    names = ("a", "b", "c")
    every_vote = bt.fit_style_bradley_terry(names, left, right, score, x, None, "a")
    frame = pd.DataFrame({"l": left, "r": right, "y": score, "x": x[:, 0]})
    cells = frame.groupby(["l", "r", "y", "x"]).size().reset_index(name="n")
    assert len(cells) < len(frame) / 2
    features = np.ascontiguousarray(cells[["x"]].to_numpy().T)
    features.flags.writeable = False  # as Arrow and pandas hand arrays over
    before = features.copy()
    aggregated = bt.fit_style_bradley_terry(
        names,
        cells["l"].to_numpy(),
        cells["r"].to_numpy(),
        cells["y"].to_numpy(),
        features,
        cells["n"].to_numpy(dtype=float),
        "a",
        features_by_row=False,
    )
    np.testing.assert_array_equal(features, before)
    np.testing.assert_allclose(aggregated.theta, every_vote.theta, atol=1e-10)
    np.testing.assert_allclose(aggregated.beta, every_vote.beta, atol=1e-10)
    np.testing.assert_allclose(aggregated.cov, every_vote.cov, rtol=1e-8, atol=1e-14)


def _per_vote_counts(left, right, score, names, copies: int = 1) -> bt.PairCounts:
    """One cell per vote (count 1), each vote repeated `copies` times in a row."""
    rep = lambda a: np.repeat(np.asarray(a), copies)  # noqa: E731
    return bt.PairCounts(
        tuple(names), rep(left), rep(right), rep(score).astype(float), np.ones(len(left) * copies)
    )


def test_voter_clustered_sandwich_against_two_exact_cases():
    names = [f"m{i}" for i in range(5)]
    left, right, score, _ = simulate(6000, np.array([0.4, 0.2, 0.0, -0.1, -0.5]), seed=11)
    aggregated = counts_from(left, right, score, names)
    fit = bt.fit_bradley_terry(aggregated, "m0")
    # one vote per voter: nothing to cluster, so exactly the plain sandwich
    per_vote = _per_vote_counts(left, right, score, names)
    alone = bt.clustered_sandwich_covariance(per_vote, fit.theta, 0, np.arange(len(score)))
    np.testing.assert_allclose(alone, fit.cov, rtol=1e-9, atol=1e-15)
    # every voter casts the same vote three times: the fit is unchanged, the plain sandwich thinks it
    # has three times the data (variance / 3), the clustered one knows it has not
    copies = _per_vote_counts(left, right, score, names, copies=3)
    tripled = bt.fit_bradley_terry(counts_from(copies.left, copies.right, copies.score, names), "m0")
    np.testing.assert_allclose(tripled.theta, fit.theta, atol=1e-9)
    # (to 1e-4, not 1e-9: the board's tie share counts one decisive pseudo-vote, whatever the data's size,
    # so the coins of the excess ties (bt.tie_coin_share) differ by a hair between 6,000 and 18,000 votes)
    np.testing.assert_allclose(tripled.cov, fit.cov / 3, rtol=1e-4, atol=1e-15)
    clustered = bt.clustered_sandwich_covariance(copies, fit.theta, 0, np.repeat(np.arange(len(score)), 3))
    np.testing.assert_allclose(clustered, 3 * tripled.cov, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(clustered, fit.cov, rtol=1e-4, atol=1e-15)  # the pseudo-vote, as above


def test_board_gets_a_clustered_interval_and_its_design_effect():
    names = [f"m{i}" for i in range(4)] + ["lonely"]
    left, right, score, _ = simulate(8000, np.array([0.3, 0.1, 0.0, -0.2]), seed=12)
    voter = np.arange(len(score)) // 2  # two independent votes per voter
    cells = (
        pd.DataFrame(
            {
                "model_left": [names[i] for i in left],
                "model_right": [names[i] for i in right],
                "winner": np.select([score == 1, score == 0], ["left", "right"], "both_good"),
            }
        )
        .value_counts()
        .reset_index(name="n")
    )
    stats = pd.DataFrame({"model_id": names[:4], "votes": 4000, "users": 2000, "top_user_share": 0.0})
    board = boards.build_board(cells, stats, "m0", 1000.0)
    # a vote of the disconnected model 'lonely' is in the voter cells but not on the board
    extra_left, extra_right = np.append(left, 4), np.append(right, 0)
    summary = boards.add_voter_clustered_interval(
        board,
        names,
        np.append(voter, 999_999),
        extra_left,
        extra_right,
        np.append(score, 1.0),
        np.ones(len(score) + 1),
    )
    frame = board.frame.set_index("model_id")
    assert summary["voters"] == 4000
    assert 0.8 < summary["design_effect_median"] < 1.25  # independent votes: about the plain interval
    width = frame["cluster_upper"] - frame["cluster_lower"]
    plain = frame["sandwich_upper"] - frame["sandwich_lower"]
    np.testing.assert_allclose(width, plain, rtol=0.15)
    np.testing.assert_allclose((frame["cluster_upper"] + frame["cluster_lower"]) / 2, frame["rating"])


def test_rate_file_by_voter_sees_repeated_votes_of_one_judge(tmp_path):
    names = ["alpha", "beta", "gamma", "delta"]
    left, right, score, _ = simulate(3000, np.array([0.3, 0.1, -0.1, -0.3]), seed=13)
    labels = np.select([score == 1, score == 0], ["model_a", "model_b"], "tie")
    votes = pd.DataFrame(
        {"model_a": [names[i] for i in left], "model_b": [names[i] for i in right], "winner": labels}
    )
    # every judge casts the same vote three times; one more vote has no judge (a voter of its own)
    tripled = votes.loc[votes.index.repeat(3)].assign(judge=[f"j{i // 3}" for i in range(3 * len(votes))])
    extra = pd.DataFrame({"model_a": ["alpha"], "model_b": ["beta"], "winner": ["model_a"], "judge": [None]})
    path = tmp_path / "votes.parquet"
    pd.concat([tripled, extra], ignore_index=True).to_parquet(path)
    rated = rate_file.rate_table(path, bootstrap=0, by_voter=True)
    assert rated.clustering["voters"] == len(votes) + 1
    # identical copies carry no new information: the clustered variance is 3x the plain one
    assert rated.clustering["design_effect_median"] == pytest.approx(3.0, rel=0.01)
    board = rated.board.set_index("model_id")
    width = board["cluster_upper"] - board["cluster_lower"]
    np.testing.assert_allclose(
        width, np.sqrt(3) * (board["sandwich_upper"] - board["sandwich_lower"]), rtol=0.01
    )
    votes.to_parquet(tmp_path / "no_judge.parquet")
    with pytest.raises(ValueError, match="needs a judge column"):
        rate_file.rate_table(tmp_path / "no_judge.parquet", by_voter=True)


def _segment_world(effect: float, seed: int):
    """Three segments of one dimension; in segment 'b', model m2 is `effect` stronger."""
    truth = np.array([0.5, 0.2, 0.0, -0.3, -0.4])
    names = [f"m{i}" for i in range(5)]
    rows = []
    for k, value in enumerate(("a", "b", "c")):
        t = truth.copy()
        if value == "b":
            t[2] += effect
        left, right, score, _ = simulate(6000, t, seed=seed + k)
        frame = pd.DataFrame(
            {"model_left": [names[i] for i in left], "model_right": [names[i] for i in right], "y": score}
        )
        frame["winner"] = frame["y"].map({1.0: "left", 0.0: "right", 0.5: "both_good"})
        cells = frame.groupby(["model_left", "model_right", "winner"]).size().reset_index(name="n")
        cells.insert(0, "segment_value", value)
        rows.append(cells)
    cells = pd.concat(rows, ignore_index=True)
    overall_cells = cells.groupby(["model_left", "model_right", "winner"], as_index=False)["n"].sum()
    stats = pd.DataFrame({"model_id": names, "votes": 10_000, "users": 500, "top_user_share": 0.01})
    overall = boards.build_board(overall_cells, stats, "m0", 1000.0)
    seg_stats = pd.concat([stats.assign(segment_value=v) for v in ("a", "b", "c")], ignore_index=True)
    return cells, seg_stats, overall


def test_shrinkage_strength_is_chosen_from_the_data():
    cells, _, overall = _segment_world(effect=0.0, seed=10)
    sd_same, _ = boards.choose_shrinkage(cells, overall, seed=1)
    cells, _, overall = _segment_world(effect=1.2, seed=10)
    sd_diff, scores = boards.choose_shrinkage(cells, overall, seed=1)
    assert sd_same <= 0.1 < sd_diff
    assert set(scores) == {f"{sd:g}" for sd in boards.SHRINKAGE_SD_GRID}


def test_segment_board_flags_the_planted_difference_and_keeps_the_unshrunk_estimate():
    cells, stats, overall = _segment_world(effect=0.8, seed=20)
    sd, _ = boards.choose_shrinkage(cells, overall, seed=2)
    frame = boards.build_segment_boards(cells, stats, overall, "country", sd, bootstrap_rounds=100, seed=3)
    b = frame[frame["segment_value"] == "b"].set_index("model_id")
    assert b.loc["m2", "differs_from_overall"] and b.loc["m2", "diff_vs_overall"] > 0
    # the shrunk estimate lies between the overall rating and the unshrunk one
    overall_rating = overall.frame.set_index("model_id").loc["m2", "rating"]
    assert overall_rating < b.loc["m2", "rating"] <= b.loc["m2", "rating_unshrunk"]
    # every flagged difference points the way the true one does (the overall board mixes the three
    # segments, so m2 is truly weaker than overall in a and c, and the others shift a little)
    truth = np.array([0.5, 0.2, 0.0, -0.3, -0.4])
    by_segment = {v: truth + (np.eye(5)[2] * 0.8 if v == "b" else 0) for v in ("a", "b", "c")}
    mixed = np.mean(list(by_segment.values()), axis=0)
    flagged = frame[frame["differs_from_overall"]]
    assert len(flagged) >= 3
    for row in flagged.itertuples():
        true_diff = by_segment[row.segment_value] - mixed
        true_diff -= true_diff.mean()
        assert np.sign(row.diff_vs_overall) == np.sign(true_diff[int(row.model_id[1])])
    # every segment's deviations from the overall board sum to zero: one scale for all boards
    for _, group in frame.groupby("segment_value"):
        assert abs(group["diff_vs_overall"].sum()) < 1e-6


def test_segment_without_the_anchor_and_with_a_never_winning_model():
    cells = pd.DataFrame(
        {
            "segment_value": ["x"] * 4,
            "model_left": ["m1", "m2", "m1", "m3"],
            "model_right": ["m2", "m1", "m3", "m1"],
            "winner": ["left", "left", "left", "right"],
            "n": [40, 25, 30, 10],
        }
    )
    overall_cells = pd.DataFrame(
        {
            "model_left": ["m0", "m0", "m1", "m2", "m3", "m3"],
            "model_right": ["m1", "m2", "m0", "m3", "m0", "m1"],
            "winner": ["left", "left", "left", "right", "right", "left"],
            "n": [50, 60, 30, 40, 20, 10],
        }
    )
    stats = pd.DataFrame(
        {"model_id": ["m0", "m1", "m2", "m3"], "votes": 100, "users": 60, "top_user_share": 0.05}
    )
    overall = boards.build_board(overall_cells, stats, "m0", 1000.0)
    frame = boards.build_segment_boards(cells, stats.assign(segment_value="x"), overall, "country", 0.2)
    assert set(frame["model_id"]) == {"m1", "m2", "m3"}  # the anchor m0 has no votes here
    assert np.all(np.isfinite(frame["rating"]))
    m3 = frame.set_index("model_id").loc["m3"]  # m3 never wins in this segment
    assert np.isnan(m3["rating_unshrunk"]) and m3["provisional"] and "cannot rate" in m3["provisional_reason"]


def rate_file_counts(path) -> bt.PairCounts:
    """The fit-ready cells `showdown rate` builds from a vote table."""
    cells, _, _, _ = rate_file.load_cells(path)
    return boards.pair_counts_from_frame(cells)


def test_two_models_only_and_rate_file(tmp_path, real_fixtures):
    from showdown_pipeline.core import rate_file

    votes = pd.DataFrame(
        {
            "model_a": ["x"] * 30 + ["y"] * 10,
            "model_b": ["y"] * 30 + ["x"] * 10,
            "winner": ["model_a"] * 20 + ["model_b"] * 10 + ["tie"] * 5 + ["model_a"] * 5,
        }
    )
    path = tmp_path / "two.csv"
    votes.to_csv(path, index=False)
    rated = rate_file.rate_table(path, bootstrap=50, anchor="y")
    board = rated.board.set_index("model_id")
    # x won 20, y won 10 + 5, 5 ties: x scored 22.5 of 40 against y. Maximum likelihood: θ = ln(22.5/17.5).
    # The board's prior λ/2·Σ(θ − θ̄)² = λθ²/4 adds −λθ/2 to the score: 22.5 − 40·σ(θ) = λθ/2.
    lam = bt.RATING_PRIOR_PRECISION
    posterior_mode = brentq(lambda t: 22.5 - 40 / (1 + np.exp(-t)) - lam * t / 2, 0.0, 2.0, xtol=1e-14)
    assert board.loc["x", "rating"] == pytest.approx(1000 + bt.ELO_SCALE * posterior_mode, abs=1e-6)
    assert 0 < np.log(22.5 / 17.5) - posterior_mode < 2e-4  # a few hundredths of an Elo
    plain = bt.fit_bradley_terry(rate_file_counts(path), "y")  # the plain MLE stays available
    assert plain.theta[0] == pytest.approx(np.log(22.5 / 17.5), abs=1e-10)
    assert list(rated.board.columns[:6]) == list(rate_file.RATE_COLUMNS)

    arena = rate_file.rate_table(real_fixtures / "arena_2023_human_votes.jsonl", bootstrap=0)
    assert arena.rows_in == arena.rows_scored == 26_919
    assert arena.board.iloc[0]["model_id"] == "gpt-4"


def test_rate_file_style_board_from_integer_codes(tmp_path):
    """`showdown rate --style`: SQL hands over model codes and scores; the result equals the string path."""
    from showdown_pipeline.core import rate_file

    rng = np.random.default_rng(11)
    n, names = 20_000, ["m-a", "m-b", "m-c", "m-d"]
    a = rng.integers(0, 4, n)
    b = (a + rng.integers(1, 4, n)) % 4
    tok_a, tok_b = rng.integers(100, 800, n), rng.integers(100, 800, n)
    d = (
        np.array([0.4, 0.1, -0.1, -0.4])[a]
        - np.array([0.4, 0.1, -0.1, -0.4])[b]
        + 1.0 * (tok_a - tok_b) / (tok_a + tok_b)
    )
    win = rng.random(n) < 1 / (1 + np.exp(-d))
    frame = pd.DataFrame(
        {
            "model_a": np.array(names)[a],
            "model_b": np.array(names)[b],
            "winner": np.where(win, "model_a", "model_b"),
            "tokens_a": tok_a,
            "tokens_b": tok_b,
            "headers_a": 1,
            "headers_b": 1,
            "lists_a": 0,
            "lists_b": 0,
            "bold_a": 0,
            "bold_b": 0,
            "latency_ms_a": 1000,
            "latency_ms_b": 1000,
        }
    )
    path = tmp_path / "votes.parquet"
    frame.to_parquet(path)
    rated = rate_file.rate_table(path, style=True)
    tokens = next(c for c in rated.coefficients if c["feature"] == "tokens")
    assert tokens["coefficient_per_unit_difference"] == pytest.approx(1.0, rel=0.15)
    assert list(rated.board["model_id"]) == names  # strongest first, on the true order
    # the string path (what the pipeline's style_ratings asset uses) gives the same board
    rows = frame.assign(
        model_left=frame["model_a"],
        model_right=frame["model_b"],
        winner=np.where(win, "left", "right"),
        tokens=(tok_a - tok_b) / (tok_a + tok_b),
        headers=0.0,
        lists=0.0,
        bold=0.0,
        latency_ms=0.0,
        n=1,
    )
    stats = pd.DataFrame({"model_id": names, "votes": 1, "users": 1, "top_user_share": 0.0})
    by_strings = boards.build_style_board(rows, stats, rated.anchor, 1000.0).frame.set_index("model_id")[
        "rating"
    ]
    np.testing.assert_allclose(
        rated.board.set_index("model_id")["rating"].reindex(by_strings.index), by_strings, atol=1e-6
    )


def test_style_rows_refuse_a_row_without_a_model_code():
    import pyarrow as pa

    columns = {"left_code": [0, None], "right_code": [1, 0], "score": [1.0, 0.5], "n": [1, 1]}
    table = pa.table({**columns, **{name: [0.1, -0.2] for name in boards.STYLE_FEATURES}})
    with pytest.raises(bt.RatingError, match="empty left_code"):
        boards.StyleRows.from_arrow(table, ["a", "b"])
    fixed = table.set_column(0, "left_code", pa.array([0, 1]))
    rows = boards.StyleRows.from_arrow(fixed, ["a", "b"])
    assert rows.weight is None and rows.features.shape == (len(boards.STYLE_FEATURES), 2)


def _write_vote_table(path, winners: dict[tuple[str, str], int]) -> None:
    """A vote table in the format its extension names (csv, jsonl, json, parquet), LMArena labels."""
    rows = [
        {"model_a": a, "model_b": b, "winner": "model_a"} for (a, b), n in winners.items() for _ in range(n)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_json(path, orient="records")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".json", ".parquet"])
@pytest.mark.parametrize("stem", ["votes[1]", "votes*", "votes?", "[x]/votes"])
def test_rate_file_reads_the_file_it_is_given_never_a_glob_match(tmp_path, stem, suffix):
    """`showdown rate 'votes[1].csv'` rated votes1.csv: DuckDB's readers take globs, and fall back to the
    literal name only when the pattern matches nothing. Here every name has siblings its pattern matches
    (votes1, votes2, votesX, x/votes, with other models): only the file asked for (models X and Y) is
    rated, in every format."""
    for sibling in ("votes1", "votes2", "votesX", "x/votes"):
        _write_vote_table(tmp_path / f"{sibling}{suffix}", {("P", "Q"): 4, ("Q", "P"): 4})
    asked = tmp_path / f"{stem}{suffix}"
    _write_vote_table(asked, {("X", "Y"): 5, ("Y", "X"): 1})
    rated = rate_file.rate_table(asked, bootstrap=0)
    assert set(rated.board["model_id"]) == {"X", "Y"}
    assert rated.rows_in == 6


def test_showdown_rate_command_rates_the_literal_file(tmp_path, capsys):
    """The attack's case through the command itself, in this process (a `python -m` child imports the
    package from its working directory first, so its outcome could depend on where the suite runs)."""
    from showdown_pipeline.cli import main

    asked = tmp_path / "votes[1].csv"
    asked.write_text("model_a,model_b,winner\n" + "X,Y,model_a\nY,X,model_a\n" * 5)
    (tmp_path / "votes1.csv").write_text("model_a,model_b,winner\n" + "P,Q,model_a\nQ,P,model_b\n" * 4)
    out = tmp_path / "board.parquet"
    assert main(["rate", str(asked), "--bootstrap", "0", "--out", str(out)]) == 0
    assert set(pd.read_parquet(out)["model_id"]) == {"X", "Y"}
    assert "10 of 10 rows scored" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("cut.jsonl", b'{"model_a": "a", "model_b": "b", "winner": "model_a"}\n{"model_a": \n'),
        ("not.parquet", b"PAR1 this is not a parquet file"),
        ("quote.csv", b'model_a,model_b,winner\n"a,b,model_a\n"\n\x00\xff'),
    ],
)
def test_showdown_rate_refuses_an_unreadable_file_in_one_line(tmp_path, capsys, name, content):
    """A vote table the reader cannot parse ends `showdown rate` with exit 2 and the reader's error in one
    line naming the file (it used to escape as a DuckDB traceback)."""
    from showdown_pipeline import cli

    path = tmp_path / name
    path.write_bytes(content)
    assert cli.main(["rate", str(path), "--bootstrap", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("showdown: ")
    assert name in err and "Traceback" not in err


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
@pytest.mark.parametrize(
    "hidden",
    [
        "X\u200b",
        "X\u00a0",
        "X\u2028",
        "\u202eX",
        "X\ufe0f",
        "X\u3164",
        "X ",
        " X",
        "X  Y",
        "X\ue000",
        "X\U0010fffd",
    ],
)
def test_showdown_rate_refuses_a_model_id_that_prints_as_another(tmp_path, capsys, suffix, hidden):
    """`showdown rate` applied no model-id rule: "X\\u200b" or "X " beside "X" were two rows both reading "X"
    (an attack on the issue-16 fix, which only the pipeline's validation applied). The table is refused,
    in one line naming the id escaped; "X Y" (one inner ASCII space) is an ordinary id."""
    from showdown_pipeline import cli

    path = tmp_path / f"votes{suffix}"
    _write_vote_table(path, {("X", "Y"): 3, (hidden, "Y"): 3})
    with pytest.raises(ValueError, match="print as another's") as refused:
        rate_file.rate_table(path, bootstrap=0)
    assert ascii(hidden) in str(refused.value)
    assert cli.main(["rate", str(path), "--bootstrap", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ascii(hidden) in err
    fine = tmp_path / f"fine{suffix}"
    _write_vote_table(fine, {("X", "X Y"): 3, ("X Y", "X"): 2})
    assert set(rate_file.rate_table(fine, bootstrap=0).board["model_id"]) == {"X", "X Y"}


def test_segment_counts_fold_every_value_as_one_value_alone_would_be_folded():
    """segment_counts folds every value's cells in one pass; each value's counts must be what folding its
    cells alone gives, written out here the plain way: each cell turned to (a, b, score) with a < b by
    hand, summed per key in a dict, models sorted by Python (a value whose cells all name an unknown
    model: None; a NULL value: no board)."""
    rng = np.random.default_rng(7)
    names = ["m-b", "m-a", "Zed", "zed", "m\u00e9", "m10", "m9", "ghost"]  # case, accents, digits
    winners = list(boards.WINNER_SCORE)
    n = 4000
    cells = pd.DataFrame(
        {
            "segment_value": rng.choice(["FR", "de", "DE", "only-ghost", None], n),
            "model_left": rng.choice(names, n),
            "model_right": rng.choice(names, n),
            "winner": rng.choice(winners, n),
            "n": rng.integers(1, 50, n),
        }
    )
    cells = cells[cells["model_left"] != cells["model_right"]]
    cells.loc[cells["segment_value"] == "only-ghost", "model_left"] = "ghost"
    # a row of no value is never folded, so its label is never judged (a groupby per value dropped it)
    junk = {"segment_value": None, "model_left": "m-a", "model_right": "m-b", "winner": "tie?", "n": 1}
    cells = pd.concat([cells, pd.DataFrame([junk])], ignore_index=True)
    known = set(names) - {"ghost"}

    got = boards.segment_counts(cells, known)

    assert [value for value, _ in got] == sorted({"FR", "de", "DE", "only-ghost"})
    for value, counts in got:
        rows = cells[(cells["segment_value"] == value)]
        sums: dict[tuple[str, str, float], float] = {}
        for row in rows.itertuples():
            if row.model_left not in known or row.model_right not in known:
                continue
            y = boards.WINNER_SCORE[row.winner]
            a, b, y = (
                (row.model_left, row.model_right, y)
                if row.model_left < row.model_right
                else (row.model_right, row.model_left, 1.0 - y)
            )
            sums[(a, b, y)] = sums.get((a, b, y), 0.0) + float(row.n)
        if not sums:
            assert counts is None, value
            continue
        keys = sorted(sums)
        expected = bt.PairCounts.from_cells(
            [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], [sums[k] for k in keys]
        )
        assert counts.models == expected.models == tuple(sorted({k[0] for k in keys} | {k[1] for k in keys}))
        for column in ("left", "right", "score", "count"):
            np.testing.assert_array_equal(getattr(counts, column), getattr(expected, column), err_msg=column)
        assert counts.left.dtype == counts.right.dtype == np.int64
    # the one-frame form (the overall board's) is the same fold
    one = cells[
        (cells["segment_value"] == "FR") & cells["model_left"].isin(known) & cells["model_right"].isin(known)
    ]
    assert _same_counts(boards.pair_counts_from_frame(one), dict(got)["FR"])


def _same_counts(x: bt.PairCounts, y: bt.PairCounts) -> bool:
    return x.models == y.models and all(
        np.array_equal(getattr(x, c), getattr(y, c)) for c in ("left", "right", "score", "count")
    )


def test_dimension_boards_are_the_shrinkage_choice_then_the_boards():
    """The asset's one call (boards.dimension_boards, cells folded once) gives exactly what the two steps
    pinned by core/test_one_solver.py give: choose_shrinkage, then build_segment_boards with its sd."""
    cells, stats, overall = _segment_world(effect=0.8, seed=20)
    notes: list[str] = []
    frame, sd, scores = boards.dimension_boards(
        cells, stats, overall, "country", bootstrap_rounds=30, seed=2, notes=notes
    )
    chosen, expected_scores = boards.choose_shrinkage(cells, overall, seed=2)
    expected = boards.build_segment_boards(
        cells, stats, overall, "country", chosen, bootstrap_rounds=30, seed=2
    )
    assert (sd, scores) == (chosen, expected_scores)
    pd.testing.assert_frame_equal(frame, expected)
    given = boards.dimension_boards(cells, stats, overall, "country", prior_sd=0.4, seed=2)
    assert given[1:] == (0.4, {})
    pd.testing.assert_frame_equal(
        given[0], boards.build_segment_boards(cells, stats, overall, "country", 0.4, seed=2)
    )
    empty = boards.dimension_boards(cells.iloc[:0], stats, overall, "country", seed=2)
    assert empty[0].empty and empty[1:] == (None, {})
