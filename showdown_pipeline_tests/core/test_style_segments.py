"""Style segment boards (core/style_segments.py): the fit on aggregated rows against an independent per-vote
fit, the shrinkage at its boundaries, and the coefficient-shift score test against an independent
per-vote computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy.optimize import minimize
from scipy.stats import chi2

from showdown_pipeline.core import boards, style_segments
from showdown_pipeline.core import bradley_terry as bt

MODELS = ["a", "b", "c", "d", "e"]
TRUE_THETA = np.array([0.6, 0.3, 0.0, -0.2, -0.7])
BETA = np.array([0.9, 0.2, 0.1, 0.05, -0.4])  # per unit difference, STYLE_FEATURES order
SCALE = np.array([0.5, 0.4, 0.4, 0.3, 0.2])
COEFFICIENTS = [
    {"feature": f, "coefficient_per_unit_difference": b, "feature_sd": s, "coefficient": b * s}
    for f, b, s in zip(boards.STYLE_FEATURES, BETA, SCALE, strict=True)
]
OVERALL_THETA = np.array([0.0, -0.25, -0.55, -0.8, -1.3])  # the overall style board's θ (anchor a)
OVERALL_SE = np.array([0.02, 0.03, 0.025, 0.04, 0.05])  # and its standard errors (the prior's own error)


def votes(n: int, seed: int, segment: str, shift: np.ndarray | None = None) -> pd.DataFrame:
    """Per-vote rows of one segment: features on a coarse grid (so identical rows exist and aggregate),
    outcomes from the style model with coefficients BETA (+ `shift`), with ties as the demo world makes them
    (E[score] = σ(d) exactly, so the model holds)."""
    rng = np.random.default_rng(seed)
    left = rng.integers(0, 5, n)
    right = (left + rng.integers(1, 5, n)) % 5
    z = rng.choice([-0.5, 0.0, 0.5], size=(n, 5))
    beta = BETA if shift is None else BETA + shift
    p = 1 / (1 + np.exp(-(TRUE_THETA[left] - TRUE_THETA[right] + z @ beta)))
    tie = 0.45 * 4 * p * (1 - p)
    win = (p - tie / 2) / (1 - tie)
    score = np.where(rng.random(n) < tie, 0.5, (rng.random(n) < win).astype(float))
    frame = pd.DataFrame(z, columns=list(boards.STYLE_FEATURES))
    return frame.assign(segment_value=segment, left_code=left, right_code=right, score=score)


def aggregated(per_vote: pd.DataFrame) -> pa.Table:
    """One dimension's style rows (StyleVotes.of of sql/ratings/segment_style_votes.sql): identical rows counted."""
    keys = ["segment_value", "left_code", "right_code", "score", *boards.STYLE_FEATURES]
    rows = per_vote.groupby(keys, as_index=False).size().rename(columns={"size": "n"})
    rows["left_code"], rows["right_code"] = (
        rows["left_code"].astype("int32"),
        rows["right_code"].astype("int32"),
    )
    return pa.Table.from_pandas(rows, preserve_index=False)


def overall_style_board() -> boards.Board:
    frame = pd.DataFrame(
        {
            "model_id": MODELS,
            "theta": OVERALL_THETA,
            "se": OVERALL_SE,
            "component": 1,
            "component_anchor": "a",
        }
    )
    return boards.Board(frame=frame, anchor="a", anchor_rating=1000.0)


def stats_for(per_vote: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for value, group in per_vote.groupby("segment_value"):
        for i, m in enumerate(MODELS):
            n = int(((group["left_code"] == i) | (group["right_code"] == i)).sum())
            rows.append((value, m, n, 100, 0.01))
    return pd.DataFrame(rows, columns=["segment_value", "model_id", "votes", "users", "top_user_share"])


def fit(per_vote: pd.DataFrame, prior_sd: float | None = 0.3):
    table = aggregated(per_vote)
    segments = style_segments.style_segments(table, MODELS, set(MODELS), BETA)
    frame, parameters = style_segments.build_style_segment_boards(
        segments, stats_for(per_vote), overall_style_board(), COEFFICIENTS, "country", prior_sd, seed=3
    )
    return frame, parameters, segments


def independent_fit(group: pd.DataFrame, penalty: float) -> np.ndarray:
    """Per vote, by scipy: maximise Σ[y·d − log(1 + e^d)] − penalty/2 · |θ − overall|², d = θ_l − θ_r + zᵀβ."""
    left, right = group["left_code"].to_numpy(), group["right_code"].to_numpy()
    offset = group[list(boards.STYLE_FEATURES)].to_numpy() @ BETA
    y = group["score"].to_numpy()

    def objective(theta):
        d = theta[left] - theta[right] + offset
        p = 1 / (1 + np.exp(-d))
        value = -np.sum(y * d - np.logaddexp(0, d)) + 0.5 * penalty * np.sum((theta - OVERALL_THETA) ** 2)
        grad = -(np.bincount(left, y - p, 5) - np.bincount(right, y - p, 5)) + penalty * (
            theta - OVERALL_THETA
        )
        return value, grad

    result = minimize(objective, OVERALL_THETA.copy(), jac=True, method="BFGS", options={"gtol": 1e-11})
    return result.x


def test_style_segment_fit_on_aggregated_rows_equals_an_independent_per_vote_fit():
    """The shrunk style segment ratings, their unshrunk estimate and their sandwich interval, fitted on
    aggregated rows, equal a per-vote fit by scipy with the offsets zᵀβ and the same penalty."""
    per_vote = pd.concat([votes(3000, 1, "DE"), votes(1500, 2, "FR")], ignore_index=True)
    frame, _, segments = fit(per_vote, prior_sd=0.3)
    assert sum(len(s.counts.count) for s in segments) < len(per_vote)  # the rows really aggregate
    assert set(frame["board"]) == {"style"}
    for value, group in per_vote.groupby("segment_value"):
        rows = frame[frame["segment_value"] == value].set_index("model_id").reindex(MODELS)
        theta = independent_fit(group, 1 / 0.3**2)
        np.testing.assert_allclose(rows["rating"], 1000 + bt.ELO_SCALE * theta, atol=1e-4)
        own = independent_fit(group, boards.UNSHRUNK_PENALTY)
        np.testing.assert_allclose(rows["rating_unshrunk"], 1000 + bt.ELO_SCALE * own, atol=1e-3)
        # the sandwich per vote: H = XᵀWX + penalty·I, meat = Σ [(y − p)² + c·y(1 − y)] x xᵀ, where c is
        # the share of a tie counted as a fair coin (ties of a pair beyond the segment's tie share, with one
        # decisive pseudo-vote: README "Ties are never certain"), computed here per vote from the counts
        x = np.zeros((len(group), 5))
        x[np.arange(len(group)), group["left_code"]] += 1
        x[np.arange(len(group)), group["right_code"]] -= 1
        d = x @ theta + group[list(boards.STYLE_FEATURES)].to_numpy() @ BETA
        p = 1 / (1 + np.exp(-d))
        h = x.T @ (x * (p * (1 - p))[:, None]) + np.eye(5) / 0.3**2
        y = group["score"].to_numpy()
        tie = (y > 0) & (y < 1)
        pair = np.minimum(group["left_code"], group["right_code"]) * 5 + np.maximum(
            group["left_code"], group["right_code"]
        )
        pair_ties = pd.Series(tie).groupby(pair.to_numpy()).transform("sum").to_numpy()
        pair_votes = pd.Series(tie).groupby(pair.to_numpy()).transform("size").to_numpy()
        board_share = tie.sum() / (len(y) + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            coin = np.where(tie, np.clip(1 - board_share * pair_votes / pair_ties, 0, 1), 0.0)
        meat = x.T @ (x * ((y - p) ** 2 + coin * y * (1 - y))[:, None])
        # plus the segment's departure from the overall board, δ ~ N(0, 0.3²) on the contrasts, and the
        # overall board's own error (OVERALL_SE), through the penalty: λ²·C(I/λ + diag(se²))C, C = I − 11ᵀ/5
        c, lam = np.eye(5) - 1 / 5, 1 / 0.3**2
        departure = lam**2 * c @ (np.eye(5) / lam + np.diag(OVERALL_SE**2)) @ c
        se = np.sqrt(np.diag(np.linalg.inv(h) @ (meat + departure) @ np.linalg.inv(h)))
        np.testing.assert_allclose(rows["ci_upper"] - rows["rating"], bt.Z_95 * bt.ELO_SCALE * se, rtol=1e-5)
        np.testing.assert_allclose(rows["diff_vs_overall"], bt.ELO_SCALE * (theta - OVERALL_THETA), atol=1e-4)
    assert frame["ci_method"].str.endswith(style_segments.STYLE_METHOD).all()


def test_a_segment_without_votes_is_the_overall_style_board():
    """Zero votes (every row's count 0): the segment's ratings are the overall style board's, exactly."""
    per_vote = votes(600, 4, "DE")
    table = aggregated(per_vote)
    table = table.set_column(
        table.schema.get_field_index("n"), "n", pa.array(np.zeros(table.num_rows, dtype=np.int64))
    )
    segments = style_segments.style_segments(table, MODELS, set(MODELS), BETA)
    frame, _ = style_segments.build_style_segment_boards(
        segments, stats_for(per_vote), overall_style_board(), COEFFICIENTS, "country", 0.3
    )
    rows = frame.set_index("model_id").reindex(MODELS)
    np.testing.assert_allclose(rows["rating"], 1000 + bt.ELO_SCALE * OVERALL_THETA, atol=1e-9)
    assert rows["provisional"].all()


def test_shrinkage_moves_from_the_overall_style_board_to_the_segments_own_fit():
    """A tiny prior sd keeps the segment on the overall style board; as the segment grows (its counts
    multiplied) the shrunk ratings approach its own fit, and the gap falls with every tenfold."""
    per_vote = votes(2000, 5, "DE")
    tight, _, _ = fit(per_vote, prior_sd=1e-4)
    np.testing.assert_allclose(
        tight.set_index("model_id").reindex(MODELS)["rating"], 1000 + bt.ELO_SCALE * OVERALL_THETA, atol=0.01
    )
    table = aggregated(per_vote)
    gaps = []
    for factor in (1, 10, 100, 10_000):
        scaled = table.set_column(
            table.schema.get_field_index("n"), "n", pa.compute.multiply(table["n"], factor)
        )
        segments = style_segments.style_segments(scaled, MODELS, set(MODELS), BETA)
        frame, _ = style_segments.build_style_segment_boards(
            segments, stats_for(per_vote), overall_style_board(), COEFFICIENTS, "country", 0.1
        )
        gaps.append(float(np.max(np.abs(frame["rating"] - frame["rating_unshrunk"]))))
    assert gaps[0] > 5 and all(b < a for a, b in zip(gaps, gaps[1:], strict=False)) and gaps[-1] < 0.05


def independent_score_test(group: pd.DataFrame) -> float:
    """The robust score test per vote with a dense design (anchor column dropped instead of a level penalty)."""
    left, right = group["left_code"].to_numpy(), group["right_code"].to_numpy()
    z = group[list(boards.STYLE_FEATURES)].to_numpy()
    theta = independent_fit(group, 0.0)
    theta -= theta[0]
    x = np.zeros((len(group), 5))
    x[np.arange(len(group)), left] += 1
    x[np.arange(len(group)), right] -= 1
    p = 1 / (1 + np.exp(-(x @ theta + z @ BETA)))
    design = np.hstack([x[:, 1:], z])
    info = design.T @ (design * (p * (1 - p))[:, None])
    residual = group["score"].to_numpy() - p
    u = z.T @ residual
    # each vote's score for δ with the ratings projected out; its variance from the votes (robust)
    efficient_scores = residual[:, None] * (z - x[:, 1:] @ np.linalg.solve(info[:4, :4], info[:4, 4:]))
    variance = efficient_scores.T @ efficient_scores
    return float(u @ np.linalg.solve(variance, u))


def test_coefficient_shift_score_test_matches_a_per_vote_computation_and_finds_a_planted_shift():
    """The p-value column: equal to an independent per-vote score test; a segment whose voters weigh length
    differently (planted shift) gets a tiny p-value, a segment without one does not; segments under the
    vote minimum are not tested (null)."""
    shifted = np.array([-0.8, 0, 0, 0, 0])
    per_vote = pd.concat(
        [votes(4000, 16, "DE"), votes(4000, 7, "FR", shift=shifted), votes(300, 8, "IS")], ignore_index=True
    )
    frame, parameters, _ = fit(per_vote)
    p_of = frame.groupby("segment_value")["style_shift_p_value"].first()
    for value in ("DE", "FR"):
        statistic = independent_score_test(per_vote[per_vote["segment_value"] == value])
        assert p_of[value] == pytest.approx(chi2.sf(statistic, 5), rel=1e-6)
    assert p_of["FR"] < 1e-6 < 0.01 < p_of["DE"]
    assert np.isnan(p_of["IS"])  # 300 votes < STYLE_TEST_MIN_VOTES
    assert parameters["coefficient_test"]["tested"] == 2
    assert parameters["coefficient_test"]["differ_holm_0_05"] == 1
    assert (frame.groupby("segment_value")["style_shift_p_value"].nunique(dropna=False) == 1).all()


def test_holm_rejects_step_down():
    assert style_segments.holm({"a": 0.001, "b": 0.03, "c": 0.04}) == {"a"}
    assert style_segments.holm({"a": 0.001, "b": 0.02, "c": 0.5}) == {"a", "b"}
    assert style_segments.holm({}) == set()


def test_coefficients_missing_a_feature_are_refused():
    with pytest.raises(bt.RatingError, match="lack"):
        style_segments.unit_coefficients(COEFFICIENTS[:4])


@pytest.mark.parametrize("workers", [2, 3])
def test_segments_fitted_on_several_threads_are_one_loops_to_the_bit(monkeypatch, workers):
    """Independent segment values are fitted on fit_workers() threads (boards.in_order); what comes out —
    the held-out scores and the chosen sd, every board row (raw with its bootstrap, style with its sandwich
    and coefficient tests), the notes — is bit for bit what one thread gives, in the same order."""
    per_vote = pd.concat(
        [votes(n, seed, value, shift) for n, seed, value, shift in (
            (1500, 1, "BR", None), (60, 2, "DE", None), (2500, 3, "FR", np.array([0.5, 0, 0, 0, 0])),
            (400, 4, "IN", None), (12, 5, "JP", None), (1200, 6, "US", None),
        )],
        ignore_index=True,
    )  # fmt: skip
    score = {1.0: "left", 0.0: "right", 0.5: "both_good"}
    cells = (
        per_vote.assign(
            model_left=[MODELS[i] for i in per_vote["left_code"]],
            model_right=[MODELS[i] for i in per_vote["right_code"]],
            winner=per_vote["score"].map(score),
        )
        .groupby(["segment_value", "model_left", "model_right", "winner"], as_index=False)
        .size()
        .rename(columns={"size": "n"})
    )

    def everything():
        notes: list[str] = []
        overall = overall_style_board()
        chosen = boards.choose_shrinkage(cells, overall, seed=4, notes=notes)
        raw = boards.build_segment_boards(
            cells,
            stats_for(per_vote),
            overall,
            "country",
            chosen[0],
            bootstrap_rounds=50,
            seed=4,
            notes=notes,
        )
        style, parameters, _ = fit(per_vote, prior_sd=None)
        return chosen, raw, style, parameters, notes

    monkeypatch.setattr(boards, "fit_workers", lambda: 1)
    alone = everything()
    monkeypatch.setattr(boards, "fit_workers", lambda: workers)
    threaded = everything()
    assert threaded[0] == alone[0] and threaded[3] == alone[3] and threaded[4] == alone[4]
    assert alone[3]["coefficient_test"]["tested"] == 3  # BR, FR, US: the tests ran on the threads too
    for one, many in zip(alone[1:3], threaded[1:3], strict=True):
        pd.testing.assert_frame_equal(one, many, check_exact=True)


def _held_fits(monkeypatch, fail_first: bool):
    """(work, the jobs it started) on two threads: job 0 fails or returns at once; every other job waits
    until 0.3 s after the first of them started, so the two threads hold at most jobs 0–2 and the rest are
    queued whatever the machine's speed (the wait only ends the test, it decides nothing; the pool may
    also run job 1 on job 0's thread and never start a second)."""
    import threading

    monkeypatch.setattr(boards, "fit_workers", lambda: 2)
    started, release = [], threading.Event()

    def work(k):
        started.append(k)
        if k == 0:
            if fail_first:
                raise RuntimeError("fit 0 failed")
            return k
        if len(started) == 2:
            threading.Timer(0.3, release.set).start()
        release.wait(10)
        return k

    return work, started


def test_a_failed_segment_fit_starts_no_further_fit(monkeypatch):
    """boards.in_order on two threads: when a fit fails, its error is raised in the jobs' order and the fits
    queued behind it never start (before, the dimension's queued fits all ran before the error came out)."""
    work, started = _held_fits(monkeypatch, fail_first=True)
    with pytest.raises(RuntimeError, match="fit 0 failed"):
        list(boards.in_order(work, ((k,) for k in range(50)), window=10))
    assert 0 in started and set(started) <= {0, 1, 2}, started


def test_a_consumer_that_stops_early_leaves_no_fit_running(monkeypatch):
    """Closing the generator (a consumer that stops after the first result) cancels the queued fits."""
    work, started = _held_fits(monkeypatch, fail_first=False)
    results = boards.in_order(work, ((k,) for k in range(100)), window=10)
    assert next(results) == 0
    results.close()
    assert 0 in started and set(started) <= {0, 1, 2}, started


def test_style_rows_of_every_dimension_split_by_one_are_its_own_grouped_rows():
    """StyleVotes.of against pandas: rows that differ only in another dimension's value merge (counts
    summed), a missing value drops the row, and the rows come out ordered by (value, models, score,
    features), values sorted as Python sorts them (accents and case included)."""
    rng = np.random.default_rng(5)
    n = 4000
    frame = pd.DataFrame(
        {
            "first": rng.choice(["b", "a", "É", "é", None], n),
            "second": rng.choice(["x", "y", "Z"], n),
            "left_code": rng.integers(0, 3, n).astype("int32"),
            "right_code": rng.integers(3, 5, n).astype("int32"),
            "score": rng.choice([0.0, 0.5, 1.0], n),
            **{f: rng.choice([-0.5, 0.0, 0.5], n) for f in boards.STYLE_FEATURES},
            "n": rng.integers(1, 4, n),
        }
    )
    keys = ["left_code", "right_code", "score", *boards.STYLE_FEATURES]
    rows_read = frame.groupby(["first", "second", *keys], dropna=False, as_index=False)["n"].sum()
    rows_read = rows_read.sort_values(keys, kind="stable").sample(frac=1, random_state=1)  # any tie order
    rows_read = rows_read.sort_values(keys, kind="stable")
    votes = style_segments.StyleVotes.from_arrow(
        pa.Table.from_pandas(rows_read, preserve_index=False), MODELS, ("first", "second")
    )
    for dim in ("first", "second"):
        expected = frame.dropna(subset=[dim]).groupby([dim, *keys], as_index=False)["n"].sum()
        expected = expected.sort_values([dim, *keys], key=lambda c: c.map(str) if c.name == dim else c)
        rows, codes, names = votes.of(dim)
        assert names == sorted(frame[dim].dropna().unique())
        assert len(rows.score) == len(expected) < len(rows_read)  # merged
        np.testing.assert_array_equal(np.array(names)[codes], expected[dim].to_numpy(dtype=str))
        for column, got in (("left_code", rows.left), ("right_code", rows.right), ("score", rows.score)):
            np.testing.assert_array_equal(got, expected[column])
        np.testing.assert_array_equal(rows.features.T, expected[list(boards.STYLE_FEATURES)])
        np.testing.assert_array_equal(rows.weight, expected["n"])
