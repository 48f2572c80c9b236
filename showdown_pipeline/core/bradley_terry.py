"""Bradley-Terry ratings on aggregated pairwise counts (DESIGN §3).

The model: P(left beats right) = σ(θ_left − θ_right). A left win scores 1, a right win 0 and a tie of
either kind ½ (the LMArena convention). Votes are never looped over: the input is one row per
distinct (left, right, score) cell with its count, aggregated in SQL, so the fit costs the same for
ten thousand or ten million votes.

One model, the anchor, is pinned at θ = 0; a rating is `anchor_rating + (400 / ln 10) · θ`.
The 95% closed-form interval is the sandwich (robust) one: Cov = H⁻¹ J H⁻¹ with H the Fisher
information and J the sum of squared scores over votes. Intervals are for each model's rating
relative to the mean of the board (a contrast that does not depend on the choice of anchor), placed
around the anchored rating. Fitting is Newton's method with step
halving on the concave log-likelihood.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

ELO_SCALE = 400.0 / math.log(10.0)
Z_95 = 1.959963984540054
# When the maximum-likelihood estimate does not exist (the win graph is not strongly connected, e.g.
# a model that never wins), this ridge keeps ratings finite; the result says so.
FALLBACK_RIDGE = 1e-3


class RatingError(ValueError):
    """The ratings cannot be computed as asked (no votes, unknown anchor, ...)."""


@dataclass(frozen=True)
class PairCounts:
    """Aggregated outcomes: for each cell, `count` votes of `left` vs `right` that scored `score`."""

    models: tuple[str, ...]
    left: np.ndarray  # int index into models
    right: np.ndarray
    score: np.ndarray  # 1, 0 or 0.5
    count: np.ndarray  # float weights (vote counts)

    @classmethod
    def from_cells(cls, left: list[str], right: list[str], score, count) -> PairCounts:
        models = tuple(sorted(set(left) | set(right)))
        index = {m: i for i, m in enumerate(models)}
        return cls(
            models=models,
            left=np.array([index[m] for m in left], dtype=np.int64),
            right=np.array([index[m] for m in right], dtype=np.int64),
            score=np.asarray(score, dtype=float),
            count=np.asarray(count, dtype=float),
        )

    @property
    def n_models(self) -> int:
        return len(self.models)

    def subset(self, keep: list[str]) -> PairCounts:
        """Only the cells whose both models are in `keep`, re-indexed."""
        keep_set = set(keep)
        names = np.array(self.models, dtype=object)
        mask = np.array(
            [
                names[i] in keep_set and names[j] in keep_set
                for i, j in zip(self.left, self.right, strict=True)
            ],
            dtype=bool,
        )
        return PairCounts.from_cells(
            list(names[self.left[mask]]), list(names[self.right[mask]]), self.score[mask], self.count[mask]
        )


@dataclass
class BTFit:
    models: tuple[str, ...]
    anchor: str
    theta: np.ndarray  # logit scale, anchor at 0
    cov: np.ndarray  # sandwich covariance of theta (anchor row/col zero)
    converged: bool
    iterations: int
    log_likelihood: float
    mle_exists: bool
    ridge: float
    notes: list[str] = field(default_factory=list)

    def ratings(self, anchor_rating: float) -> np.ndarray:
        return anchor_rating + ELO_SCALE * self.theta

    def centred_se(self) -> np.ndarray:
        """Standard error of each θ_i − mean(θ): invariant to which model is pinned, so the anchor
        gets an honest interval too (pinning would give it zero width)."""
        m = len(self.models)
        centre = np.eye(m) - 1.0 / m
        return np.sqrt(np.clip(np.diag(centre @ self.cov @ centre), 0.0, None))

    def intervals(self, anchor_rating: float) -> tuple[np.ndarray, np.ndarray]:
        se = self.centred_se()
        rating = self.ratings(anchor_rating)
        return rating - Z_95 * ELO_SCALE * se, rating + Z_95 * ELO_SCALE * se


def components(counts: PairCounts) -> list[list[str]]:
    """Connected components of the comparison graph (models linked by at least one vote)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = counts.n_models
    graph = coo_matrix((np.ones(len(counts.left)), (counts.left, counts.right)), shape=(m, m))
    n, labels = connected_components(graph, directed=False)
    groups = [[counts.models[i] for i in np.flatnonzero(labels == k)] for k in range(n)]
    return sorted(groups, key=lambda g: (-len(g), g))


def mle_exists(counts: PairCounts) -> bool:
    """True when every model both beats and loses to the rest, transitively (Zermelo/Ford condition):
    the directed graph with an edge i→j whenever i scored against j is strongly connected."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = counts.n_models
    if m < 2:
        return False
    won_left = counts.score > 0  # left scored against right
    won_right = counts.score < 1
    rows = np.concatenate([counts.left[won_left], counts.right[won_right]])
    cols = np.concatenate([counts.right[won_left], counts.left[won_right]])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(m, m))
    n, _ = connected_components(graph, directed=True, connection="strong")
    return n == 1


def _reduced(counts: PairCounts, anchor_index: int):
    """Design helpers: map full model indices to free-parameter indices (anchor removed → -1)."""
    m = counts.n_models
    free = np.full(m, -1, dtype=np.int64)
    free[np.arange(m) != anchor_index] = np.arange(m - 1)
    return free


def _weighted_outer(i: np.ndarray, j: np.ndarray, a: np.ndarray, size: int) -> np.ndarray:
    """Σ a · (e_i − e_j)(e_i − e_j)ᵀ over cells, with index −1 meaning 'pinned' (dropped)."""
    out = np.zeros(size * size)
    vi, vj = i >= 0, j >= 0
    out += np.bincount(i[vi] * size + i[vi], weights=a[vi], minlength=size * size)
    out += np.bincount(j[vj] * size + j[vj], weights=a[vj], minlength=size * size)
    both = vi & vj
    cross = np.bincount(i[both] * size + j[both], weights=a[both], minlength=size * size)
    out -= cross
    out -= cross.reshape(size, size).T.ravel()
    return out.reshape(size, size)


def _signed_sum(i: np.ndarray, j: np.ndarray, a: np.ndarray, size: int) -> np.ndarray:
    """Σ a · (e_i − e_j) over cells, dropping pinned indices."""
    vi, vj = i >= 0, j >= 0
    return np.bincount(i[vi], weights=a[vi], minlength=size) - np.bincount(
        j[vj], weights=a[vj], minlength=size
    )


def fit_bradley_terry(
    counts: PairCounts,
    anchor: str,
    ridge: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> BTFit:
    """Maximum-likelihood Bradley-Terry with `anchor` pinned at θ = 0.

    `ridge` adds ridge/2 · Σθ² to the negative log-likelihood. By default it is 0 when the MLE
    exists and FALLBACK_RIDGE otherwise (recorded in the result), so the ratings never diverge.
    """
    if counts.n_models < 2 or float(counts.count.sum()) <= 0:
        raise RatingError("need votes between at least two models to fit ratings")
    if anchor not in counts.models:
        raise RatingError(f"anchor model {anchor!r} has no counted votes")
    groups = components(counts)
    if len(groups) > 1:
        raise RatingError(
            f"the comparison graph is disconnected ({len(groups)} components); fit each component "
            "separately or choose models that were compared"
        )
    exists = mle_exists(counts)
    notes: list[str] = []
    if ridge is None:
        ridge = 0.0 if exists else FALLBACK_RIDGE
        if not exists:
            notes.append(
                "maximum-likelihood ratings do not exist (some model never wins or never loses against "
                f"the rest); fitted with ridge {FALLBACK_RIDGE}"
            )

    m = counts.n_models
    anchor_index = counts.models.index(anchor)
    free = _reduced(counts, anchor_index)
    li, ri = free[counts.left], free[counts.right]
    y, w = counts.score, counts.count
    size = m - 1

    def unpack(beta: np.ndarray) -> np.ndarray:
        theta = np.zeros(m)
        theta[np.arange(m) != anchor_index] = beta
        return theta

    def loglik(beta: np.ndarray) -> float:
        theta = unpack(beta)
        d = theta[counts.left] - theta[counts.right]
        # log σ(d) = −log(1 + e^(−d)), computed stably
        ll = np.sum(w * (y * -np.logaddexp(0.0, -d) + (1.0 - y) * -np.logaddexp(0.0, d)))
        return float(ll - 0.5 * ridge * beta @ beta)

    beta = np.zeros(size)
    current = loglik(beta)
    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        theta = unpack(beta)
        p = _sigmoid(theta[counts.left] - theta[counts.right])
        grad = _signed_sum(li, ri, w * (y - p), size) - ridge * beta
        hess = _weighted_outer(li, ri, w * p * (1.0 - p), size) + ridge * np.eye(size)
        step = _solve(hess, grad)
        t = 1.0
        while True:
            candidate = beta + t * step
            value = loglik(candidate)
            if value >= current - 1e-12 or t < 1e-8:
                break
            t *= 0.5
        beta, gain, current = candidate, value - current, value
        if np.max(np.abs(t * step)) < tol or abs(gain) < tol * max(1.0, abs(current)) * 1e-3:
            converged = True
            break

    theta = unpack(beta)
    cov = sandwich_covariance(counts, theta, anchor_index, ridge)
    return BTFit(
        models=counts.models,
        anchor=anchor,
        theta=theta,
        cov=cov,
        converged=converged,
        iterations=iteration,
        log_likelihood=current,
        mle_exists=exists,
        ridge=ridge,
        notes=notes,
    )


def sandwich_covariance(
    counts: PairCounts, theta: np.ndarray, anchor_index: int, ridge: float = 0.0
) -> np.ndarray:
    """H⁻¹ J H⁻¹ over the free parameters, embedded in an m×m matrix with the anchor's row/col zero.

    Each cell's count multiplies the per-vote squared score, so J is the sum over individual votes
    (votes treated as independent)."""
    m = counts.n_models
    free = _reduced(counts, anchor_index)
    li, ri = free[counts.left], free[counts.right]
    y, w = counts.score, counts.count
    p = _sigmoid(theta[counts.left] - theta[counts.right])
    size = m - 1
    hess = _weighted_outer(li, ri, w * p * (1.0 - p), size) + ridge * np.eye(size)
    meat = _weighted_outer(li, ri, w * (y - p) ** 2, size)
    h_inv = np.linalg.pinv(hess)
    reduced = h_inv @ meat @ h_inv
    cov = np.zeros((m, m))
    keep = np.arange(m) != anchor_index
    cov[np.ix_(keep, keep)] = reduced
    return cov


def rank_by_intervals(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Rank = 1 + the number of models whose lower bound is above this model's upper bound."""
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    return 1 + (lower[None, :] > upper[:, None]).sum(axis=1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _solve(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(hess, grad)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(hess, grad, rcond=None)[0]
