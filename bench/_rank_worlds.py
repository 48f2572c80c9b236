"""Simulated worlds with known truth for the rank benchmarks: votes, the published raw board on them, and
the true ranks (1 + the number of models truly stronger)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from showdown_pipeline.core import boards  # noqa: E402

WINNER = np.array(["right", "both_good", "left"])


def outcomes(
    left: np.ndarray, right: np.ndarray, truth: np.ndarray, rng, tie_scale: float = 0.4
) -> np.ndarray:
    """Scores of the battles (left, right) in a Bradley-Terry world with ties (E[score] = σ(d) exactly)."""
    p = 1 / (1 + np.exp(-(truth[left] - truth[right])))
    t = tie_scale * 4 * p * (1 - p)
    q = (p - t / 2) / (1 - t)
    return np.where(rng.random(len(left)) < t, 0.5, np.where(rng.random(len(left)) < q, 1.0, 0.0))


def uniform_pairs(n: int, m: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """`n` battles, every unordered pair equally likely, sides at random."""
    left = rng.integers(0, m, n)
    right = (left + rng.integers(1, m, n)) % m
    return left, right


def board_of(left, right, score, names: list[str], rounds: int, seed: int) -> boards.Board:
    """The published raw board (prior, bootstrap, rank columns) on these votes."""
    names_arr = np.array(names)
    cells = (
        pd.DataFrame(
            {
                "model_left": names_arr[left],
                "model_right": names_arr[right],
                "winner": WINNER[(np.asarray(score) * 2).astype(int)],
            }
        )
        .value_counts()
        .reset_index(name="n")
    )
    stats = pd.DataFrame({"model_id": names, "votes": 1000, "users": 100, "top_user_share": 0.0})
    return boards.build_board(cells, stats, names[0], 1000.0, bootstrap_rounds=rounds, seed=seed)


def true_ranks(truth: np.ndarray) -> np.ndarray:
    return 1 + (truth[None, :] > truth[:, None]).sum(axis=1)


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson interval of a proportion."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half
