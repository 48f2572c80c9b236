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
    m = counts.n_models
    design = bt.design_matrix(counts)
    p = 1 / (1 + np.exp(-(design @ fit.theta)))
    hess = bt.weighted_gram(design, counts.count * p * (1 - p)) + 1e-9 * np.eye(m)
    contrast = np.zeros(m)
    contrast[first], contrast[second] = 1.0, -1.0
    direction = np.linalg.solve(hess, contrast)  # H⁻¹ (e1 − e2)
    per_vote = (design @ direction) * (counts.score - p)  # removing a vote changes the gap by −this
    order_cells = np.argsort(-per_vote)
    removed = np.zeros(len(counts.count))
    predicted, total = 0.0, 0
    for c in order_cells:
        if per_vote[c] <= 0 or predicted >= gap or total >= max_removed:
            break
        need = int(np.ceil((gap - predicted) / per_vote[c]))
        take = int(min(need, counts.count[c], max_removed - total))
        removed[c] = take
        predicted += take * per_vote[c]
        total += take
    estimate = total
    for _ in range(60):  # confirm by refitting; grow the removal until #1 changes
        kept = bt.PairCounts(counts.models, counts.left, counts.right, counts.score, counts.count - removed)
        refit = bt.fit_bradley_terry(kept, anchor, ridge=1e-9)
        if int(np.argmax(refit.theta)) != first:
            return {
                "top_model": counts.models[first],
                "runner_up": counts.models[second],
                "gap_elo": float(gap * bt.ELO_SCALE),
                "votes_to_flip_estimate": estimate,
                "votes_to_flip_confirmed": int(removed.sum()),
                "new_top_model": counts.models[int(np.argmax(refit.theta))],
                "total_votes": int(counts.count.sum()),
            }
        grow = max(1, int(0.1 * removed.sum()))
        for c in order_cells:
            if per_vote[c] <= 0 or grow <= 0:
                break
            room = counts.count[c] - removed[c]
            take = min(room, grow)
            removed[c] += take
            grow -= take
        if removed.sum() >= min(max_removed, counts.count.sum() - 1):
            break
    return {
        "top_model": counts.models[first],
        "runner_up": counts.models[second],
        "gap_elo": float(gap * bt.ELO_SCALE),
        "votes_to_flip_estimate": estimate,
        "votes_to_flip_confirmed": None,
        "note": f"no flip found within {int(removed.sum())} removed votes",
        "total_votes": int(counts.count.sum()),
    }
