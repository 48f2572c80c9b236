"""Intervals on small data: the fit and every bootstrap replicate carry one prior, so a model that never
loses or never wins (in the data or in a resample) stays finite, and every interval holds its rating."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.special import expit, lambertw
from scipy.stats import poisson

from showdown_pipeline import cli
from showdown_pipeline.core import boards, rate_file
from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline_tests.real_subsets import GROUP_A, GROUP_B, two_group_arena_log

LAM = bt.RATING_PRIOR_PRECISION


def _two_model_cells(wins: int, losses: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"model_left": ["a", "b"], "model_right": ["b", "a"], "winner": ["left", "left"], "n": [wins, losses]}
    ).query("n > 0")


def _stats(models, votes) -> pd.DataFrame:
    return pd.DataFrame({"model_id": list(models), "votes": votes, "users": votes, "top_user_share": 0.0})


def _two_model_law(wins: int, losses: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact bootstrap law of a's rating relative to the board mean, x = d/2, when a beat b `wins`
    times and lost `losses` times (b pinned, d = θ_a).

    Written out by hand: a Poisson replicate beats b W ~ Poisson(wins) times and loses L ~ Poisson(losses)
    times; the prior λ/2·Σ(θ − θ̄)² is λd²/4, so the replicate's rating solves the score equation
    W·σ(−d) − L·σ(d) = λd/2, a strictly decreasing function of d with one root. Returns (sorted values,
    their cumulative probabilities)."""
    values, probs = [], []
    for w in range(int(wins + 12 * np.sqrt(wins) + 12)):
        for loss in range(int(losses + 12 * np.sqrt(losses) + 12) if losses else 1):
            p = poisson.pmf(w, wins) * (poisson.pmf(loss, losses) if losses else 1.0)
            d = brentq(lambda t: w * expit(-t) - loss * expit(t) - LAM * t / 2, -200, 200, xtol=1e-13)  # noqa: B023
            values.append(d / 2)
            probs.append(p)
    order = np.argsort(values)
    return np.asarray(values)[order], np.cumsum(np.asarray(probs)[order])


def _law_quantile(law, level: float) -> float:
    values, cdf = law
    return float(values[np.searchsorted(cdf, level)])


@pytest.mark.parametrize(("wins", "losses"), [(15, 0), (14, 1)])
def test_two_model_interval_equals_the_exact_bootstrap_law_of_the_posterior_mode(wins, losses):
    """An undefeated model (15–0: every replicate is separated) and a 14–1 model (the one loss drops out
    of a replicate with probability e⁻¹ = 37%, so separated replicates are certain among 2,000): the
    published rating is the posterior mode and the published interval is the percentile interval of
    the exact law above, within the sampling error of 2,000 rounds (±4 sd of a quantile's level).
    b (winless in the 15–0 case) mirrors a. Before the fix the 15–0 fit used a ridge the replicates did
    not, and the 14–1 replicates without the loss ran off to θ = 30+."""
    rounds = 2000
    board = boards.build_board(
        _two_model_cells(wins, losses),
        _stats("ab", wins + losses),
        "b",
        1000.0,
        bootstrap_rounds=rounds,
        seed=5,
    )
    frame = board.frame.set_index("model_id")
    d_hat = brentq(lambda t: wins * expit(-t) - losses * expit(t) - LAM * t / 2, -200, 200, xtol=1e-13)
    assert frame.loc["a", "rating"] == pytest.approx(1000 + bt.ELO_SCALE * d_hat, abs=1e-6)
    assert frame.loc["b", "rating"] == 1000.0

    law = _two_model_law(wins, losses)
    slack = 4 * np.sqrt(0.025 * 0.975 / rounds)
    mean_hat = d_hat / 2  # the interval is relative to the board mean, placed around the fit's mean
    to_elo = lambda x: 1000 + bt.ELO_SCALE * (x + mean_hat)  # noqa: E731
    for model, sign in (("a", 1), ("b", -1)):
        lo, hi = (frame.loc[model, c] for c in ("ci_lower", "ci_upper"))
        assert np.isfinite([lo, hi]).all() and lo <= frame.loc[model, "rating"] <= hi
        # b's centred rating is −x: its level-α quantile is minus a's level-(1 − α) quantile
        brackets = {
            end: sorted(
                sign * _law_quantile(law, level if sign > 0 else 1 - level)
                for level in (centre - slack, centre + slack)
            )
            for end, centre in (("lo", 0.025), ("hi", 0.975))
        }
        assert to_elo(brackets["lo"][0]) - 1e-3 <= lo <= to_elo(brackets["lo"][1]) + 1e-3
        assert to_elo(brackets["hi"][0]) - 1e-3 <= hi <= to_elo(brackets["hi"][1]) + 1e-3
    # the hand-computed width: for 15–0 the Poisson count alone moves the replicate, so the width is
    # about half the change of d between 8 and 23 wins (Poisson(15)'s 2.5% and 97.5% points), ~100 Elo
    width = frame.loc["a", "ci_upper"] - frame.loc["a", "ci_lower"]
    assert width <= bt.ELO_SCALE * (_law_quantile(law, 0.99) - _law_quantile(law, 0.01))


def _round_robin(votes_per_pair: int = 3) -> pd.DataFrame:
    """Six models, every pair met 3 times (15 votes per model): `top` never loses, `bottom` never wins,
    the four in between split their games 2–1 or 2 wins and a tie."""
    names = ["top", "m1", "m2", "m3", "m4", "bottom"]
    rows = []
    for i, j in itertools.combinations(range(6), 2):
        for k in range(votes_per_pair):
            upset = "right" if (i + j) % 2 else "both_good"
            winner = "left" if i == 0 or j == 5 or k < 2 else upset
            rows.append((names[i], names[j], winner))
    frame = pd.DataFrame(rows, columns=["model_left", "model_right", "winner"])
    return frame.groupby(["model_left", "model_right", "winner"]).size().reset_index(name="n")


def test_undefeated_and_winless_among_six_models_with_15_votes_each():
    """Finite intervals that hold their ratings, and a ceiling no replicate can pass.

    Hand argument (any posterior mode under the prior, fit or replicate): let i lead with centred
    rating x_i and gap g over the runner-up. Each of its n votes adds s − σ(x_i − x_o) ≤ σ(−g) < e^{−g} to
    its score, which equals the prior's pull λ·x_i; and x_i ≥ g·(m−1)/m because the ratings sum to 0.
    So g·e^g < n·m/((m−1)·λ): the lead is below W(n·m/((m−1)·λ)) (Lambert W) — about 7.3 logits
    (1,260 Elo) with n ≤ 45 votes in a replicate (Poisson(15) exceeds 45 with probability 1e-9). The
    same holds for the last model's gap below the next. Without the prior the lead is unbounded."""
    cells = _round_robin()
    names = ("top", "m1", "m2", "m3", "m4", "bottom")
    assert set(boards.separated_models(boards.pair_counts_from_frame(cells))) == {"top", "bottom"}
    board = boards.build_board(cells, _stats(names, 15), "m2", 1000.0, bootstrap_rounds=1000, seed=2)
    frame = board.frame.set_index("model_id")
    for column in ("rating", "ci_lower", "ci_upper", "sandwich_lower", "sandwich_upper"):
        assert np.isfinite(frame[column]).all(), column
    assert ((frame["ci_lower"] <= frame["rating"]) & (frame["rating"] <= frame["ci_upper"])).all()
    assert ((frame["sandwich_lower"] <= frame["rating"]) & (frame["rating"] <= frame["sandwich_upper"])).all()
    assert "never lost" in frame.loc["top", "provisional_reason"]
    assert "never won" in frame.loc["bottom", "provisional_reason"]

    counts = board.components[0].counts
    thetas = bt.bootstrap_thetas(
        counts,
        board.fit.theta,
        1000,
        seed=2,
        free=np.array([m != "m2" for m in counts.models]),
        prior_precision=LAM,
    )
    ceiling = float(np.real(lambertw(45 * 6 / (5 * LAM))))
    ordered = np.sort(thetas, axis=1)
    assert np.all(ordered[:, -1] - ordered[:, -2] < ceiling)
    assert np.all(ordered[:, 1] - ordered[:, 0] < ceiling)


def test_the_prior_does_not_depend_on_which_model_is_pinned():
    """λ/2·Σ(θ − θ̄)² sees only contrasts: pinning m2 or bottom gives the same board up to the shift,
    intervals included (the same resampled votes, the same estimator). The old fallback ridge λ/2·Σθ²
    shrank every model towards whichever was pinned."""
    cells = _round_robin()
    stats = _stats(("top", "m1", "m2", "m3", "m4", "bottom"), 15)
    one = boards.build_board(cells, stats, "m2", 1000.0, bootstrap_rounds=300, seed=4).frame
    two = boards.build_board(cells, stats, "bottom", 1000.0, bootstrap_rounds=300, seed=4).frame
    one, two = one.set_index("model_id").sort_index(), two.set_index("model_id").sort_index()
    shift = one["rating"].mean() - two["rating"].mean()
    for column in ("rating", "ci_lower", "ci_upper", "sandwich_lower", "sandwich_upper"):
        np.testing.assert_allclose(one[column], two[column] + shift, atol=0.01, err_msg=column)


def test_the_prior_moves_large_real_boards_by_a_few_hundredths_of_an_elo(real_fixtures):
    """On the 26,919 real 2023 arena votes and the 8,931 LLMFAO comparisons (~300 per model, the thinnest
    of the large boards), the published board is within 0.01 and 0.05 Elo of the plain maximum
    likelihood (measured: 0.003 and 0.037). The shift is about λ·x/(n·p(1−p)) logits for a model x
    logits from the mean with n votes: it fades as 1/n."""
    arena = pd.read_json(real_fixtures / "arena_2023_human_votes.jsonl", lines=True)
    llmfao = pd.read_csv(real_fixtures / "llmfao_crowd_comparisons.csv")
    labels = {"model_a": "left", "model_b": "right", "tie": "both_good", "tie (bothbad)": "both_bad"}
    boards_in = {
        "arena": (arena["model_a"], arena["model_b"], arena["winner"].map(labels), 0.01),
        "llmfao": (llmfao["left"], llmfao["right"], llmfao["winner"].replace({"tie": "both_good"}), 0.05),
    }
    for name, (left, right, winner, budget) in boards_in.items():
        cells = (
            pd.DataFrame({"model_left": left, "model_right": right, "winner": winner})
            .value_counts()
            .reset_index(name="n")
        )
        models = sorted(set(left) | set(right))
        stats = _stats(models, 1000)
        with_prior = boards.build_board(cells, stats, models[0], 1000.0).frame.set_index("model_id")
        plain = boards.build_board(cells, stats, models[0], 1000.0, prior_precision=0.0).frame
        shift = with_prior["rating"] - plain.set_index("model_id")["rating"].reindex(with_prior.index)
        assert len(shift) == len(models) and 0 < shift.abs().max() < budget, (name, shift.abs().max())


def test_showdown_rate_on_two_disconnected_groups_of_real_arena_votes(real_fixtures, tmp_path, capsys):
    """108 real battles between 13 models in two groups no battle links (13–20 votes per model). Before:
    6 models silently left out, and intervals such as [1349, 7792] and [−5783, 721]. Now every model is
    listed, the second group under its own heading on its own scale, and every interval is finite,
    holds its rating and is narrower than 1,000 Elo."""
    path = tmp_path / "two groups.jsonl"
    two_group_arena_log(real_fixtures / "arena_2023_human_votes.jsonl", path)
    out = tmp_path / "board.parquet"
    assert cli.main(["rate", str(path), "--anchor", "alpaca-13b=1000", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    board = pd.read_parquet(out).set_index("model_id")

    assert set(board.index) == set(GROUP_A) | set(GROUP_B)
    assert set(board.loc[list(GROUP_A), "component"]) == {1}
    assert set(board.loc[list(GROUP_B), "component"]) == {2}
    assert set(board.loc[list(GROUP_B), "component_anchor"]) == {"vicuna-7b"}  # most votes (18) of its group
    assert board.loc["alpaca-13b", "rating"] == board.loc["vicuna-7b", "rating"] == 1000.0
    assert np.isfinite(board[["rating", "ci_lower", "ci_upper"]].to_numpy()).all()
    assert ((board["ci_lower"] <= board["rating"]) & (board["rating"] <= board["ci_upper"])).all()
    assert (board["ci_upper"] - board["ci_lower"]).max() < 1000
    assert board.loc["gpt-4", "rank"] == 1 and board.loc["vicuna-7b", "rank"] == 1  # ranked apart

    main, _, rest = printed.partition("component 2:")
    assert all(m in main for m in GROUP_A) and not any(f" {m} " in main for m in GROUP_B)
    assert "NOT comparable with the main board" in rest and all(m in rest for m in GROUP_B)
    assert "vicuna-7b = 1000" in rest and "lambda = 0.005" in printed

    rated = rate_file.rate_table(path, bootstrap=0, anchor="alpaca-13b")  # the sandwich, too
    sandwich = rated.board.set_index("model_id")
    assert ((sandwich["ci_lower"] <= sandwich["rating"]) & (sandwich["rating"] <= sandwich["ci_upper"])).all()
    assert [c["models"] for c in rated.components] == [sorted(GROUP_A), sorted(GROUP_B)]


# --- ties: no board of ties is certain, and no model is more certain for tying -----------------------------


def _three_ties_law() -> tuple[np.ndarray, np.ndarray]:
    """The exact bootstrap law of a's centred rating x = d/2 after three ties of a and b (b pinned).

    By hand: the board's tie share is 3/(3 + 1) = ¾ (one decisive pseudo-vote), the pair's is 1, so a
    quarter of its ties are fair coins. A Poisson replicate holds T ~ Poisson(3·¾) ties, W ~ Poisson(3·¼·½)
    coin wins and L ~ Poisson(3·¼·½) coin losses (Poisson thinning), and its rating solves
    W·σ(−d) − L·σ(d) + T·(½ − σ(d)) = λd/2 (the prior λ/2·Σ(θ − θ̄)² is λd²/4)."""
    values, probs = [], []
    for t, w, loss in itertools.product(range(25), range(12), range(12)):
        p = poisson.pmf(t, 2.25) * poisson.pmf(w, 0.375) * poisson.pmf(loss, 0.375)
        if w + loss + t == 0:
            d = 0.0  # nothing but the prior
        else:
            d = brentq(
                lambda x: w * expit(-x) - loss * expit(x) + t * (0.5 - expit(x)) - LAM * x / 2,  # noqa: B023
                -200,
                200,
                xtol=1e-13,
            )
        values.append(d / 2)
        probs.append(p)
    order = np.argsort(values)
    return np.asarray(values)[order], np.cumsum(np.asarray(probs)[order])


def test_three_tied_votes_give_the_hand_computed_sandwich_and_the_exact_bootstrap_law():
    """Three ties of a and b used to publish 1000 [1000, 1000] twice: with the bootstrap (every resample
    holds only ties) and with the sandwich (each tie's residual ½ − σ(0) is 0). Now a quarter of the ties
    are coins (see _three_ties_law): the sandwich is, by hand, Var(θ_b) = (3·¼·¼)/(3·¼ + λ/2)², the width
    2·z·(400/ln 10)·√Var/2, about 196 Elo; the bootstrap interval is the percentile interval of the exact
    law within the sampling error of 2,000 rounds."""
    cells = pd.DataFrame({"model_left": ["a"], "model_right": ["b"], "winner": ["both_good"], "n": [3]})
    sandwich = boards.build_board(cells, _stats("ab", 3), "a", 1000.0).frame.set_index("model_id")
    var = (3 * 0.25 * 0.25) / (3 * 0.25 + LAM / 2) ** 2
    width = 2 * bt.Z_95 * bt.ELO_SCALE * np.sqrt(var) / 2
    for model in "ab":
        assert sandwich.loc[model, "ci_upper"] - sandwich.loc[model, "ci_lower"] == pytest.approx(width)
        assert sandwich.loc[model, "rating"] == pytest.approx(1000.0)
    assert 190 < width < 200

    rounds = 2000
    board = boards.build_board(cells, _stats("ab", 3), "b", 1000.0, bootstrap_rounds=rounds, seed=5)
    frame = board.frame.set_index("model_id")
    law, slack = _three_ties_law(), 4 * np.sqrt(0.025 * 0.975 / rounds)
    lo, hi = frame.loc["a", "ci_lower"], frame.loc["a", "ci_upper"]
    to_elo = lambda x: 1000 + bt.ELO_SCALE * x  # noqa: E731 - the fit's mean is 0: d̂ = 0
    assert (
        to_elo(_law_quantile(law, 0.025 - slack)) - 1e-3
        <= lo
        <= to_elo(_law_quantile(law, 0.025 + slack)) + 1e-3
    )
    assert (
        to_elo(_law_quantile(law, 0.975 - slack)) - 1e-3
        <= hi
        <= to_elo(_law_quantile(law, 0.975 + slack)) + 1e-3
    )
    assert hi - lo > 100


def test_sixty_ties_among_three_models_are_not_certain_either():
    """A board of nothing but ties (20 per pair): the one decisive pseudo-vote keeps 1/61 of the ties as
    coins, so the intervals are narrow (the data say the three are alike) but not of zero width."""
    cells = pd.DataFrame(
        {"model_left": ["a", "b", "a"], "model_right": ["b", "c", "c"], "winner": "both_good", "n": 20}
    )
    for rounds in (0, 500):
        frame = boards.build_board(
            cells, _stats("abc", 40), "a", 1000.0, bootstrap_rounds=rounds, seed=1
        ).frame
        width = frame["ci_upper"] - frame["ci_lower"]
        assert (width > 5).all() and (width < 60).all(), (rounds, width.tolist())


def test_a_model_that_only_ties_is_not_more_certain_than_models_with_more_decisive_votes():
    """T tied all its 30 votes (15 with A, 15 with B); A, B, C have 60–75 votes each, most decisive. T's
    ties carried no resampling or score variance, so T came out about half as wide as A (bootstrap 48
    against 100 Elo, sandwich 52 against 102): the model with the least information published as the best
    measured. Now the ties T has beyond the board's tie share are coins, and T is wider than A, B and C
    with both intervals, while the decisive pairs' intervals move only through T's."""
    import random

    rng = random.Random(1)

    def games(a: str, b: str, n: int, tie: bool = False) -> list[tuple[str, str, str]]:
        return [(a, b, "tie" if tie else ("model_a" if rng.random() < 0.6 else "model_b")) for _ in range(n)]

    rows = games("A", "B", 30) + games("B", "C", 30) + games("A", "C", 30)
    rows += games("T", "A", 15, tie=True) + games("T", "B", 15, tie=True)
    cells = (
        pd.DataFrame(rows, columns=["model_left", "model_right", "winner"])
        .replace({"winner": {"model_a": "left", "model_b": "right", "tie": "both_good"}})
        .value_counts()
        .reset_index(name="n")
    )
    stats = _stats("ABCT", 75)
    for rounds in (1000, 0):
        board = boards.build_board(cells, stats, "A", 1000.0, bootstrap_rounds=rounds, seed=0).frame
        width = (board["ci_upper"] - board["ci_lower"]).set_axis(board["model_id"])
        assert width["T"] > width[["A", "B", "C"]].max(), (rounds, width.to_dict())
