"""How often a segment board's 95% intervals and simultaneous rank intervals hold the segment's true ratings.

    python bench/bench_segment_coverage.py [--seeds 400] [--first-seed 0] [--worlds thin medium thick same]
                                           [--models 8] [--overall-votes 20000] [--prior-sd 0.3] [--rounds 200]

Per seed: true overall strengths μ ~ N(0, 0.6²); the published raw overall board on `--overall-votes` battles
(its ratings are the segment's prior, its se the prior's own error); the segment's truth θ = μ + δ with
δ ~ N(0, prior_sd²) centred (Σδ = 0, the level the shrunk fit pins); the segment's votes drawn from θ; the
segment board shrunk with prior sd `--prior-sd` (the shrinkage model, here exactly true), its intervals from
`--rounds` bootstrap replicates (0: the sandwich route of the style segment boards). Reported per world: the
share of model intervals holding the true rating (on the board's level: Σ(θ − overall θ) = 0), the share of seeds whose every true rank lies in its
simultaneous interval, and the mean rank-interval width (to show it does not cover by saying nothing).

Worlds (segment votes): thin 12, medium 300, thick 3000; same: 300 votes and δ = 0 (the segment is the
overall board; the shrinkage model over-states its spread there, so its intervals are expected conservative).
The target: ≥ 95% in every world (the 12-vote world is where a fit holding the prior fixed fails).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from _rank_worlds import WINNER, board_of, outcomes, true_ranks, uniform_pairs, wilson

from showdown_pipeline.core import boards
from showdown_pipeline.core import bradley_terry as bt

WORLDS = {"thin": (12, True), "medium": (300, True), "thick": (3000, True), "same": (300, False)}


def segment_counts(left, right, score, names) -> bt.PairCounts:
    names_arr = np.array(names)
    cells = (
        pd.DataFrame(
            {
                "model_left": names_arr[left],
                "model_right": names_arr[right],
                "winner": WINNER[(score * 2).astype(int)],
            }
        )
        .value_counts()
        .reset_index(name="n")
    )
    return boards.pair_counts_from_frame(cells)


def one_seed(kind: str, seed: int, args) -> tuple[int, int, bool, float]:
    """(model intervals holding the truth, models rated, every true rank covered, mean rank-interval width)."""
    votes, departs = WORLDS[kind]
    rng = np.random.default_rng([seed, 61])
    m = args.models
    names = [f"m{i:02d}" for i in range(m)]
    mu = rng.normal(0.0, 0.6, m)
    left, right = uniform_pairs(args.overall_votes, m, rng)
    overall = board_of(left, right, outcomes(left, right, mu, rng), names, 0, seed)
    delta = rng.normal(0.0, args.prior_sd, m) if departs else np.zeros(m)
    theta = mu + delta - delta.mean()
    left, right = uniform_pairs(votes, m, rng)
    counts = segment_counts(left, right, outcomes(left, right, theta, rng), names)
    stats = pd.DataFrame(
        {"segment_value": "XX", "model_id": names, "votes": 1000, "users": 100, "top_user_share": 0.0}
    )
    frame = boards.segment_boards(
        [("XX", counts)], stats, overall, "country", args.prior_sd, bootstrap_rounds=args.rounds, seed=seed
    )
    rows = frame.set_index("model_id").reindex(list(counts.models))
    index = [names.index(n) for n in counts.models]
    # The segment board's level is its convention, Σ(θ − overall θ) = 0 (no vote moves it): the true
    # ratings are read on that level, the overall board's own scale (m00 pinned at 0, estimated).
    prior = overall.frame.set_index("model_id").loc[list(counts.models), "theta"].to_numpy()
    level = prior.mean() - theta[index].mean()
    truth = overall.anchor_rating + bt.ELO_SCALE * (theta[index] + level)
    inside = int(((rows["ci_lower"] <= truth) & (truth <= rows["ci_upper"])).sum())
    ranks = true_ranks(theta[index])
    lower, upper = rows["rank_lower"].to_numpy(int), rows["rank_upper"].to_numpy(int)
    return (
        inside,
        len(index),
        bool(np.all((lower <= ranks) & (ranks <= upper))),
        float(np.mean(upper - lower)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=400)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS), choices=list(WORLDS))
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--overall-votes", type=int, default=20_000)
    parser.add_argument("--prior-sd", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    print(
        f"segment coverage: {args.seeds} seeds per world, {args.models} models, prior sd {args.prior_sd}, "
        f"{args.rounds} bootstrap rounds"
    )
    for kind in args.worlds:
        started = time.perf_counter()
        rows = [one_seed(kind, s, args) for s in range(args.first_seed, args.first_seed + args.seeds)]
        inside, rated = sum(r[0] for r in rows), sum(r[1] for r in rows)
        ranks = sum(r[2] for r in rows)
        lo, hi = wilson(inside, rated)
        rlo, rhi = wilson(ranks, len(rows))
        print(
            f"{kind:>6} ({WORLDS[kind][0]} votes): ratings inside their 95% interval {inside}/{rated} = "
            f"{inside / rated:.3f} (Wilson {lo:.3f}–{hi:.3f}); every true rank inside {ranks}/{len(rows)} = "
            f"{ranks / len(rows):.3f} (Wilson {rlo:.3f}–{rhi:.3f}); mean rank-interval width "
            f"{np.mean([r[3] for r in rows]):.2f}; {time.perf_counter() - started:.1f} s"
        )


if __name__ == "__main__":
    main()
