"""CPU of one board's rank analysis (core/rank_uncertainty.py): from bootstrap replicates (leave-one-out
max-t) and from normal draws with a covariance (the style boards), against the plain bootstrap-t it replaced.

    python bench/bench_rank_cost.py [--models 12 40] [--rounds 200 1000] [--repeat 20]

The plain bootstrap-t is re-implemented here (in-sample standard errors, same stepdown) only as a baseline.
Timings are CPU seconds per board; the machine is shared, so compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from showdown_pipeline.core import rank_uncertainty as ru  # noqa: E402


def plain(thetas: np.ndarray, theta_hat: np.ndarray) -> None:
    """The replaced critical value: replicates studentised by the sd of all of them (no leave-one-out)."""
    var = ru._difference_var(np.cov(thetas, rowvar=False))
    draws = ru._Draws(thetas - theta_hat, None, var, len(thetas))
    se = np.maximum(np.sqrt(var), ru.SE_FLOOR)
    ru._stepdown(draws, se, (theta_hat[:, None] - theta_hat[None, :]) / se, ru.LEVEL)
    ru.top_shares(thetas, 1), ru.top_shares(thetas, 5)


def cpu(call, repeat: int) -> float:
    started = time.process_time()
    for _ in range(repeat):
        call()
    return (time.process_time() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, nargs="+", default=[12, 40])
    parser.add_argument("--rounds", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    for m in args.models:
        theta = np.linspace(0.6, -0.6, m)
        for rounds in args.rounds:
            thetas = theta + np.random.default_rng(m).normal(0.0, 0.1, (rounds, m))
            old = cpu(lambda: plain(thetas, theta), args.repeat)  # noqa: B023
            new = cpu(lambda: ru.rank_sets(thetas, theta), args.repeat)  # noqa: B023
            print(
                f"{m} models, B = {rounds}: plain bootstrap-t {old:.4f} s, leave-one-out {new:.4f} s ({new / old:.2f}x)"
            )
        cov = np.cov(theta + np.random.default_rng(m).normal(0.0, 0.1, (1000, m)), rowvar=False)
        normal = cpu(lambda: ru.rank_sets_normal(cov, theta), args.repeat)  # noqa: B023
        print(f"{m} models, {ru.NORMAL_DRAWS} normal draws (style boards): {normal:.4f} s")


if __name__ == "__main__":
    main()
