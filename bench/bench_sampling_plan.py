"""Does the sampling plan shrink rank uncertainty faster than uniform sampling over pairs?

    python bench/bench_sampling_plan.py [--seeds 40] [--models 20] [--votes 4000] [--added 2000] [--rounds 200]

Per seed: a Bradley-Terry world (true strengths drawn N(0, 1)), `votes` battles uniform over pairs, the
published raw board (bootstrap `rounds`) and its sampling plan (every model active). Then `added` more
battles, twice from the same state: drawn from the plan's weights, and uniform over pairs. Each arm's
board is refitted with the same bootstrap seed. The figure is the mean simultaneous rank-interval width
(rank_upper − rank_lower) of the true top ten, and how much each arm shrank it; the issue's target is
shrink(plan) ≥ 1.25 × shrink(uniform). The ratio of the mean shrinks is given with a 95% percentile
interval from resampling the seeds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _rank_worlds import board_of, outcomes, uniform_pairs

from showdown_pipeline.core import sampling_plan as sp


def top_width(board, names: list[str], top: list[str]) -> float:
    rows = board.frame.set_index("model_id").reindex(top)
    return float((rows["rank_upper"] - rows["rank_lower"]).astype(float).mean())


def plan_pairs(plan, names: list[str], n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """`n` battles drawn from the plan's weights, sides at random."""
    index = {m: i for i, m in enumerate(names)}
    a = plan["model_left"].map(index).to_numpy()
    b = plan["model_right"].map(index).to_numpy()
    pick = rng.choice(len(plan), size=n, p=plan["weight"].to_numpy() / plan["weight"].sum())
    swap = rng.random(n) < 0.5
    return np.where(swap, b[pick], a[pick]), np.where(swap, a[pick], b[pick])


def one_seed(seed: int, args) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    m = args.models
    names = [f"m{i:02d}" for i in range(m)]
    truth = rng.normal(0.0, 1.0, m)
    top = [names[i] for i in np.argsort(-truth)[:10]]
    left, right = uniform_pairs(args.votes, m, rng)
    score = outcomes(left, right, truth, rng)
    board = board_of(left, right, score, names, args.rounds, seed)
    plan, _ = sp.sampling_plan(sp.plan_boards(board.components), names)
    before = top_width(board, names, top)
    widths = []
    for arm in ("plan", "uniform"):
        arm_rng = np.random.default_rng([seed, 1])
        if arm == "plan":
            new_left, new_right = plan_pairs(plan, names, args.added, arm_rng)
        else:
            new_left, new_right = uniform_pairs(args.added, m, arm_rng)
        new_score = outcomes(new_left, new_right, truth, arm_rng)
        after = board_of(
            np.concatenate([left, new_left]),
            np.concatenate([right, new_right]),
            np.concatenate([score, new_score]),
            names,
            args.rounds,
            seed,
        )
        widths.append(top_width(after, names, top))
    return before, widths[0], widths[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--votes", type=int, default=4000)
    parser.add_argument("--added", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    started = time.process_time()
    rows = np.array([one_seed(seed, args) for seed in range(args.seeds)])
    before, plan, uniform = rows.T
    shrink_plan, shrink_uniform = before - plan, before - uniform
    ratio = shrink_plan.mean() / shrink_uniform.mean()
    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(rows), size=(2000, len(rows)))
    ratios = shrink_plan[draws].mean(axis=1) / shrink_uniform[draws].mean(axis=1)
    lo, hi = np.quantile(ratios, [0.025, 0.975])
    print(
        f"{args.seeds} worlds, {args.models} models, {args.votes} votes + {args.added} (B = {args.rounds}); "
        f"mean simultaneous rank-interval width of the true top 10: before {before.mean():.2f}, "
        f"after uniform {uniform.mean():.2f}, after the plan {plan.mean():.2f}"
    )
    print(
        f"shrink: uniform {shrink_uniform.mean():.2f}, plan {shrink_plan.mean():.2f}; plan / uniform = {ratio:.2f} "
        f"(95% interval over seeds {lo:.2f}–{hi:.2f}); plan narrower than uniform in "
        f"{int((plan < uniform).sum())} of {len(rows)} worlds, wider in {int((plan > uniform).sum())}; "
        f"target ≥ 1.25; CPU {time.process_time() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
