"""Style-controlled segment boards (`board = 'style'` rows of every segment dimension).

Per segment value s, P(left wins) = σ(θ_s,left − θ_s,right + βᵀz): z are the vote's style features
((L−R)/(L+R) of tokens, headers, lists, bold, loading time) and β the coefficients of the overall style
board, estimated once from every vote and held fixed here, so βᵀz is a known offset per row
(`PairCounts.offset`). The ratings θ_s are shrunk towards the overall style board exactly as the raw
segments are shrunk towards the overall raw board: the same prior sd chosen by held-out likelihood
(`boards.choose_shrinkage_of`), the same shrunk fit and sandwich (`boards.segment_boards`, the one
penalised Newton solver). The input is the style fit's aggregation (one row per distinct (value, models,
score, features) with its count), never a loop over votes; one SQL pass reads it for every dimension
(`StyleVotes`).

Where a segment value has at least STYLE_TEST_MIN_VOTES votes with features, a score (Rao) test asks
whether its own coefficients differ from the overall ones: H0 δ = 0 in σ(θ_left − θ_right + (β + δ)ᵀz),
at the segment's own (unshrunk) ratings, the ratings projected out of the score and its variance taken
from the rows (robust: ties make outcomes vary less than the binomial variance says); χ² with one
degree of freedom per feature. Its p-value is the rows' `style_shift_p_value`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from showdown_pipeline.core import boards
from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline.core.boards import Thresholds

# Votes with style features a segment value needs before its coefficient shift is tested: enough for the
# χ² approximation of a five-feature score test to hold comfortably.
STYLE_TEST_MIN_VOTES = 1000
_DEFAULT_THRESHOLDS = Thresholds()
STYLE_METHOD = "; the overall style board's coefficients held fixed"


@dataclass
class StyleSegment:
    """One segment value's style rows: `counts` carries each row's offset βᵀz, `features` its z (k × rows,
    per unit difference) for the coefficient test."""

    value: str
    counts: bt.PairCounts
    features: np.ndarray

    @property
    def votes(self) -> float:
        return float(self.counts.count.sum())


def unit_coefficients(coefficients: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(β per unit difference, each feature's sd) in STYLE_FEATURES order, from the style board's
    published coefficients (its parameters)."""
    by_name = {c["feature"]: c for c in coefficients}
    missing = [f for f in boards.STYLE_FEATURES if f not in by_name]
    if missing:
        raise bt.RatingError(f"the style board's coefficients lack {missing}")
    beta = np.array([float(by_name[f]["coefficient_per_unit_difference"]) for f in boards.STYLE_FEATURES])
    scale = np.array([float(by_name[f]["feature_sd"]) for f in boards.STYLE_FEATURES])
    return beta, scale


@dataclass
class StyleVotes:
    """The style rows of every segment dimension, read once (sql/ratings/segment_style_votes.sql): `rows`
    ordered by models, score and features, and per dimension each row's value as a code into that
    dimension's sorted values (-1: none). `of` gives one dimension's rows as a GROUP BY per dimension
    would, so one scan of the votes serves every dimension."""

    rows: boards.StyleRows
    values: dict[str, tuple[np.ndarray, list[str]]]

    @classmethod
    def from_arrow(cls, table: pa.Table, models: list[str], dims: tuple[str, ...]) -> StyleVotes:
        values = {}
        for dim in dims:
            encoded = pc.dictionary_encode(table.column(dim)).combine_chunks()
            names = encoded.dictionary.to_pylist()
            rank = np.argsort(np.array(names, dtype=object), kind="stable")  # Python's order, as SQL's bytes
            position = np.empty(len(names), dtype=np.int32)
            position[rank] = np.arange(len(names), dtype=np.int32)
            raw = encoded.indices.fill_null(-1).to_numpy().astype(np.int64)
            codes = np.where(raw >= 0, position[np.maximum(raw, 0)] if len(names) else -1, -1)
            values[dim] = (codes.astype(np.int32), [str(names[i]) for i in rank])
        return cls(boards.StyleRows.from_arrow(table, models), values)

    def of(self, dim: str, keep: np.ndarray | None = None) -> tuple[boards.StyleRows, np.ndarray, list[str]]:
        """(rows, value codes, sorted values) of `dim`: the rows with a value (and `keep`, a mask over
        `rows`, true), ordered by (value, models, score, features), rows equal in all of these merged and
        counted (their counts summed). The rows are gathered once, in that order."""
        codes, names = self.values[dim]
        order = np.argsort(codes, kind="stable")
        wanted = codes[order] >= 0
        if keep is not None:
            wanted &= keep[order]
        order = order[wanted]
        rows, codes = self.rows.take(order), codes[order]
        n = np.ones(len(order)) if rows.weight is None else rows.weight
        if len(order):
            same = np.ones(len(order), dtype=bool)
            same[0] = False
            for column in (codes, rows.left, rows.right, rows.score, *rows.features):
                same[1:] &= column[1:] == column[:-1]
            if same.any():
                starts = np.flatnonzero(~same)
                n = np.add.reduceat(n, starts)
                rows, codes = rows.take(starts), codes[starts]
        rows.weight = n
        return rows, codes, names


def style_segments(
    table: pa.Table, models: list[str], known: set[str], beta: np.ndarray, dim: str = "segment_value"
) -> list[StyleSegment]:
    """Each segment value (sorted) with its rows between `known` models (the overall style board's), from a
    table of style rows with the value in column `dim` (model codes are positions in `models`)."""
    return segments_of(StyleVotes.from_arrow(table, models, (dim,)), dim, known, beta)


def segments_of(votes: StyleVotes, dim: str, known: set[str], beta: np.ndarray) -> list[StyleSegment]:
    """Each value of `dim` (sorted) with its rows between `known` models (the overall style board's)."""
    models = votes.rows.models
    in_board = np.array([m in known for m in models] or [False])
    rows, codes, names = votes.of(dim, in_board[votes.rows.left] & in_board[votes.rows.right])
    # codes are sorted: each value's rows are one run
    bounds = np.searchsorted(codes, np.arange(len(names) + 1))
    position = np.empty(len(models), dtype=np.int64)
    out = []
    for v, name in enumerate(names):
        if bounds[v] == bounds[v + 1]:
            continue
        part = slice(bounds[v], bounds[v + 1])
        both = np.concatenate([rows.left[part], rows.right[part]])
        # np.unique(both, return_inverse=True) without its sort: codes are positions in `models`
        used = np.flatnonzero(np.bincount(both, minlength=len(models)))
        position[used] = np.arange(len(used))
        local = position[both]
        n_rows = part.stop - part.start
        features = rows.features[:, part]
        counts = bt.PairCounts(
            tuple(models[i] for i in used),
            local[:n_rows],
            local[n_rows:],
            rows.score[part],
            rows.weight[part],
            offset=beta @ features,
        )
        out.append(StyleSegment(str(name), counts, features))
    return out


def coefficient_shift_test(
    segment: StyleSegment, beta: np.ndarray, scale: np.ndarray, start: np.ndarray | None = None
) -> dict | None:
    """The robust score test of H0: the segment's style coefficients equal the overall ones (δ = 0), at
    the segment's own ratings (the unshrunk fit with β held fixed). Returns statistic, df, p_value and the
    one-step estimate of δ per feature sd; None where the segment alone cannot rate its models (no
    maximum-likelihood estimate, or not connected) — then there is nothing to test against. `start`: where
    that fit starts (the segment board's unshrunk θ, centred; default 0): the optimum is the same."""
    from scipy.stats import chi2

    counts = segment.counts
    if not bt.mle_exists(counts) or len(bt.components(counts)) > 1:
        return None
    m = counts.n_models
    own, _ = bt.shrunk_theta(counts, np.zeros(m), boards.UNSHRUNK_PENALTY, start=start)
    model = bt.PairModel(m, counts.left * m + counts.right, counts.score, counts.count, segment.features)
    p, _ = model.evaluate(np.concatenate([own, beta]), with_value=False)
    score = model.gradient(p)[m:]  # ∂ log-likelihood / ∂δ at δ = 0
    info = model.information(model.weighted(p * (1 - p)))
    # the ratings are nuisance parameters: project them out of the score (their common level is not
    # identified and carries no information on δ, so the pseudo-inverse is exact)
    project = info[m:, :m] @ np.linalg.pinv(info[:m, :m])
    efficient = info[m:, m:] - project @ info[:m, m:]
    # the score's variance from the rows themselves (robust): ties make the scores vary less than the
    # binomial p(1 − p) says, and the model-based variance would hide real shifts
    meat = model.information(model.weighted((counts.score - p) ** 2))
    lift = np.hstack([-project, np.eye(len(beta))])
    variance = lift @ meat @ lift.T
    df = int(np.linalg.matrix_rank(variance))
    if df == 0:
        return None
    statistic = float(score @ np.linalg.pinv(variance) @ score)
    return {
        "statistic": statistic,
        "df": df,
        "p_value": float(chi2.sf(statistic, df)),
        "shift_per_sd": dict(
            zip(boards.STYLE_FEATURES, (np.linalg.pinv(efficient) @ score * scale).tolist(), strict=True)
        ),
        "votes": segment.votes,
    }


def _unshrunk_start(frame: pd.DataFrame, segment: StyleSegment) -> np.ndarray | None:
    """The segment's unshrunk θ from its board rows (Elo back to logits), centred like the test's own fit
    (a penalty towards 0 sets Σθ = 0); None where the board has none (no estimate: the test is not run)."""
    rows = frame[frame["segment_value"] == str(segment.value)].set_index("model_id")
    if not set(segment.counts.models) <= set(rows.index):
        return None
    theta = rows.loc[list(segment.counts.models), "rating_unshrunk"].to_numpy(dtype=float) / bt.ELO_SCALE
    return None if not np.isfinite(theta).all() else theta - theta.mean()


def holm(p_values: dict[str, float], level: float = 0.05) -> set[str]:
    """The keys Holm's step-down rejects at `level` (family-wise, over one dimension's values)."""
    ranked = sorted(p_values.items(), key=lambda kv: (kv[1], kv[0]))
    rejected = set()
    for i, (key, p) in enumerate(ranked):
        if p > level / (len(ranked) - i):
            break
        rejected.add(key)
    return rejected


def build_style_segment_boards(
    segments: list[StyleSegment],
    stats: pd.DataFrame,
    style_board: boards.Board,
    coefficients: list[dict],
    segment_dim: str,
    prior_sd: float | None,
    thresholds: Thresholds = _DEFAULT_THRESHOLDS,
    *,
    folds: int = boards.SegmentSettings.folds,
    seed: int = 0,
    notes: list[str] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """The style boards of one dimension, shrunk towards `style_board` (its frame carries θ per model)
    with prior sd `prior_sd` (None: chosen by held-out likelihood, as for the raw segments), with each
    tested value's `style_shift_p_value`. Intervals are the shrunk fit's sandwich, as on the overall style
    board, and so are the rank columns (normal draws with that covariance, core/rank_uncertainty.py). Returns (rows, parameters: the prior sd and its choice, how many values were tested and
    differ); `segments` from `style_segments` with the same coefficients."""
    beta, scale = unit_coefficients(coefficients)
    pairs = [(s.value, s.counts) for s in segments]
    prior_of = dict(zip(style_board.frame["model_id"], style_board.frame["theta"], strict=True))
    if prior_sd is None:
        prior_sd, scores = boards.choose_shrinkage_of(pairs, prior_of, folds=folds, seed=seed, notes=notes)
        source = "held-out likelihood"
    else:
        scores, source = {}, "config"
    frame = boards.segment_boards(
        pairs,
        stats,
        style_board,
        segment_dim,
        prior_sd,
        thresholds,
        board="style",
        method=STYLE_METHOD,
        notes=notes,
    )
    tested = [s for s in segments if s.votes >= STYLE_TEST_MIN_VOTES]
    jobs = ((s, beta, scale, _unshrunk_start(frame, s)) for s in tested)
    tests = dict(zip((s.value for s in tested), boards.in_order(coefficient_shift_test, jobs), strict=True))
    p_values = {v: t["p_value"] for v, t in tests.items() if t is not None}
    frame["style_shift_p_value"] = frame["segment_value"].map(p_values).astype(float)
    parameters = {
        "prior_sd": prior_sd,
        "prior_sd_source": source,
        "heldout_loglik_by_prior_sd": scores,
        "interval": (
            "sandwich of the shrunk fit with the segment's departure from the overall style board and that "
            "board's error counted (boards._segment_estimates); the coefficients are the overall style board's, "
            "held fixed"
        ),
        "rank_uncertainty": (
            "rank columns from normal draws with that covariance (the sandwich and the departure; rank_method)"
        ),
        "coefficient_test": {
            "test": "robust score (Rao) test of the segment's coefficient shift, chi-squared, one df per feature",
            "min_votes": STYLE_TEST_MIN_VOTES,
            "tested": len(p_values),
            "untestable": sum(t is None for t in tests.values()),
            "p_below_0_05": sum(p < 0.05 for p in p_values.values()),
            "differ_holm_0_05": len(holm(p_values)),
        },
    }
    return frame, parameters
