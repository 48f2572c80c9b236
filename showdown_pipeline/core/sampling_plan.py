"""The sampling plan (issue 16, DESIGN §6): which model pairs the next votes should go to.

One row per unordered pair of active models (`model_left` < `model_right` alphabetically; which side a
model is shown on is the arena's to randomise), with a `weight` (the share of the next votes; the
weights sum to 1) and a `reason`. The rule:

1. **Floor.** `floor_share` (10%) of the votes is spread evenly over every pair of active models, so a
   new model (no counted votes yet), a rare one, and a pair that would link two parts of the comparison
   graph are always shown.
2. **Rank uncertainty.** The rest goes where the next batch of votes most shrinks the simultaneous rank
   intervals near the top and at tier boundaries (`rank_uncertainty`). For each pair (k, l) of one board
   whose order is not yet claimed, with t = |θ̂_k − θ̂_l| / s its bootstrap t statistic and c the max-t
   critical value it was last tested against: if more votes shrink the pair's variance by a factor r, the
   pair is decided with probability ≈ Φ((t/√r − c) / √(1 + 1/r)) (its true t is itself uncertain, ≈
   N(t, 1)); the rate at which that grows as r falls below 1 is φ((t − c)/√2) · (t + c) / (4√2). That is
   the pair's weight: largest for pairs near being decided, small for pairs far from it either way (truly
   equal models, or orders that need many more votes). It is doubled when either model is in the board's
   top ten by estimate and doubled again when the two sit in different tiers. The plan chooses the
   shares π of the next N votes over pairs of active models rated on the same board to minimise

       Σ_(k,l) weight_kl · Var_N(θ_k − θ_l) / Var_0(θ_k − θ_l),

   where Var_0 comes from the Fisher information I of the counted votes (with the board's prior) and
   Var_N from I + N · Σ_p π_p · p_p(1 − p_p) · u_p u_pᵀ (u_p = e_i − e_j; p_p the fitted chance that i
   beats j): an L-optimal design, convex in π, solved by the multiplicative algorithm (Silvey,
   Titterington & Torsney 1978) from equal shares. N is `horizon_share` (half) of the votes counted:
   designing for a small batch piles the weight on a few pairs whose t statistics are themselves noisy;
   half spreads it over the pairs near deciding (bench/bench_sampling_plan.py measured 0.25, 0.5 and 1:
   0.5 did best or within noise of best for batches of a quarter to the whole of the votes counted).
   A pair's weight is floor + (1 − floor) · π.
3. When no board has a rank analysis (every board has one since schema 6: from its bootstrap, or from
   normal draws with its sandwich covariance when B = 0; none only where that covariance is not finite)
   or no undecided order is near being decided, the rest is spread evenly too, and every reason says why (`uniform: …`).

Each `reason` starts with `uncertainty`, `floor` or `uniform`, then `: ` and what the pair is for. The
baselines this replaces are LMArena's fixed upsampling weights and the uniform-over-pairs sampling the
Leaderboard Illusion paper measured; `bench/bench_sampling_plan.py` compares the plan with uniform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline.core.rank_uncertainty import RankSets

# sampling_plan.parquet in every snapshot (DESIGN §6)
PLAN_SCHEMA = pa.schema(
    [
        ("model_left", pa.string()),
        ("model_right", pa.string()),
        ("weight", pa.float64()),
        ("reason", pa.string()),
    ]
)
PLAN_COLUMNS: tuple[str, ...] = tuple(PLAN_SCHEMA.names)
_DETAILED = 1000  # pairs above the floor whose reason names the undecided order they help most


@dataclass(frozen=True)
class PlanSettings:
    floor_share: float = 0.10  # of the next votes, spread over every active pair
    horizon_share: float = 0.5  # the batch the design is for, as a share of the votes counted
    top: int = 10  # the board's top, by estimate, where undecided orders weigh double
    iterations: int = 100  # of the multiplicative algorithm


@dataclass
class PlanBoard:
    """One board (connected component) the plan can target: its counts, fit and rank analysis."""

    number: int
    counts: bt.PairCounts
    theta: np.ndarray
    prior_precision: float
    ranks: RankSets | None


@dataclass
class _Design:
    """The design problem of one board: its current information and the targets' weights."""

    board: PlanBoard
    information: np.ndarray  # m × m, null space the constant vector
    targets: np.ndarray  # T × 2 model indices of undecided pairs
    target_weight: np.ndarray  # weight_kl / Var_0
    candidates: np.ndarray  # indices into the plan's pairs
    pair_index: np.ndarray  # C × 2 model indices
    info_per_vote: np.ndarray  # p(1 − p) per candidate

    def covariance(self, extra: np.ndarray) -> np.ndarray:
        """(I + Σ extra_p u_p u_pᵀ)⁺ on the contrasts."""
        m = self.information.shape[0]
        grid = np.zeros((m, m))
        np.add.at(grid, (self.pair_index[:, 0], self.pair_index[:, 1]), extra)
        added = np.diag(grid.sum(axis=0) + grid.sum(axis=1)) - grid - grid.T
        centre = np.full((m, m), 1.0 / m)
        return np.linalg.inv(self.information + added + centre) - centre

    def objective_and_gain(self, extra: np.ndarray) -> tuple[float, np.ndarray]:
        """(Σ weight · Var, −∂/∂extra of it per candidate)."""
        cov = self.covariance(extra)
        if not len(self.targets):
            return 0.0, np.zeros(len(self.candidates))
        k, q = self.targets[:, 0], self.targets[:, 1]
        var = cov[k, k] + cov[q, q] - 2 * cov[k, q]
        a = np.zeros_like(cov)
        np.add.at(a, (k, k), self.target_weight)
        np.add.at(a, (q, q), self.target_weight)
        np.add.at(a, (k, q), -self.target_weight)
        np.add.at(a, (q, k), -self.target_weight)
        g = cov @ a @ cov
        i, j = self.pair_index[:, 0], self.pair_index[:, 1]
        return float(self.target_weight @ var), g[i, i] + g[j, j] - 2 * g[i, j]


def plan_boards(components) -> list[PlanBoard]:
    """PlanBoards from a board's fitted components (core/boards.Component)."""
    return [
        PlanBoard(c.number, c.counts, c.fit.theta, c.fit.prior_precision, getattr(c, "ranks", None))
        for c in components
        if c.fit is not None
    ]


def sampling_plan(
    boards: list[PlanBoard], active: list[str], settings: PlanSettings = PlanSettings()
) -> tuple[pd.DataFrame, dict]:
    """(the plan, its summary for the manifest) for the `active` models."""
    names = sorted({str(m) for m in active})
    left, right = np.triu_indices(len(names), k=1)
    summary = {"rule": "README 'Sampling plan'", **settings.__dict__, "active_models": len(names)}
    if len(left) == 0:
        summary.update(pairs=0, note="fewer than two active models: no pair to show")
        return pd.DataFrame(
            {c: pd.Series(dtype=t) for c, t in zip(PLAN_COLUMNS, (str, str, float, str), strict=True)}
        ), summary
    pairs = pd.DataFrame({"model_left": [names[i] for i in left], "model_right": [names[j] for j in right]})
    designs = [
        d for d in (_design(b, pairs, settings.top) for b in boards) if d is not None and len(d.candidates)
    ]
    horizon = settings.horizon_share * sum(float(b.counts.count.sum()) for b in boards)
    share, before, after = _optimise(designs, len(pairs), horizon, settings.iterations)
    floor = settings.floor_share / len(pairs)
    mostly = np.zeros(len(pairs), dtype=bool)
    if share is None:
        why = _uniform_reason(boards, designs)
        weight = np.full(len(pairs), 1.0 / len(pairs))
        reason = [f"uniform: {why}"] * len(pairs)
    else:
        weight = floor + (1.0 - settings.floor_share) * share
        mostly = (1.0 - settings.floor_share) * share > floor  # more of its weight is for uncertainty
        reason = _reasons(pairs, designs, boards, share, horizon, mostly, weight)
    plan = pairs.assign(weight=weight / weight.sum(), reason=reason)
    plan = plan.sort_values(["weight", "model_left", "model_right"], ascending=[False, True, True])
    summary.update(
        pairs=len(plan),
        horizon_votes=horizon,
        pairs_above_floor=int(mostly.sum()),
        objective={"equal_shares": before, "plan": after},
        top_pairs=plan.head(5).to_dict(orient="records"),
    )
    return plan.reset_index(drop=True)[list(PLAN_COLUMNS)], summary


def _design(board: PlanBoard, pairs: pd.DataFrame, top: int) -> _Design | None:
    """The design problem of one board, or None when it has no rank analysis."""
    if board.ranks is None:
        return None
    counts, theta = board.counts, board.theta
    index = {m: i for i, m in enumerate(counts.models)}
    i, j = pairs["model_left"].map(index).to_numpy(), pairs["model_right"].map(index).to_numpy()
    candidates = np.flatnonzero(pd.notna(i) & pd.notna(j))
    pair_index = np.column_stack([i[candidates], j[candidates]]).astype(np.int64)
    model = bt.PairModel.of_counts(counts)
    p, _ = model.evaluate(theta, with_value=False)
    information = model.information(model.weighted(p * (1 - p)))
    information += bt.centring_precision(counts.n_models, board.prior_precision)
    p_pair = 0.5 * (1.0 + np.tanh(0.5 * (theta[pair_index[:, 0]] - theta[pair_index[:, 1]])))
    targets, weight = _targets(board.ranks, top)
    design = _Design(board, information, targets, weight, candidates, pair_index, p_pair * (1 - p_pair))
    if len(weight):  # per unit of relative variance: divide by the current variance
        cov = design.covariance(np.zeros(len(candidates)))
        k, q = targets[:, 0], targets[:, 1]
        var = cov[k, k] + cov[q, q] - 2 * cov[k, q]
        keep = (weight > 0) & (var > 0)
        design.targets, design.target_weight = targets[keep], weight[keep] / var[keep]
    return design


def _targets(ranks: RankSets, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Undecided pairs (k < l) and their weights: φ((t − c)/√2) · (t + c) / (4√2), doubled in the top
    and across tiers (module docstring)."""
    c = ranks.last_critical
    m = len(ranks.theta_hat)
    k, q = np.triu_indices(m, k=1)
    open_pairs = ~ranks.separable[k, q]
    k, q = k[open_pairs], q[open_pairs]
    if not np.isfinite(c) or not len(k):
        return np.empty((0, 2), np.int64), np.empty(0)
    t = np.abs(ranks.tstat[k, q])
    weight = np.exp(-0.25 * (t - c) ** 2) / np.sqrt(2 * np.pi) * (t + c) / (4 * np.sqrt(2))
    point_rank = 1 + (ranks.theta_hat[None, :] > ranks.theta_hat[:, None]).sum(axis=1)
    weight = weight * np.where(np.minimum(point_rank[k], point_rank[q]) <= top, 2.0, 1.0)
    weight = weight * np.where(ranks.tier[k] != ranks.tier[q], 2.0, 1.0)
    return np.column_stack([k, q]), weight


def _optimise(designs: list[_Design], n_pairs: int, horizon: float, iterations: int):
    """(shares over all pairs or None, objective at equal shares, objective at the plan)."""
    if not designs or horizon <= 0:
        return None, None, None
    sizes = [len(d.candidates) for d in designs]
    share = np.full(sum(sizes), 1.0 / sum(sizes))
    splits = np.cumsum(sizes)[:-1]

    def evaluate(s):
        parts = [
            d.objective_and_gain(horizon * x * d.info_per_vote)
            for d, x in zip(designs, np.split(s, splits), strict=True)
        ]
        gain = np.concatenate(
            [horizon * d.info_per_vote * g for d, (_, g) in zip(designs, parts, strict=True)]
        )
        return sum(v for v, _ in parts), gain

    start, gain = evaluate(share)
    if start <= 0 or not np.any(gain > 0):
        return None, None, None
    best, best_value = share, start
    for _ in range(iterations):
        scaled = share * np.sqrt(np.clip(gain, 0.0, None))
        share = scaled / scaled.sum()
        value, gain = evaluate(share)
        if value < best_value:
            best, best_value = share, value
    full = np.zeros(n_pairs)
    full[np.concatenate([d.candidates for d in designs])] = best
    return full, start, best_value


def _uniform_reason(boards: list[PlanBoard], designs: list[_Design]) -> str:
    """Why nothing is targeted. A board's undecided orders count only when some pair of active models is on
    it: otherwise (every active model new, or the rated ones no longer active) the plan cannot ask for them."""
    ranked = [b.ranks for b in boards if b.ranks is not None]
    if not ranked:
        return "the board has no rank analysis (its sandwich covariance is not finite), so no rank uncertainty to target"
    if not designs:
        return "no two active models are rated on one board yet: every pair gets the same share"
    if all(r.separable[np.triu_indices(len(r.theta_hat), k=1)].all() for r in ranked):
        return "every order on the board is already decided at 95%: every pair gets the same share"
    return "no undecided order is near being decided: every pair gets the same share"


def _reasons(pairs, designs, boards, share, horizon, mostly, weight) -> list[str]:
    """A reason per pair, naming the larger part of its weight: what its share beyond the floor sharpens
    (`mostly`: that share exceeds the floor's), or why it has (about) the floor only."""
    where = {m: board for board in boards for m in board.counts.models}
    reason = [
        _floor_reason(a, b, where) for a, b in zip(pairs["model_left"], pairs["model_right"], strict=True)
    ]
    for d in designs:
        above = d.candidates[mostly[d.candidates]]
        detailed = above[np.argsort(-weight[above], kind="stable")][:_DETAILED]
        if not len(detailed) or not len(d.targets):
            continue
        cov = d.covariance(horizon * share[d.candidates] * d.info_per_vote)
        position = {p: n for n, p in enumerate(d.candidates)}
        names, ranks = d.board.counts.models, d.board.ranks
        for p in above:
            reason[p] = "uncertainty: helps the undecided orders of its board"
        for p in detailed:
            i, j = d.pair_index[position[p]]
            v = cov[:, i] - cov[:, j]
            k, q = d.targets[np.argmax(d.target_weight * (v[d.targets[:, 0]] - v[d.targets[:, 1]]) ** 2)]
            reason[p] = _uncertainty_reason(names[k], names[q], ranks, k, q)
    return reason


def _uncertainty_reason(a: str, b: str, ranks: RankSets, k: int, q: int) -> str:
    where = []
    if ranks.tier[k] != ranks.tier[q]:
        where.append(f"tiers {min(ranks.tier[k], ranks.tier[q])}|{max(ranks.tier[k], ranks.tier[q])}")
    else:
        where.append(f"within tier {ranks.tier[k]}")
    return (
        f"uncertainty: sharpens the order of {a} and {b} (t = {abs(ranks.tstat[k, q]):.2f}, "
        f"{ranks.last_critical:.2f} decides it; {', '.join(where)})"
    )


def _floor_reason(a: str, b: str, where: dict[str, PlanBoard]) -> str:
    for model in (a, b):
        if model not in where:
            return f"floor: {model} has no rating yet (no counted votes, or compared only with itself)"
    if where[a].number != where[b].number:
        return (
            f"floor: links component {where[a].number} and component {where[b].number} "
            "(no chain of votes joins them yet)"
        )
    if where[a].ranks is None:
        return "floor: its board has no rank analysis, so no rank uncertainty to target"
    return "floor: its votes would barely move an undecided order near the top or a tier boundary"
