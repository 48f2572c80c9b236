"""How often the simultaneous 95% rank intervals of a board hold every true rank at once.

    python bench/bench_rank_coverage.py [--seeds 400] [--first-seed 0] [--worlds spread ladder twins equal]
                                        [--models 12] [--votes 3000] [--rounds 200]

Per seed: a Bradley-Terry world with ties, `votes` battles uniform over pairs, the published raw board
(prior, Poisson bootstrap of `rounds` replicates, rank columns; `--rounds 0`: no bootstrap, so the rank columns
come from normal draws with the fit's sandwich covariance — the route of the style boards). A seed counts as covered when every
model's true rank (1 + the number of models truly stronger) lies in [rank_lower, rank_upper]. Worlds:

- spread: true strengths drawn N(0, 0.6²) per seed (most neighbours close, some far);
- ladder: strengths evenly spaced 0.15 logits apart (every neighbour close: the hardest for a rank interval);
- twins: six pairs of exactly equal strengths, 0.4 logits between pairs (an equal pair may never be ordered,
  so any claim between twins is an error);
- equal: every model equally strong (every true rank is 1, so any claim at all is an error: the least
  favourable world for the max-t procedure, where its 95% is meant to be exact rather than conservative).

The issue's target: ≥ 95% of seeds. The figure is given with its 95% Wilson interval, together with the
mean interval width and the share of pairs the board orders (to show it is not covering by saying nothing).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _rank_worlds import board_of, outcomes, true_ranks, uniform_pairs, wilson


def world(kind: str, m: int, rng) -> np.ndarray:
    if kind == "spread":
        return rng.normal(0.0, 0.6, m)
    if kind == "ladder":
        return np.linspace(0.15 * (m - 1) / 2, -0.15 * (m - 1) / 2, m)
    if kind == "twins":
        return np.repeat(np.arange(m // 2) * -0.4, 2)[:m]
    if kind == "equal":
        return np.zeros(m)
    raise ValueError(kind)


def one_seed(kind: str, seed: int, args) -> tuple[bool, float, float, bool]:
    """(every true rank covered, mean width, share of pairs ordered, some claimed order false)."""
    rng = np.random.default_rng([seed, 16])
    names = [f"m{i:02d}" for i in range(args.models)]
    truth = world(kind, args.models, rng)
    left, right = uniform_pairs(args.votes, args.models, rng)
    board = board_of(left, right, outcomes(left, right, truth, rng), names, args.rounds, seed)
    rows = board.frame.set_index("model_id").reindex(names)
    lower, upper = rows["rank_lower"].to_numpy(int), rows["rank_upper"].to_numpy(int)
    ranks = true_ranks(truth)
    sets = board.components[0].ranks
    position = [board.components[0].models.index(n) for n in names]
    above = sets.above[np.ix_(position, position)]
    false_claim = bool((above & ~(truth[:, None] > truth[None, :])).any())
    ordered = sets.separable.sum() / (args.models * (args.models - 1))
    covered = bool(np.all((lower <= ranks) & (ranks <= upper)))
    return covered, float(np.mean(upper - lower)), float(ordered), false_claim


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=400)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--worlds", nargs="+", default=["spread", "ladder", "twins", "equal"])
    parser.add_argument("--models", type=int, default=12)
    parser.add_argument("--votes", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    for kind in args.worlds:
        started = time.process_time()
        rows = [one_seed(kind, seed, args) for seed in range(args.first_seed, args.first_seed + args.seeds)]
        covered = sum(r[0] for r in rows)
        lo, hi = wilson(covered, len(rows))
        print(
            f"{kind:>6}: all true ranks inside their simultaneous intervals in {covered} of {len(rows)} worlds "
            f"= {covered / len(rows):.3f} (95% Wilson {lo:.3f}–{hi:.3f}; target ≥ 0.95); mean width "
            f"{np.mean([r[1] for r in rows]):.2f} ranks of {args.models}; pairs ordered "
            f"{np.mean([r[2] for r in rows]):.2f}; some claimed order false in {sum(r[3] for r in rows)} worlds; "
            f"CPU {time.process_time() - started:.0f} s"
        )


if __name__ == "__main__":
    main()
