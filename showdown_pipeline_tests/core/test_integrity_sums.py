"""The integrity statements' float sums (sql/integrity/user_model_scores.sql, user_model_sweeps.sql): the
same bits whatever the number of threads, the order the rows were written in and the passes over the voters
they run in, and equal to an exact (math.fsum) sum of the same terms to 1e-12."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from showdown_pipeline.core.integrity import run
from showdown_pipeline.core.warehouse import duckdb_session

MODELS = [f"m{i}" for i in range(8)]
THETA = dict(zip(MODELS, np.linspace(-1.2, 1.4, len(MODELS)), strict=True))
CUTOFF = "2026-06-01 00:00:00+00"


def _votes(seed: int = 0, n: int = 400_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    left = rng.integers(0, len(MODELS), n)
    right = (left + rng.integers(1, len(MODELS), n)) % len(MODELS)
    winner = rng.choice(["left", "right", "both_good", "both_bad"], n, p=[0.4, 0.35, 0.15, 0.1])
    score = np.select([winner == "left", winner == "right"], [1.0, 0.0], 0.5)
    return pd.DataFrame(
        {
            "user_id": [
                f"u{u}" for u in rng.integers(0, 40, n)
            ],  # ~10,000 votes each, several row groups: long sums split between threads
            "model_left": np.array(MODELS)[left],
            "model_right": np.array(MODELS)[right],
            "winner": winner,
            "score": score,
            "voted_at": pd.Timestamp("2026-05-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 86400 * 20, n), "s"),
        }
    )


def _run(votes: pd.DataFrame, threads: int, tmp_path, passes: int = 1) -> dict[str, pd.DataFrame]:
    out = {}
    tmp_path.mkdir(parents=True, exist_ok=True)
    with duckdb_session(tmp_path / "warehouse.duckdb", {"threads": str(threads)}) as session:
        session.conn.register("votes_frame", votes)
        session.conn.execute("CREATE TABLE votes_clean AS SELECT * FROM votes_frame")
        theta = pd.DataFrame({"model_id": list(THETA), "theta": list(THETA.values())})
        session.conn.register("integrity_theta", theta)
        for name in ("user_model_scores", "user_model_sweeps"):
            params = {"cutoff": CUTOFF, "min_seen": 1}
            out[name] = run.by_voters(session, f"integrity/{name}", params, passes)
    return out


def test_the_sums_are_the_same_bits_on_any_threads_and_in_any_row_order(tmp_path):
    votes = _votes()
    one = _run(votes, 1, tmp_path / "a")
    shuffled = votes.sample(frac=1.0, random_state=3).reset_index(drop=True)
    four = _run(shuffled, 4, tmp_path / "b")
    for name in one:
        assert len(one[name]) == 40 * len(MODELS)  # every voter saw every model
        pd.testing.assert_frame_equal(one[name], four[name], check_exact=True)


def test_the_sums_are_the_exact_sums_of_their_terms(tmp_path):
    votes = _votes(seed=1, n=60_000)
    got = _run(votes, 2, tmp_path)
    p_left = 1.0 / (1.0 + np.exp(votes["model_right"].map(THETA) - votes["model_left"].map(THETA)))
    pair = votes[["model_left", "model_right"]].apply(lambda r: tuple(sorted(r)), axis=1)
    tie = votes["winner"].isin(["both_good", "both_bad"]).groupby(pair).mean()
    share = pair.map(tie)
    sides = pd.concat(
        [
            pd.DataFrame(
                {
                    "user_id": votes["user_id"],
                    "model_id": votes["model_left"],
                    "e": p_left,
                    "p": p_left - share / 2,
                }
            ),
            pd.DataFrame(
                {
                    "user_id": votes["user_id"],
                    "model_id": votes["model_right"],
                    "e": 1 - p_left,
                    "p": 1 - p_left - share / 2,
                }
            ),
        ]
    )
    scores = got["user_model_scores"].set_index(["user_id", "model_id"])
    sweeps = got["user_model_sweeps"].set_index(["user_id", "model_id"])
    for (user, model), group in sides.groupby(["user_id", "model_id"]):
        e = group["e"].to_numpy()
        assert scores.loc[(user, model), "expected"] == pytest.approx(math.fsum(e), rel=1e-12)
        assert scores.loc[(user, model), "variance"] == pytest.approx(math.fsum(e * (1 - e)), rel=1e-12)
        log_p = np.log(np.clip(group["p"].to_numpy(), 0.01, 0.99))
        assert sweeps.loc[(user, model), "log_p_sweep"] == pytest.approx(math.fsum(log_p), rel=1e-12)


def test_passes_over_the_voters_give_the_rows_of_one_pass(tmp_path, monkeypatch):
    """The (voter, model) statements run in passes over the voters to bound their memory (run.by_voters): any
    number of passes gives one pass's rows, bit for bit and in its order. The tie shares of
    user_model_sweeps are every voter's in every pass: a pass reading only its own voters' ties fails this.
    `voter_passes` asks for one pass per VOTES_PER_PASS votes before the cut."""
    votes = _votes(seed=2, n=60_000)
    one = _run(votes, 2, tmp_path / "one")
    for passes in (2, 7):
        many = _run(votes, 2, tmp_path / f"p{passes}", passes=passes)
        for name in one:
            pd.testing.assert_frame_equal(one[name], many[name], check_exact=True)
    assert run.voter_passes(0) == 1
    assert run.voter_passes(60_000) == 1
    monkeypatch.setattr(run, "VOTES_PER_PASS", 20_000)
    assert run.voter_passes(60_000) == 3
    monkeypatch.setattr(run, "VOTES_PER_PASS", 19_999)
    assert run.voter_passes(60_000) == 4


def test_the_passes_count_the_votes_before_the_cut(tmp_path):
    """preliminary_fit's count (which sets the passes) is the valid votes before the cut, those of no time
    included, those at or after it not: counted here from the frame itself."""
    votes = _votes(seed=4, n=5_000)
    late = votes["voted_at"] >= pd.Timestamp("2026-05-11", tz="UTC")
    votes.loc[late, "voted_at"] += pd.Timedelta(days=21)  # on or after the cut (2026-06-01)
    votes.loc[votes.index[:37], "voted_at"] = pd.NaT
    expected = int((votes["voted_at"].isna() | (votes["voted_at"] < pd.Timestamp(CUTOFF))).sum())
    assert 37 < expected < len(votes)
    with duckdb_session(tmp_path / "warehouse.duckdb") as session:
        session.conn.register("votes_frame", votes)
        session.conn.execute("CREATE TABLE votes_clean AS SELECT * FROM votes_frame")
        fit, counted = run.preliminary_fit(session, CUTOFF)
        assert fit is not None and counted == expected
        session.conn.execute("DELETE FROM votes_clean")
        assert run.preliminary_fit(session, CUTOFF) == (None, 0)
