"""Ratings: the raw and style-controlled overall boards and the segment boards, from counts
aggregated in SQL. The math lives in `core/bradley_terry.py` and `core/boards.py`."""

import dagster as dg
import pandas as pd
from pydantic import Field

from showdown_pipeline.core import boards, records, run_cut, sampling_plan, style_segments
from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline.core.bradley_terry import ELO_SCALE, RatingError
from showdown_pipeline.core.records import BOARD_TABLES, PARAMETER_TABLES, SAMPLING_PLAN_TABLE
from showdown_pipeline.core.vote_schema import WINNER_SCORE
from showdown_pipeline.core.warehouse import WarehouseSession
from showdown_pipeline.defs.metadata import markdown_table, result_for, row_count
from showdown_pipeline.defs.resources import (
    WAREHOUSE_POOL,
    RunCutResource,
    WarehouseResource,
    board_parameters,
    ensure_same_cut,
)

_OVERALL, _THRESHOLDS = boards.OverallSettings(), boards.Thresholds()
_STYLE, _SEGMENT = boards.StyleSettings(), boards.SegmentSettings()


class RatingConfig(dg.Config):
    """Knobs of a rating run; every value is recorded in the snapshot manifest. The data cut, anchor and seed
    are the run's own (tags showdown/as_of, showdown/anchor, showdown/anchor_rating, showdown/seed)."""

    bootstrap_rounds: int = Field(
        default=_OVERALL.bootstrap_rounds,
        description="Percentile bootstrap rounds (0: sandwich interval only).",
    )
    workers: int = Field(
        default=_OVERALL.workers, description="Processes for the bootstrap (more help only beyond 2 cores)."
    )
    min_votes: int = Field(
        default=_THRESHOLDS.min_votes, description="Fewer votes than this: the row is provisional."
    )
    min_users: int = Field(
        default=_THRESHOLDS.min_users, description="Fewer distinct voters than this: the row is provisional."
    )
    max_user_share: float = Field(
        default=_THRESHOLDS.max_user_share,
        description="One voter above this share of a model's votes: the row is provisional.",
    )


class StyleConfig(dg.Config):
    ridge: float = Field(
        default=_STYLE.ridge, description="L2 penalty on the style coefficients (never on ratings)."
    )


class SegmentConfig(dg.Config):
    bootstrap_rounds: int = Field(
        default=_SEGMENT.bootstrap_rounds,
        description="Bootstrap rounds per segment board (0: sandwich interval of the shrunk fit).",
    )
    prior_sd: float | None = Field(
        default=_SEGMENT.prior_sd,
        description="Prior sd (logit) of a segment's deviation from the overall board. Default: chosen by held-out likelihood.",
    )
    folds: int = Field(
        default=_SEGMENT.folds, description="Folds of the held-out likelihood that chooses the shrinkage."
    )


def _preview(frame: pd.DataFrame, n: int = 10) -> dg.MetadataValue:
    top = frame.head(n)[["rank", "model_id", "rating", "ci_lower", "ci_upper", "votes"]]
    return dg.MetadataValue.md(markdown_table(top.itertuples(index=False), list(top.columns)))


def _parameters_spec(board: str, deps: list[str], what: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        PARAMETER_TABLES[board],
        group_name="ratings",
        deps=deps,
        description=f"{what}: the data cut and run, anchor, interval, prior and thresholds of the fit (JSON), "
        "recorded in the snapshot manifest and read back by the circuit breakers and publish.",
    )


OVERALL_SPECS = [
    dg.AssetSpec(
        "overall_ratings",
        group_name="ratings",
        deps=["votes_counted", "integrity_summary", "model_registry"],
        description=(
            "One row per model: raw Bradley-Terry rating on counted votes before the cut, 95% bootstrap and "
            "sandwich CIs, rank.\n\nTies count ½ (LMArena convention); rating = anchor_rating + 400/ln10 · θ "
            "with the anchor pinned. Rank = 1 + number of models whose lower bound is above this model's "
            "upper bound."
        ),
    ),
    _parameters_spec("overall", ["overall_ratings"], "One row (board 'overall'): the raw board's parameters"),
    dg.AssetSpec(
        SAMPLING_PLAN_TABLE,
        group_name="ratings",
        deps=["overall_ratings", "model_registry"],
        description=(
            "One row per pair of active models: the share of the next votes it should get (weights sum to 1) "
            "and why. A floor for every pair; the rest where votes most shrink the raw board's simultaneous "
            "rank intervals near the top and at tier boundaries (core/sampling_plan.py, README 'Sampling plan')."
        ),
    ),
]


def _overall_inputs(session: WarehouseSession, cutoff) -> dict:
    """What the raw board is fitted on, read once: cells, per-model stats, voter cells, the cut's counts,
    the default anchor and the integrity summary (its cut)."""
    models = [r["model_id"] for r in session.rows("ratings/counted_models")]
    return {
        "cells": session.query("ratings/pair_outcome_counts", {"cutoff": cutoff}).to_pandas(),
        "stats": session.query("ratings/model_vote_stats", {"cutoff": cutoff}).to_pandas(),
        "models": models,
        "voter_cells": session.query(
            "ratings/voter_pair_outcome_counts", {"cutoff": cutoff, "models": models}
        ),
        "cut_counts": session.one("ratings/cut_counts", {"cutoff": cutoff}),
        "default_anchor": session.one("ratings/default_anchor"),
        "integrity": records.load_integrity_summary(session),
        "active": [r["model_id"] for r in session.rows("ratings/active_models", {"cutoff": cutoff})],
    }


def _anchor(cut: run_cut.RunCut, default: dict) -> tuple[str, str]:
    """(the anchor model, where it came from)."""
    if cut.anchor_model:
        return cut.anchor_model, "--anchor"
    if default["from_registry"]:
        return default["anchor"], "the registry's first model"
    return default["anchor"], "the alphabetically first model (no models.csv)"


def _overall_parameters(
    run_cut: RunCutResource,
    config: RatingConfig,
    board: boards.Board,
    inputs: dict,
    anchor,
    clustering,
    plan_summary: dict,
) -> dict:
    cut = run_cut.cut
    counts = inputs["cut_counts"]
    return {
        "run": run_cut.record(),
        "as_of": cut.as_of.isoformat(),
        "cutoff_utc": cut.cutoff.isoformat().replace("+00:00", "Z"),
        "anchor": {"model_id": anchor[0], "rating": cut.anchor_rating, "source": anchor[1]},
        "scale": {"elo_per_logit": ELO_SCALE, "formula": "rating = anchor_rating + 400/ln(10) * theta"},
        "tie_score": WINNER_SCORE["both_good"],  # either tie kind (core/vote_schema.WINNER_SCORE)
        "interval": {
            "published": board.frame["ci_method"].iloc[0],
            "also": "sandwich (robust) 95%, votes independent: sandwich_lower/sandwich_upper",
            "clustered": "sandwich 95% with each voter's votes summed first: cluster_lower/cluster_upper",
            "level": 0.95,
            "relative_to": "the board's mean (so the anchor's interval is not degenerate)",
        },
        "bootstrap": {
            "rounds": config.bootstrap_rounds,
            "seed": cut.seed,
            "resampling": "Poisson bootstrap (each vote counted Poisson(1) times)",
        },
        "prior": bt.prior_description(board.extra["prior_precision"]),
        "components": [c.describe(cut.anchor_rating) for c in board.components],
        "thresholds": {
            "min_votes": config.min_votes,
            "min_users": config.min_users,
            "max_user_share": config.max_user_share,
        },
        "fit": {
            "converged": bool(board.fit.converged),
            "iterations": board.fit.iterations,
            "log_likelihood": board.fit.log_likelihood,
            "mle_exists": bool(board.fit.mle_exists),
            "ridge": board.fit.ridge,
        },
        "votes": {
            "counted_before_cut": counts["before_cut"],
            "waiting_after_cut": counts["after_cut"],
            "undated_counted": counts["undated"],
        },
        "voter_clustering": clustering,
        "rank_uncertainty": "rank_lower/rank_upper: simultaneous 95% (max-t stepdown over pairwise "
        "differences of the bootstrap replicates, studentised leave-one-out; normal draws from the sandwich "
        "covariance on boards without them); p_top1/p_top5; tier; rank_method per row (README 'Tiers and "
        "rank intervals')",
        "sampling_plan": plan_summary,
        "unrated_models": board.unrated,
        "notes": board.notes,
    }


def _fit_overall(config: RatingConfig, cut: run_cut.RunCut, inputs: dict, anchor: str):
    """The raw board and its voter-clustered interval."""
    thresholds = boards.Thresholds(config.min_votes, config.min_users, config.max_user_share)
    try:
        board = boards.build_board(
            inputs["cells"],
            inputs["stats"],
            anchor,
            cut.anchor_rating,
            thresholds,
            bootstrap_rounds=config.bootstrap_rounds,
            seed=cut.seed,
            workers=config.workers,
        )
    except RatingError as exc:
        raise dg.Failure(description=str(exc)) from exc
    voter_cells = inputs["voter_cells"]
    clustering = boards.add_voter_clustered_interval(
        board,
        inputs["models"],
        *(voter_cells.column(c).to_numpy() for c in ("voter", "left_code", "right_code", "score", "n")),
    )
    return board, clustering


@dg.multi_asset(specs=OVERALL_SPECS, can_subset=True, pool=WAREHOUSE_POOL)
def overall_ratings(
    context: dg.AssetExecutionContext,
    config: RatingConfig,
    warehouse: WarehouseResource,
    run_cut: RunCutResource,
):
    """Fit the raw board on the counted votes before the run's cut; record its parameters."""
    cut = run_cut.cut
    with warehouse.session() as session:
        inputs = _overall_inputs(session, cut.cutoff)
    ensure_same_cut(context, run_cut, inputs["integrity"].get("run"), "votes_counted")
    if inputs["cells"].empty:
        raise dg.Failure(
            description=f"no counted votes before the data cut {cut.cutoff.isoformat()}; nothing to rate"
        )
    anchor = _anchor(cut, inputs["default_anchor"])
    board, clustering = _fit_overall(config, cut, inputs, anchor[0])
    plan, plan_summary = sampling_plan.sampling_plan(
        sampling_plan.plan_boards(board.components), inputs["active"]
    )
    parameters = _overall_parameters(run_cut, config, board, inputs, anchor, clustering, plan_summary)
    with warehouse.session() as session:
        records.save_board(session, "overall", board.frame, parameters, also={SAMPLING_PLAN_TABLE: plan})
    for model, why in board.unrated.items():
        context.log.warning(f"{model} is not rated: {why}")
    for part in board.components[1:]:
        context.log.warning(
            f"component {part.number} ({', '.join(part.models)}) is not connected to the anchor {anchor[0]}: "
            f"rated on its own scale with {part.anchor} = {cut.anchor_rating:g}"
        )
    counts = inputs["cut_counts"]
    yield result_for(
        context,
        "overall_ratings",
        {
            **row_count(len(board.frame)),
            "as_of": cut.as_of.isoformat(),
            "anchor": f"{anchor[0]} = {cut.anchor_rating:g} ({anchor[1]})",
            "votes_counted": counts["before_cut"] + counts["undated"],
            "votes_waiting_after_cut": counts["after_cut"],
            "interval": board.frame["ci_method"].iloc[0],
            "design_effect_median": round(clustering["design_effect_median"], 3),
            "unrated_models": dg.MetadataValue.json(board.unrated),
            "components": len(board.components),
            "sampling_plan_pairs": len(plan),
            "parameters": dg.MetadataValue.json(parameters),
            "preview": _preview(board.frame),
        },
    )
    yield result_for(context, PARAMETER_TABLES["overall"], row_count(1))
    yield result_for(
        context, SAMPLING_PLAN_TABLE, {**row_count(len(plan)), "summary": dg.MetadataValue.json(plan_summary)}
    )


STYLE_SPECS = [
    dg.AssetSpec(
        "style_ratings",
        group_name="ratings",
        deps=["overall_ratings", PARAMETER_TABLES["overall"], "votes_counted"],
        description=(
            "One row per model: style-controlled Bradley-Terry rating (length, markdown, loading time held "
            "equal), 95% sandwich CI.\n\nSame data cut, anchor and thresholds as overall_ratings; the fitted "
            "style coefficients are published with each snapshot."
        ),
    ),
    _parameters_spec("style", ["style_ratings"], "One row (board 'style'): the style board's parameters"),
]


def _style_frame(config: StyleConfig, rows, stats, overall: dict, parameters: dict, context) -> pd.DataFrame:
    """The style board, or an empty one with the reason it was skipped (recorded in `parameters`)."""
    anchor = overall["anchor"]["model_id"]
    with_features = parameters["votes_with_features"]
    if not with_features or anchor not in rows.votes_per_model().index:
        reason = (
            "no counted votes carry style features"
            if not with_features
            else f"the anchor {anchor} has no votes with style features"
        )
        context.log.warning(f"style board skipped: {reason}")
        parameters.update(skipped=reason, coefficients=[])
        return pd.DataFrame(columns=[*boards.LEADERBOARD_COLUMNS, "theta", "se"])
    thresholds = boards.Thresholds(**overall["thresholds"])
    try:
        board = boards.build_style_board(
            rows, stats, anchor, overall["anchor"]["rating"], thresholds, ridge=config.ridge
        )
    except RatingError as exc:
        raise dg.Failure(description=str(exc)) from exc
    parameters.update(
        coefficients=board.extra["coefficients"],
        converged=board.extra["converged"],
        prior=bt.prior_description(board.extra["prior_precision"]),
        unrated_models=board.unrated,
        notes=board.notes,
    )
    return board.frame


def _coefficients_table(coefficients: list[dict]) -> dg.MetadataValue:
    return dg.MetadataValue.md(
        markdown_table(
            [
                (c["feature"], round(c["coefficient"], 4), round(c["ci_lower"], 4), round(c["ci_upper"], 4))
                for c in coefficients
            ],
            ("feature", "coefficient (per sd)", "95% lower", "95% upper"),
        )
    )


@dg.multi_asset(specs=STYLE_SPECS, can_subset=True, pool=WAREHOUSE_POOL)
def style_ratings(
    context: dg.AssetExecutionContext,
    config: StyleConfig,
    warehouse: WarehouseResource,
    run_cut: RunCutResource,
):
    """Fit the style-controlled board with the overall board's cut, anchor and thresholds."""
    cutoff = run_cut.cut.cutoff
    with warehouse.session() as session:
        overall = board_parameters(session, "overall")
        ensure_same_cut(context, run_cut, overall.get("run"), "overall_ratings")
        coverage = session.one("ratings/style_feature_coverage", {"cutoff": cutoff})
        models = [r["model_id"] for r in session.rows("ratings/counted_models")]
        rows = boards.StyleRows.from_arrow(
            session.query("ratings/style_feature_rows", {"cutoff": cutoff, "models": models}), models
        )
        stats = session.query("ratings/model_vote_stats", {"cutoff": cutoff}).to_pandas()
    with_features, counted = coverage["with_features"], coverage["counted"]
    parameters = {
        "run": run_cut.record(),
        "anchor": overall["anchor"],
        "ridge": config.ridge,
        "votes_with_features": with_features,
        "votes_counted": counted,
    }
    frame = _style_frame(config, rows, stats, overall, parameters, context)
    with warehouse.session() as session:
        records.save_board(session, "style", frame, parameters)
    yield result_for(
        context,
        "style_ratings",
        {
            **row_count(len(frame)),
            "votes_with_features": with_features,
            "votes_without_features": counted - with_features,
            "coefficients": _coefficients_table(parameters["coefficients"]),
            "preview": _preview(frame) if len(frame) else dg.MetadataValue.md("(skipped)"),
        },
    )
    yield result_for(context, PARAMETER_TABLES["style"], row_count(1))


SEGMENT_PARAMETERS = PARAMETER_TABLES[boards.SEGMENT_DIMENSIONS[0]]
SEGMENT_SPECS = [
    *(
        dg.AssetSpec(
            f"{dim}_ratings",
            group_name="ratings",
            deps=["overall_ratings", PARAMETER_TABLES["overall"], "style_ratings", "votes_counted"],
            description=(
                f"One row per (board, {dim} value, model): Bradley-Terry rating shrunk towards the overall board "
                "of its kind (raw, or style with the overall style coefficients held fixed), 95% CI, rank, the "
                "unshrunk estimate and the difference from the overall rating with its interval."
            ),
        )
        for dim in boards.SEGMENT_DIMENSIONS
    ),
    _parameters_spec(
        boards.SEGMENT_DIMENSIONS[0],
        [f"{dim}_ratings" for dim in boards.SEGMENT_DIMENSIONS],
        "One row per segment dimension: its board's parameters (shrinkage prior and how it was chosen)",
    ),
]


def _segment_board(
    context, config: SegmentConfig, warehouse: WarehouseResource, run_cut, dim: str, style_votes: dict
):
    """Fit and write one dimension's boards; returns (frame, parameters). `style_votes`: the run's style
    rows of every dimension once read (`_style_votes`), shared by the dimensions of one materialization."""
    cutoff, seed = run_cut.cut.cutoff, run_cut.cut.seed
    with warehouse.session() as session:
        overall_params = board_parameters(session, "overall")
        ensure_same_cut(context, run_cut, overall_params.get("run"), "overall_ratings")
        session.run("ratings/create_segmented_votes")
        params = {"cutoff": cutoff, "segment_dim": dim}
        cells = session.query("ratings/segment_outcome_counts", params).to_pandas()
        stats = session.query("ratings/segment_model_stats", params).to_pandas()
        overall_frame = session.read_table(BOARD_TABLES["raw"]).to_pandas()
    overall = boards.Board(
        frame=overall_frame,
        anchor=overall_params["anchor"]["model_id"],
        anchor_rating=overall_params["anchor"]["rating"],
    )
    thresholds = boards.Thresholds(**overall_params["thresholds"])
    notes: list[str] = []  # the fits' fallbacks, into the parameters (never silent)
    frame, prior_sd, scores = boards.dimension_boards(
        cells,
        stats,
        overall,
        dim,
        thresholds,
        prior_sd=config.prior_sd,
        folds=config.folds,
        bootstrap_rounds=config.bootstrap_rounds,
        seed=seed,
        notes=notes,
    )
    parameters = {
        "run": run_cut.record(),
        "dimension": dim,
        "prior_sd": prior_sd,
        "prior_sd_source": "config" if config.prior_sd is not None else "held-out likelihood",
        "heldout_loglik_by_prior_sd": scores,
        "folds": config.folds,
        "bootstrap_rounds": config.bootstrap_rounds,
        "seed": seed,
        "segments": int(frame["segment_value"].nunique()) if len(frame) else 0,
        "components": "each row keeps its model's overall component and scale; ranks count within "
        "(segment value, component); a part of a segment not linked to the rest is provisional",
        "notes": notes,
    }
    style_frame, parameters["style"] = _style_segment_board(
        context, config, warehouse, run_cut, dim, stats, thresholds, style_votes
    )
    if len(style_frame):
        frame = pd.concat([f for f in (frame, style_frame) if len(f)], ignore_index=True)
    with warehouse.session() as session:
        records.save_board(session, dim, frame, parameters)
    return frame, parameters


def _style_segment_board(
    context,
    config: SegmentConfig,
    warehouse: WarehouseResource,
    run_cut,
    dim: str,
    stats,
    thresholds,
    style_votes: dict,
):
    """The dimension's style boards (core/style_segments.py) and their parameters, with the raw segments'
    vote stats and thresholds; none, with the reason, when the overall style board was not fitted or was
    skipped."""
    empty = pd.DataFrame(columns=[*boards.LEADERBOARD_COLUMNS, "theta", "se"])
    with warehouse.session() as session:
        if BOARD_TABLES["style"] not in session.table_names():
            return empty, {"skipped": "the overall style board was not fitted (materialize style_ratings)"}
        style_params = board_parameters(session, "style")
        ensure_same_cut(context, run_cut, style_params.get("run"), "style_ratings")
        style = session.read_table(BOARD_TABLES["style"]).to_pandas()
        if style_params.get("skipped") or style.empty:
            return empty, {"skipped": f"the overall style board was skipped: {style_params.get('skipped')}"}
        votes = _style_votes(session, run_cut, style_votes)
    coefficients = style_params["coefficients"]
    segments = style_segments.segments_of(
        votes, dim, set(style["model_id"]), style_segments.unit_coefficients(coefficients)[0]
    )
    overall = boards.Board(
        frame=style, anchor=style_params["anchor"]["model_id"], anchor_rating=style_params["anchor"]["rating"]
    )
    notes: list[str] = []
    frame, parameters = style_segments.build_style_segment_boards(
        segments,
        stats,
        overall,
        coefficients,
        dim,
        config.prior_sd,
        thresholds,
        folds=config.folds,
        seed=run_cut.cut.seed,
        notes=notes,
    )
    return frame, {**parameters, "notes": notes}


def _style_votes(session, run_cut, cache: dict) -> style_segments.StyleVotes:
    """The style rows of every dimension (sql/ratings/segment_style_votes.sql), read by the first
    dimension that needs them and kept in `cache` for the others of the same materialization: one scan
    of the votes instead of one per dimension."""
    if "votes" not in cache:
        models = [r["model_id"] for r in session.rows("ratings/counted_models")]
        table = session.query("ratings/segment_style_votes", {"cutoff": run_cut.cut.cutoff, "models": models})
        cache["votes"] = style_segments.StyleVotes.from_arrow(table, models, boards.SEGMENT_DIMENSIONS)
    return cache["votes"]


def _differences(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows significantly better or worse than overall (not provisional), largest first."""
    if not len(frame):
        return frame
    differs = frame[frame["differs_from_overall"].astype(bool) & ~frame["provisional"].astype(bool)]
    return differs.reindex(differs["diff_vs_overall"].abs().sort_values(ascending=False).index)


def _segment_metadata(frame: pd.DataFrame, parameters: dict) -> dict:
    differs = _differences(frame)
    prior_sd = parameters["prior_sd"]
    return {
        **row_count(len(frame)),
        "segments": parameters["segments"],
        "prior_sd": prior_sd if prior_sd is not None else float("nan"),
        "heldout_loglik_by_prior_sd": dg.MetadataValue.json(parameters["heldout_loglik_by_prior_sd"]),
        "significant_differences": len(differs),
        "differences_preview": dg.MetadataValue.md(
            markdown_table(
                differs.head(15)[
                    ["board", "segment_value", "model_id", "diff_vs_overall", "diff_lower", "diff_upper"]
                ].itertuples(index=False),
                ("board", "value", "model", "Δ vs overall", "95% lower", "95% upper"),
            )
            if len(differs)
            else "(none)"
        ),
    }


@dg.multi_asset(specs=SEGMENT_SPECS, can_subset=True, pool=WAREHOUSE_POOL)
def segment_ratings(
    context: dg.AssetExecutionContext,
    config: SegmentConfig,
    warehouse: WarehouseResource,
    run_cut: RunCutResource,
):
    """Segment boards, one asset per dimension (materialize one dimension alone from the UI); each
    dimension's parameters are its row of segment_rating_parameters (selected alone: every dimension)."""
    board_keys = [f"{dim}_ratings" for dim in boards.SEGMENT_DIMENSIONS]
    selected = [k for k in board_keys if dg.AssetKey(k) in context.selected_asset_keys] or board_keys
    style_votes: dict = {}  # read once, for every selected dimension
    for key in sorted(selected):
        dim = key.removesuffix("_ratings")
        frame, parameters = _segment_board(context, config, warehouse, run_cut, dim, style_votes)
        context.log.info(
            f"{dim}: {parameters['segments']} boards, prior sd {parameters['prior_sd']}, "
            f"{len(_differences(frame))} significant differences"
        )
        yield result_for(context, key, _segment_metadata(frame, parameters))
    written = {"dimensions": [k.removesuffix("_ratings") for k in sorted(selected)]}
    yield result_for(context, SEGMENT_PARAMETERS, written)


defs = dg.Definitions(assets=[overall_ratings, style_ratings, segment_ratings])
