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

The published boards add one weak prior, λ/2 · Σ(θ − θ̄)² (RATING_PRIOR_PRECISION), to the fit, the
sandwich and every bootstrap replicate alike; with λ = 0 (the default of `fit_bradley_terry`) the fit is
plain maximum likelihood, which is what the golden and independent-fit tests check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

ELO_SCALE = 400.0 / math.log(10.0)
Z_95 = 1.959963984540054
# When the maximum-likelihood estimate does not exist (the win graph is not strongly connected, e.g.
# a model that never wins), this ridge keeps the plain fit finite; the result says so. Published boards
# do not use it: they use RATING_PRIOR_PRECISION, always and in every bootstrap replicate.
FALLBACK_RIDGE = 1e-3
# The published boards' prior: a Gaussian on the ratings relative to their board's mean,
# λ/2 · Σ(θ − θ̄)², used alike by the fit, the sandwich and every bootstrap replicate, so the
# replicates resample the very estimator that is published. It does not depend on which model is
# pinned (it sees only contrasts). λ = 0.01 is a prior sd of 10 logits (1,737 Elo) on a model's
# distance from the mean: on the real boards it moves no rating by more than a few hundredths of an Elo
# (README "Ratings" gives the measurements), while a model that never loses (or never wins) in
# a sample stays within about ln(n/λ) logits of its opponents instead of running off to infinity.
RATING_PRIOR_PRECISION = 0.005


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
    prior_precision: float = 0.0  # λ of the prior λ/2 · Σ(θ − θ̄)²; 0: plain maximum likelihood

    def ratings(self, anchor_rating: float) -> np.ndarray:
        return anchor_rating + ELO_SCALE * self.theta

    def centred_se(self) -> np.ndarray:
        return centred_se(self.cov)

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


def prior_description(precision: float) -> dict:
    """What the manifest says about the ratings' prior (never a silent fallback)."""
    if precision <= 0:
        return {"kind": "none: plain maximum likelihood", "precision": 0.0}
    return {
        "kind": "Gaussian on each rating's distance from its board's mean: lambda/2 * sum (theta - mean theta)^2",
        "precision": precision,
        "sd_logit": 1.0 / math.sqrt(precision),
        "sd_elo": ELO_SCALE / math.sqrt(precision),
        "used_by": "the fit, the sandwich and clustered sandwich (in H), every bootstrap replicate",
        "always_on": True,
        "why": "keeps a model that never loses or never wins (in the data or in a bootstrap replicate) "
        "finite, the same way in the published fit and its replicates; blind to which model is pinned",
    }


def centring_precision(m: int, precision: float) -> np.ndarray:
    """The m×m precision matrix of the prior λ/2 · Σ(θ − θ̄)² = λ/2 · θᵀ(I − 11ᵀ/m)θ: blind to a common
    shift, so to which model is pinned; positive definite on the free parameters once one is pinned."""
    return precision * (np.eye(m) - 1.0 / m)


def fit_bradley_terry(
    counts: PairCounts,
    anchor: str,
    ridge: float | None = None,
    tol: float = 1e-10,
    max_iter: int = 200,
    *,
    prior_precision: float = 0.0,
) -> BTFit:
    """Bradley-Terry with `anchor` pinned at θ = 0: the maximum-likelihood fit, or with
    `prior_precision` λ > 0 the posterior mode under the prior λ/2 · Σ(θ − θ̄)² (the published boards
    use RATING_PRIOR_PRECISION), which exists for every connected comparison graph.

    `ridge` adds ridge/2 · Σθ² to the negative log-likelihood. By default it is 0 when the MLE exists
    or a prior is given, and FALLBACK_RIDGE otherwise (recorded in the result), so the ratings never
    diverge.
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
        ridge = 0.0 if exists or prior_precision > 0 else FALLBACK_RIDGE
        if ridge:
            notes.append(
                "maximum-likelihood ratings do not exist (some model never wins or never loses against "
                f"the rest); fitted with ridge {FALLBACK_RIDGE}"
            )
    m = counts.n_models
    anchor_index = counts.models.index(anchor)
    keep = np.arange(m) != anchor_index
    # the whole penalty on the free parameters: ridge·I plus the prior's block (θ_anchor = 0)
    penalty = ridge * np.eye(m - 1) + centring_precision(m, prior_precision)[np.ix_(keep, keep)]
    beta, converged, iteration, current = _newton_pinned(counts, anchor_index, penalty, tol, max_iter)
    theta = np.zeros(m)
    theta[keep] = beta
    cov = sandwich_covariance(counts, theta, anchor_index, ridge, prior_precision=prior_precision)
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
        prior_precision=prior_precision,
    )


def _newton_pinned(counts: PairCounts, anchor_index: int, penalty: np.ndarray, tol: float, max_iter: int):
    """Maximise loglik − ½ βᵀ·penalty·β over the free parameters β (θ with the anchor removed) by
    Newton's method with backtracking. Returns (β, converged, iterations, objective)."""
    m = counts.n_models
    keep = np.arange(m) != anchor_index
    free = _reduced(counts, anchor_index)
    li, ri = free[counts.left], free[counts.right]
    y, w = counts.score, counts.count
    size = m - 1

    def unpack(beta: np.ndarray) -> np.ndarray:
        theta = np.zeros(m)
        theta[keep] = beta
        return theta

    def objective(beta: np.ndarray) -> float:
        theta = unpack(beta)
        return _loglik(theta[counts.left] - theta[counts.right], y, w) - 0.5 * float(beta @ penalty @ beta)

    beta = np.zeros(size)
    current = objective(beta)
    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        theta = unpack(beta)
        p = _sigmoid(theta[counts.left] - theta[counts.right])
        grad = _signed_sum(li, ri, w * (y - p), size) - penalty @ beta
        hess = _weighted_outer(li, ri, w * p * (1.0 - p), size) + penalty
        step = _solve(hess, grad)
        candidate, value, t = _backtrack(objective, beta, step, current)
        beta, gain, current = candidate, value - current, value
        if np.max(np.abs(t * step)) < tol or abs(gain) < tol * max(1.0, abs(current)) * 1e-3:
            converged = True
            break
    return beta, converged, iteration, current


def sandwich_covariance(
    counts: PairCounts,
    theta: np.ndarray,
    anchor_index: int,
    ridge: float = 0.0,
    *,
    prior_precision: float = 0.0,
) -> np.ndarray:
    """H⁻¹ J H⁻¹ over the free parameters, embedded in an m×m matrix with the anchor's row/col zero.

    H is the Fisher information plus the penalty's curvature (ridge, prior), J the sum over individual
    votes of the squared score of the likelihood (votes treated as independent): the sandwich of a
    penalised M-estimator."""
    m = counts.n_models
    free = _reduced(counts, anchor_index)
    keep = free >= 0
    li, ri = free[counts.left], free[counts.right]
    y, w = counts.score, counts.count
    p = _sigmoid(theta[counts.left] - theta[counts.right])
    size = m - 1
    hess = _weighted_outer(li, ri, w * p * (1.0 - p), size) + ridge * np.eye(size)
    hess += centring_precision(m, prior_precision)[np.ix_(keep, keep)]
    meat = _weighted_outer(li, ri, w * (y - p) ** 2, size)
    h_inv = np.linalg.pinv(hess)
    reduced = h_inv @ meat @ h_inv
    cov = np.zeros((m, m))
    cov[np.ix_(keep, keep)] = reduced
    return cov


def clustered_sandwich_covariance(
    counts: PairCounts,
    theta: np.ndarray,
    anchor_index: int,
    voter: np.ndarray,
    block: int = 4_000_000,
    *,
    prior_precision: float = 0.0,
) -> np.ndarray:
    """The sandwich with each voter's votes summed before squaring (cluster-robust): H⁻¹ J H⁻¹ with
    J = Σ_v g_v g_vᵀ, g_v = Σ over v's cells of n·(y − p)·(e_left − e_right).

    `counts` holds one cell per (voter, left, right, score) and `voter[i]` is cell i's voter code
    (0 … V−1). One person's votes are not independent (a taste, a position habit, a campaign); when
    they lean together this interval is wider than the plain sandwich, which treats every vote as
    independent. With one vote per voter the two are identical. The g_v are built densely for a range
    of voters at a time (about `block` numbers), and J accumulates their Gram matrices. H carries the
    prior's curvature when the fit had one (`prior_precision`), as in `sandwich_covariance`."""
    m = counts.n_models
    voter = np.asarray(voter, dtype=np.int64)
    left, right = counts.left, counts.right
    p = _sigmoid(theta[left] - theta[right])
    r = counts.count * (counts.score - p)
    if len(voter) > 1 and not np.all(voter[1:] >= voter[:-1]):
        order = np.argsort(voter, kind="stable")
        voter, left, right, r = voter[order], left[order], right[order], r[order]
    meat = np.zeros((m, m))
    per_block = max(1, block // m)
    starts = np.searchsorted(voter, np.arange(0, int(voter[-1]) + 1 if len(voter) else 0, per_block))
    for a, b in zip(starts, [*starts[1:], len(voter)], strict=True):
        if a == b:
            continue
        first = voter[a]
        slot = (voter[a:b] - first) * m
        size = int(voter[b - 1] - first + 1) * m
        g = np.bincount(slot + left[a:b], r[a:b], size) - np.bincount(slot + right[a:b], r[a:b], size)
        g = g.reshape(-1, m)
        meat += g.T @ g
    free = _reduced(counts, anchor_index)
    keep = free >= 0
    hess = _weighted_outer(free[counts.left], free[counts.right], counts.count * p * (1.0 - p), m - 1)
    hess += centring_precision(m, prior_precision)[np.ix_(keep, keep)]
    h_inv = np.linalg.pinv(hess)
    cov = np.zeros((m, m))
    cov[np.ix_(keep, keep)] = h_inv @ meat[np.ix_(keep, keep)] @ h_inv
    return cov


def centred_se(cov: np.ndarray) -> np.ndarray:
    """Standard error of each θ_i − mean(θ) from a covariance with the anchor pinned: invariant to
    which model is pinned, so the anchor gets an honest interval too (pinning gives it zero width)."""
    m = cov.shape[0]
    centre = np.eye(m) - 1.0 / m
    return np.sqrt(np.clip(np.diag(centre @ cov @ centre), 0.0, None))


def rank_by_intervals(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Rank = 1 + the number of models whose lower bound is above this model's upper bound."""
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    return 1 + (lower[None, :] > upper[:, None]).sum(axis=1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _loglik(d: np.ndarray, y: np.ndarray, w: np.ndarray | float) -> float:
    """Σ w·[y·log σ(d) + (1−y)·log σ(−d)] = Σ w·[y·d − log(1 + e^d)], for scores y in [0, 1]."""
    return float(np.sum(w * (y * d - np.logaddexp(0.0, d))))


def weighted_gram(design, weights: np.ndarray) -> np.ndarray:
    """Dᵀ diag(weights) D as a dense matrix: the Fisher information (weights w·p(1−p)) or the
    sandwich's meat (weights w·(y−p)²) of the cells in `design`."""
    return (design.T @ design.multiply(weights[:, None])).toarray()


def _backtrack(objective, point: np.ndarray, step: np.ndarray, current: float):
    """(point + t·step, its objective, t) for the largest t in 1, ½, ¼ … that does not lower the
    objective (a Newton step on a concave problem; t stops halving below 1e-8)."""
    t = 1.0
    while True:
        candidate = point + t * step
        value = objective(candidate)
        if value >= current - 1e-12 or t < 1e-8:
            return candidate, value, t
        t *= 0.5


def _solve(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(hess, grad)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(hess, grad, rcond=None)[0]


# ------------------------------------------------------------------------------------------------
# Bootstrap: resample votes (multinomial over the aggregated cells) and refit every replicate.


def design_matrix(counts: PairCounts):
    """K × m sparse matrix with +1 at the left model and −1 at the right model of each cell."""
    from scipy.sparse import csr_matrix

    k = len(counts.left)
    rows = np.concatenate([np.arange(k), np.arange(k)])
    cols = np.concatenate([counts.left, counts.right])
    vals = np.concatenate([np.ones(k), -np.ones(k)])
    return csr_matrix((vals, (rows, cols)), shape=(k, counts.n_models))


def bootstrap_thetas(
    counts: PairCounts,
    theta_hat: np.ndarray,
    rounds: int,
    seed: int,
    *,
    free: np.ndarray | None = None,
    prior: np.ndarray | None = None,
    penalty: float = 0.0,
    prior_precision: float = 0.0,
    batch: int = 50,
    workers: int = 1,
    tol: float = 1e-6,
    max_iter: int = 60,
) -> np.ndarray:
    """`rounds` × m bootstrap replicates of θ, each a full refit on votes resampled with replacement.

    Votes are resampled by the Poisson bootstrap over the aggregated cells (each vote counted
    Poisson(1) times), the streaming form of resampling votes with replacement. Replicates are solved together, starting from θ̂ with the Hessian at θ̂ held
    fixed (a chord method): each step costs two sparse products, and converges because a replicate's
    Hessian differs from θ̂'s only by sampling noise. A replicate that has not converged after
    `max_iter` steps is refitted alone with full Newton steps, so every replicate is an exact fit
    (to `tol` on θ, i.e. 4e-4 Elo by default). More `workers` pay off only with more cores than
    BLAS threads: on 2 cores one process is fastest.

    Batches draw from their own child seed (numpy SeedSequence.spawn), so the replicates are the same
    whatever `workers` is. `free` marks the parameters that move (all but a pinned anchor, θ = 0).
    `penalty` adds penalty/2 · |θ − prior|² (segment boards, shrunk towards the overall board, nothing
    pinned) and `prior_precision` λ the published boards' prior λ/2 · Σ(θ − θ̄)²: the replicates must
    carry the penalty the published fit carried, or the interval describes another estimator.
    """
    m = counts.n_models
    if free is None:
        raise ValueError("bootstrap_thetas needs `free`: which parameters move (all but a pinned anchor)")
    free = np.asarray(free, dtype=bool)
    prior = np.zeros(m) if prior is None else np.asarray(prior, dtype=float)
    pull = _Pull(prior, penalty, prior_precision)
    design = design_matrix(counts)
    p_hat = _sigmoid(design @ theta_hat)
    hess = weighted_gram(design, counts.count * p_hat * (1 - p_hat))
    hess = hess[np.ix_(free, free)] + pull.precision(m)[np.ix_(free, free)]
    sizes = [min(batch, rounds - start) for start in range(0, rounds, batch)]
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    job = _BootstrapJob(counts, theta_hat, free, pull, hess, tol, max_iter)
    if workers > 1 and len(sizes) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            parts = list(pool.map(job.run, sizes, seeds))
    else:
        parts = [job.run(size, s) for size, s in zip(sizes, seeds, strict=True)]
    return np.concatenate(parts, axis=0) if parts else np.empty((0, m))


@dataclass(frozen=True)
class _Pull:
    """The bootstrap's penalty: penalty/2 · |θ − prior|² + λ/2 · Σ(θ − θ̄)² (λ = prior_precision).
    Its gradient is computed from the two numbers, never as a product with an m × m matrix: such a
    product in every chord step wakes the BLAS threads (measured: +25% CPU at 1M votes)."""

    prior: np.ndarray
    penalty: float
    prior_precision: float

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        """∂/∂θ of the penalty, for one θ or a batch of rows."""
        centred = theta - theta.mean(axis=-1, keepdims=True)
        return self.penalty * (theta - self.prior) + self.prior_precision * centred

    def value(self, theta: np.ndarray) -> float:
        centred = theta - theta.mean()
        shrink = float(np.sum((theta - self.prior) ** 2))
        return 0.5 * (self.penalty * shrink + self.prior_precision * float(centred @ centred))

    def precision(self, m: int) -> np.ndarray:
        """The penalty's Hessian, m × m."""
        return self.penalty * np.eye(m) + centring_precision(m, self.prior_precision)


@dataclass
class _BootstrapJob:
    counts: PairCounts
    theta_hat: np.ndarray
    free: np.ndarray
    pull: _Pull
    hess: np.ndarray
    tol: float
    max_iter: int

    def run(self, size: int, seed: np.random.SeedSequence) -> np.ndarray:
        counts, free = self.counts, self.free
        design = design_matrix(counts)
        chol = _cholesky(self.hess)
        y = counts.score
        rng = np.random.default_rng(seed)
        # Poisson bootstrap: each vote is drawn Poisson(1) times, so a cell of c votes is drawn
        # Poisson(c) times. Asymptotically the same as resampling N votes with replacement (the total
        # varies by ~√N), twice as fast to draw as the multinomial, and exact per cell.
        weights = rng.poisson(counts.count, size=(size, len(counts.count))).astype(float)
        theta = np.tile(self.theta_hat, (size, 1))
        active = np.ones(size, dtype=bool)
        free_idx = np.flatnonzero(free)
        for _ in range(self.max_iter):
            idx = np.flatnonzero(active)
            p = _sigmoid((design @ theta[idx].T).T)
            grad = (design.T @ (weights[idx] * (y - p)).T).T - self.pull.gradient(theta[idx])
            step = _chol_solve(chol, grad[:, free].T).T
            theta[np.ix_(idx, free_idx)] += step
            active[idx[np.max(np.abs(step), axis=1) < self.tol]] = False
            if not active.any():
                break
        for i in np.flatnonzero(active):  # rare: refit alone, exactly
            theta[i] = _newton_weighted(counts, weights[i], theta[i], free, self.pull, self.tol)
        return theta


def _newton_weighted(counts, weights, theta, free, pull: _Pull, tol, max_iter=100) -> np.ndarray:
    """One replicate refitted alone: Newton's method with backtracking on the same penalised objective."""
    design = design_matrix(counts)
    y = counts.score
    theta = theta.copy()
    precision = pull.precision(counts.n_models)[np.ix_(free, free)]

    def objective(t: np.ndarray) -> float:
        return _loglik(design @ t, y, weights) - pull.value(t)

    current = objective(theta)
    for _ in range(max_iter):
        p = _sigmoid(design @ theta)
        grad = design.T @ (weights * (y - p)) - pull.gradient(theta)
        hess = weighted_gram(design, weights * p * (1 - p))[np.ix_(free, free)] + precision
        step = np.zeros_like(theta)
        step[free] = _solve(hess, grad[free])
        theta, current, t = _backtrack(objective, theta, step, current)
        if np.max(np.abs(t * step)) < tol:
            break
    return theta


def _cholesky(matrix: np.ndarray):
    from scipy.linalg import cho_factor

    try:
        return ("chol", cho_factor(matrix))
    except np.linalg.LinAlgError:
        return ("pinv", np.linalg.pinv(matrix))


def _chol_solve(factor, rhs: np.ndarray) -> np.ndarray:
    from scipy.linalg import cho_solve

    kind, value = factor
    return cho_solve(value, rhs) if kind == "chol" else value @ rhs


def percentile_interval(
    thetas: np.ndarray, theta_hat: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each model's θ relative to the board's mean, placed around θ̂.

    Relative to the mean (not to the pinned anchor), so the anchor's interval is not degenerate
    and the interval does not depend on which model is pinned."""
    centred = thetas - thetas.mean(axis=1, keepdims=True)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(centred, [alpha, 1.0 - alpha], axis=0)
    shift = theta_hat.mean()
    return lo + shift, hi + shift


# ------------------------------------------------------------------------------------------------
# Shrinkage: a segment's board borrows strength from the overall board.


@dataclass
class ShrunkFit:
    models: tuple[str, ...]
    theta: np.ndarray  # on the overall board's scale; Σ(θ − prior) = 0
    cov: np.ndarray  # sandwich covariance of the penalised estimate
    penalty: float
    converged: bool


def fit_shrunk(
    counts: PairCounts, prior: np.ndarray, penalty: float, tol: float = 1e-10, max_iter: int = 100
) -> ShrunkFit:
    """Maximise loglik − penalty/2 · |θ − prior|² with every θ free.

    The likelihood does not move when all θ shift together, so the penalty alone sets the level:
    at the optimum Σ(θ − prior) = 0, i.e. the segment's ratings sit on the overall board's scale
    even when the anchor has no votes in the segment. A tiny penalty gives the (unshrunk) maximum
    likelihood estimate on that scale."""
    m = counts.n_models
    design = design_matrix(counts)
    y, w = counts.score, counts.count
    theta = prior.astype(float).copy()
    eye = np.eye(m)
    converged = False

    def objective(t: np.ndarray) -> float:
        return _loglik(design @ t, y, w) - 0.5 * penalty * float(np.sum((t - prior) ** 2))

    current = objective(theta)
    for _ in range(max_iter):
        p = _sigmoid(design @ theta)
        grad = design.T @ (w * (y - p)) - penalty * (theta - prior)
        hess = weighted_gram(design, w * p * (1 - p)) + penalty * eye
        step = _solve(hess, grad)
        theta, current, t = _backtrack(objective, theta, step, current)
        if np.max(np.abs(t * step)) < tol:
            converged = True
            break
    p = _sigmoid(design @ theta)
    hess = weighted_gram(design, w * p * (1 - p)) + penalty * eye
    meat = weighted_gram(design, w * (y - p) ** 2)
    h_inv = np.linalg.pinv(hess)
    return ShrunkFit(counts.models, theta, h_inv @ meat @ h_inv, penalty, converged)


def heldout_loglik(counts: PairCounts, theta: np.ndarray) -> float:
    return _loglik(design_matrix(counts) @ theta, counts.score, counts.count)


# ------------------------------------------------------------------------------------------------
# Style control: Bradley-Terry plus covariates of the two responses (DESIGN §3).


@dataclass
class StyleFit:
    models: tuple[str, ...]
    anchor: str
    theta: np.ndarray  # anchor at 0
    beta: np.ndarray  # coefficients on the scaled features
    cov: np.ndarray  # sandwich covariance of (θ, β), anchor row/col zero
    feature_scale: np.ndarray  # the standard deviations the features were divided by
    converged: bool
    iterations: int

    def centred_se(self) -> np.ndarray:
        m = len(self.models)
        return centred_se(self.cov[:m, :m])

    def beta_se(self) -> np.ndarray:
        m = len(self.models)
        return np.sqrt(np.clip(np.diag(self.cov)[m:], 0.0, None))


def fit_style_bradley_terry(
    models: tuple[str, ...],
    left: np.ndarray,
    right: np.ndarray,
    score: np.ndarray,
    features: np.ndarray,
    weight: np.ndarray | None,
    anchor: str,
    ridge: float = 1.0,
    tol: float = 1e-6,
    max_iter: int = 50,
    theta0: np.ndarray | None = None,
    features_by_row: bool = True,
    prior_precision: float = 0.0,
) -> StyleFit:
    """P(left wins) = σ(θ_left − θ_right + Σ β_k x_k) on rows of (left, right, score, features, weight).

    Features are divided by their (weighted) standard deviation but not centred: a difference
    (L−R)/(L+R) flips sign when the sides swap, and centring would break that symmetry. The ridge
    penalises β only (ridge/2 · |β|²), never the ratings; with millions of votes the default ridge of
    1 moves β by less than 1e-5. `theta0` (e.g. the plain board's θ) is only a starting point.
    `features` is rows × k (copied once into the working layout), or k × rows with
    `features_by_row=False` (the working layout: read in place, never copied or changed). `weight` None means every row counts once. The fit runs on
    the unscaled features with the ridge on each coefficient multiplied by its feature's variance,
    which is the same problem as the ridge on the scaled coefficients without a scaled copy.
    `prior_precision` λ adds the published boards' prior λ/2 · Σ(θ − θ̄)² on the ratings (see
    RATING_PRIOR_PRECISION); its curvature is in the sandwich's H.

    Newton's method, damped by backtracking for the first iterations; it stops after a step smaller
    than `tol`, which leaves an error of order tol² (quadratic convergence). Every pass over the rows
    is one gather, one sigmoid and a handful of bincounts into the m × m pair grid, so the cost per
    iteration is a few tenths of a second on ten million rows."""
    m = len(models)
    anchor_index = models.index(anchor)
    xt = np.ascontiguousarray(features.T if features_by_row else features, dtype=float)
    k = xt.shape[0]
    w = None if weight is None else np.asarray(weight, dtype=float)
    total = len(score) if w is None else w.sum()
    squares = np.einsum("kn,kn->k", xt, xt) if w is None else np.einsum("kn,kn,n->k", xt, xt, w)
    scale = np.sqrt(squares / total)
    scale[scale == 0] = 1.0
    penalty = ridge * scale**2  # ridge/2 · |β_scaled|² with β_scaled = β · scale
    pair = np.asarray(left, dtype=np.int64) * m + np.asarray(right, dtype=np.int64)
    free = np.arange(m) != anchor_index
    keep = np.concatenate([free, np.ones(k, dtype=bool)])
    buffer = np.empty(len(score))
    prior = centring_precision(m, prior_precision)

    def pair_grid(values: np.ndarray) -> np.ndarray:
        return np.bincount(pair, values, m * m).reshape(m, m)

    def signed(grid: np.ndarray) -> np.ndarray:  # Σ v·(e_left − e_right) from the pair grid
        return grid.sum(axis=1) - grid.sum(axis=0)

    def weighted(values: np.ndarray) -> np.ndarray:
        return values if w is None else values * w

    def evaluate(theta, beta, with_loglik):
        d = (theta[:, None] - theta[None, :]).ravel()[pair]
        d += beta @ xt
        p = _sigmoid(d)
        value = None
        if with_loglik:
            value = _loglik(d, score, 1.0 if w is None else w) - 0.5 * float(penalty @ beta**2)
            value -= 0.5 * float(theta @ prior @ theta)
        return p, value

    def information(a: np.ndarray) -> np.ndarray:
        """Σ a · z zᵀ over rows, z = (e_left − e_right, x): the Fisher information (a = w·p(1−p)) or
        the sandwich's meat (a = w·(y−p)²)."""
        grid = pair_grid(a)
        full = np.zeros((m + k, m + k))
        full[:m, :m] = np.diag(grid.sum(axis=1) + grid.sum(axis=0)) - grid - grid.T
        cross = np.empty((k, m))
        for j in range(k):
            np.multiply(xt[j], a, out=buffer)
            cross[j] = signed(pair_grid(buffer))
            full[m + j, m + j :] = xt[j:] @ buffer
        full[m:, m:] = np.triu(full[m:, m:]) + np.triu(full[m:, m:], 1).T
        full[:m, m:], full[m:, :m] = cross.T, cross
        return full

    theta = np.zeros(m) if theta0 is None else np.asarray(theta0, dtype=float) - theta0[anchor_index]
    beta = np.zeros(k)
    p, current = evaluate(theta, beta, with_loglik=True)
    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        r = weighted(score - p)
        grad = np.concatenate([signed(pair_grid(r)) - prior @ theta, xt @ r - penalty * beta])
        hess = information(weighted(p * (1 - p)))
        hess[m:, m:] += np.diag(penalty)
        hess[:m, :m] += prior
        step = np.zeros(m + k)
        step[keep] = _solve(hess[np.ix_(keep, keep)], grad[keep])
        damped = iteration <= 3  # backtracking while far from the optimum; then plain Newton (concave)
        t = 1.0
        while True:
            cand_t, cand_b = theta + t * step[:m], beta + t * step[m:]
            cand_p, value = evaluate(cand_t, cand_b, with_loglik=damped)
            if not damped or value >= current - 1e-12 or t < 1e-8:
                break
            t *= 0.5
        theta, beta, p, current = cand_t, cand_b, cand_p, value
        if np.max(np.abs(t * step)) < tol:
            converged = True
            break
    hess = information(weighted(p * (1 - p)))
    hess[m:, m:] += np.diag(penalty)
    hess[:m, :m] += prior
    meat = information(weighted((score - p) ** 2))
    reduced_h = np.linalg.pinv(hess[np.ix_(keep, keep)])
    reduced = reduced_h @ meat[np.ix_(keep, keep)] @ reduced_h
    cov = np.zeros((m + k, m + k))
    cov[np.ix_(keep, keep)] = reduced
    to_scaled = np.concatenate([np.ones(m), scale])  # report β per standard deviation
    cov *= np.outer(to_scaled, to_scaled)
    return StyleFit(models, anchor, theta, beta * scale, cov, scale, converged, iteration)
