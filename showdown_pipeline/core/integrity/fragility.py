"""Fragility of #1: the fewest votes whose removal changes the top model (arXiv 2508.11847)."""

from __future__ import annotations

import numpy as np

from showdown_pipeline.core import bradley_terry as bt


def fragility(counts: bt.PairCounts, anchor: str, max_removed: int = 100_000) -> dict:
    """Influence-guided estimate, confirmed by refitting.

    Each vote's first-order effect on θ_1 − θ_2 (the gap between #1 and #2) is −(e_1 − e_2)ᵀ H⁻¹ x (y − p);
    votes of a cell share it. Cells are removed greedily, most damaging first, until the predicted gap
    closes; the removal is then refitted and grown until #1 actually changes."""
    fit = bt.fit_bradley_terry(counts, anchor)
    order = np.argsort(-fit.theta)
    first, second = int(order[0]), int(order[1])
    gap = fit.theta[first] - fit.theta[second]
    per_vote = _gap_influence(counts, fit.theta, first, second)
    removed = _greedy_removal(per_vote, counts.count, gap, max_removed)
    found = {
        "top_model": counts.models[first],
        "runner_up": counts.models[second],
        "gap_elo": float(gap * bt.ELO_SCALE),
        "votes_to_flip_estimate": int(removed.sum()),
    }
    new_top, removed = _confirm(counts, anchor, first, per_vote, removed, max_removed)
    if new_top is None:
        found |= {
            "votes_to_flip_confirmed": None,
            "note": f"no flip found within {int(removed.sum())} removed votes",
        }
    else:
        found |= {"votes_to_flip_confirmed": int(removed.sum()), "new_top_model": counts.models[new_top]}
    return found | {"total_votes": int(counts.count.sum())}


def _gap_influence(counts: bt.PairCounts, theta: np.ndarray, first: int, second: int) -> np.ndarray:
    """Per cell, how much removing one of its votes narrows θ_first − θ_second (first order)."""
    m = counts.n_models
    design = bt.design_matrix(counts)
    p = 1 / (1 + np.exp(-(design @ theta)))
    hess = bt.PairModel.of_counts(counts).information(counts.count * p * (1 - p)) + 1e-9 * np.eye(m)
    contrast = np.zeros(m)
    contrast[first], contrast[second] = 1.0, -1.0
    direction = np.linalg.solve(hess, contrast)  # H⁻¹ (e1 − e2)
    return (design @ direction) * (counts.score - p)  # removing a vote changes the gap by −this


def _greedy_removal(per_vote: np.ndarray, count: np.ndarray, gap: float, max_removed: int) -> np.ndarray:
    """Votes removed per cell, most damaging cells first, until the predicted gap closes."""
    removed = np.zeros(len(count))
    predicted, total = 0.0, 0
    for c in np.argsort(-per_vote):
        if per_vote[c] <= 0 or predicted >= gap or total >= max_removed:
            break
        need = int(np.ceil((gap - predicted) / per_vote[c]))
        take = int(min(need, count[c], max_removed - total))
        removed[c] = take
        predicted += take * per_vote[c]
        total += take
    return removed


def _confirm(
    counts: bt.PairCounts,
    anchor: str,
    first: int,
    per_vote: np.ndarray,
    removed: np.ndarray,
    max_removed: int,
) -> tuple[int | None, np.ndarray]:
    """Refit without the removed votes, growing the removal by 10% until #1 changes: the new #1 (None when
    it never did) and the votes removed then."""
    removed = removed.copy()
    order_cells = np.argsort(-per_vote)
    for _ in range(60):
        kept = bt.PairCounts(counts.models, counts.left, counts.right, counts.score, counts.count - removed)
        refit = bt.fit_bradley_terry(kept, anchor, ridge=1e-9)
        if int(np.argmax(refit.theta)) != first:
            return int(np.argmax(refit.theta)), removed
        grow = max(1, int(0.1 * removed.sum()))
        for c in order_cells:
            if per_vote[c] <= 0 or grow <= 0:
                break
            take = min(counts.count[c] - removed[c], grow)
            removed[c] += take
            grow -= take
        if removed.sum() >= min(max_removed, counts.count.sum() - 1):
            break
    return None, removed
