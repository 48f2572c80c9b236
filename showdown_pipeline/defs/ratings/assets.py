"""Ratings: the raw and style-controlled overall boards and the segment boards, from counts
aggregated in SQL. The math lives in `core/bradley_terry.py` and `core/boards.py`."""

import json

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from showdown_pipeline.core import boards, data_state
from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline.core.bradley_terry import ELO_SCALE, RatingError
from showdown_pipeline.core.sql import query_arrow, query_frame, run_sql
from showdown_pipeline.core.vote_schema import WINNER_SCORE
from showdown_pipeline.core.warehouse import DuckDBSession
from showdown_pipeline.defs.metadata import markdown_table, row_count
from showdown_pipeline.defs.resources import (
    WAREHOUSE_POOL,
    RunCutResource,
    ensure_same_cut,
    replace_table,
    warehouse,
)

# Tables the boards are written to; publish reads them all.
BOARD_TABLES = {
    "raw": "overall_ratings",
    "style": "style_ratings",
    **{dim: f"{dim}_ratings" for dim in boards.SEGMENT_DIMENSIONS},
}


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


def _save_board(conn, board: str, frame: pd.DataFrame, parameters: dict, run_id: str, read: tuple) -> None:
    """A board table, its parameters and the state it was made from (core/data_state.py), together."""
    session = DuckDBSession(conn)
    table = BOARD_TABLES["raw" if board == "overall" else board]
    with session.transaction():
        replace_table(conn, table, frame)
        _save_parameters(conn, board, parameters)
        data_state.record_from(session, [table], run_id, read)


def _save_parameters(conn, board: str, parameters: dict) -> None:
    run_sql(conn, "ratings/create_rating_parameters")
    run_sql(
        conn,
        "ratings/save_rating_parameters",
        {"board": board, "parameters": json.dumps(parameters, default=str)},
    )


def load_parameters(conn, board: str) -> dict:
    rows = run_sql(conn, "ratings/rating_parameters", {"board": board}).fetchall()
    if not rows:
        raise dg.Failure(
            description=f"no parameters for the {board} board: materialize overall_ratings first"
        )
    return json.loads(rows[0][0])


def _preview(frame: pd.DataFrame, n: int = 10) -> dg.MetadataValue:
    top = frame.head(n)[["rank", "model_id", "rating", "ci_lower", "ci_upper", "votes"]]
    return dg.MetadataValue.md(markdown_table(top.itertuples(index=False), list(top.columns)))


@dg.asset(group_name="ratings", deps=["votes_counted"], pool=WAREHOUSE_POOL)
def overall_ratings(
    context: dg.AssetExecutionContext, config: RatingConfig, duckdb: DuckDBResource, run_cut: RunCutResource
) -> dg.MaterializeResult:
    """One row per model: raw Bradley-Terry rating on counted votes before the cut, 95% bootstrap and sandwich CIs, rank.

    Ties count ½ (LMArena convention); rating = anchor_rating + 400/ln10 · θ with the anchor pinned.
    Rank = 1 + number of models whose lower bound is above this model's upper bound.
    """
    cut = run_cut.cut
    as_of, cutoff = cut.as_of, cut.cutoff
    with warehouse(duckdb) as conn:
        cells = query_frame(conn, "ratings/pair_outcome_counts", {"cutoff": cutoff})
        stats = query_frame(conn, "ratings/model_vote_stats", {"cutoff": cutoff})
        models = [r[0] for r in run_sql(conn, "ratings/counted_models").fetchall()]
        voter_cells = query_arrow(
            conn, "ratings/voter_pair_outcome_counts", {"cutoff": cutoff, "models": models}
        )
        before, after, undated = run_sql(conn, "ratings/cut_counts", {"cutoff": cutoff}).fetchall()[0]
        default_anchor, from_registry = run_sql(conn, "ratings/default_anchor").fetchall()[0]
        integrity_rows = conn.execute("SELECT summary FROM integrity_summary").fetchall()
    integrity_summary = json.loads(integrity_rows[0][0]) if integrity_rows else {}
    ensure_same_cut(context, run_cut, integrity_summary.get("run"), "votes_counted")
    if cells.empty:
        raise dg.Failure(
            description=f"no counted votes before the data cut {cutoff.isoformat()}; nothing to rate"
        )
    anchor = cut.anchor_model or default_anchor
    anchor_source = (
        "--anchor"
        if cut.anchor_model
        else (
            "the registry's first model"
            if from_registry
            else "the alphabetically first model (no models.csv)"
        )
    )
    thresholds = boards.Thresholds(config.min_votes, config.min_users, config.max_user_share)
    try:
        board = boards.build_board(
            cells,
            stats,
            anchor,
            cut.anchor_rating,
            thresholds,
            bootstrap_rounds=config.bootstrap_rounds,
            seed=cut.seed,
            workers=config.workers,
        )
    except RatingError as exc:
        raise dg.Failure(description=str(exc)) from exc
    clustering = boards.add_voter_clustered_interval(
        board,
        models,
        *(voter_cells.column(c).to_numpy() for c in ("voter", "left_code", "right_code", "score", "n")),
    )

    parameters = {
        "run": run_cut.record(),
        "as_of": as_of.isoformat(),
        "cutoff_utc": cutoff.isoformat().replace("+00:00", "Z"),
        "anchor": {"model_id": anchor, "rating": cut.anchor_rating, "source": anchor_source},
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
        "votes": {"counted_before_cut": before, "waiting_after_cut": after, "undated_counted": undated},
        "voter_clustering": clustering,
        "unrated_models": board.unrated,
        "notes": board.notes,
    }
    with warehouse(duckdb) as conn:
        _save_board(conn, "overall", board.frame, parameters, context.run.run_id, ("votes_counted",))
    for model, why in board.unrated.items():
        context.log.warning(f"{model} is not rated: {why}")
    for part in board.components[1:]:
        context.log.warning(
            f"component {part.number} ({', '.join(part.models)}) is not connected to the anchor {anchor}: "
            f"rated on its own scale with {part.anchor} = {cut.anchor_rating:g}"
        )
    return dg.MaterializeResult(
        metadata={
            **row_count(len(board.frame)),
            "as_of": as_of.isoformat(),
            "anchor": f"{anchor} = {cut.anchor_rating:g} ({anchor_source})",
            "votes_counted": before + undated,
            "votes_waiting_after_cut": after,
            "interval": board.frame["ci_method"].iloc[0],
            "design_effect_median": round(clustering["design_effect_median"], 3),
            "unrated_models": dg.MetadataValue.json(board.unrated),
            "components": len(board.components),
            "parameters": dg.MetadataValue.json(parameters),
            "preview": _preview(board.frame),
        }
    )


@dg.asset(group_name="ratings", deps=["overall_ratings"], pool=WAREHOUSE_POOL)
def style_ratings(
    context: dg.AssetExecutionContext, config: StyleConfig, duckdb: DuckDBResource, run_cut: RunCutResource
) -> dg.MaterializeResult:
    """One row per model: style-controlled Bradley-Terry rating (length, markdown, loading time held equal), 95% sandwich CI.

    Same data cut, anchor and thresholds as overall_ratings; the fitted style coefficients are
    published with each snapshot.
    """
    cutoff = run_cut.cut.cutoff
    with warehouse(duckdb) as conn:
        overall = load_parameters(conn, "overall")
        ensure_same_cut(context, run_cut, overall.get("run"), "overall_ratings")
        with_features, counted = run_sql(
            conn, "ratings/style_feature_coverage", {"cutoff": cutoff}
        ).fetchall()[0]
        models = [r[0] for r in run_sql(conn, "ratings/counted_models").fetchall()]
        rows = boards.StyleRows.from_arrow(
            query_arrow(conn, "ratings/style_feature_rows", {"cutoff": cutoff, "models": models}),
            models,
        )
        stats = query_frame(conn, "ratings/model_vote_stats", {"cutoff": cutoff})
    anchor = overall["anchor"]["model_id"]
    thresholds = boards.Thresholds(**overall["thresholds"])
    parameters = {
        "run": run_cut.record(),
        "anchor": overall["anchor"],
        "ridge": config.ridge,
        "votes_with_features": with_features,
        "votes_counted": counted,
    }
    if not with_features or anchor not in rows.votes_per_model().index:
        reason = (
            "no counted votes carry style features"
            if not with_features
            else f"the anchor {anchor} has no votes with style features"
        )
        context.log.warning(f"style board skipped: {reason}")
        frame = pd.DataFrame(columns=[*boards.LEADERBOARD_COLUMNS, "theta", "se"])
        parameters.update(skipped=reason, coefficients=[])
    else:
        try:
            board = boards.build_style_board(
                rows, stats, anchor, overall["anchor"]["rating"], thresholds, ridge=config.ridge
            )
        except RatingError as exc:
            raise dg.Failure(description=str(exc)) from exc
        frame = board.frame
        parameters.update(
            coefficients=board.extra["coefficients"],
            converged=board.extra["converged"],
            prior=bt.prior_description(board.extra["prior_precision"]),
            unrated_models=board.unrated,
            notes=board.notes,
        )
    with warehouse(duckdb) as conn:
        _save_board(
            conn, "style", frame, parameters, context.run.run_id, ("votes_counted", "overall_ratings")
        )
    coefficients = parameters["coefficients"]
    return dg.MaterializeResult(
        metadata={
            **row_count(len(frame)),
            "votes_with_features": with_features,
            "votes_without_features": counted - with_features,
            "coefficients": dg.MetadataValue.md(
                markdown_table(
                    [
                        (
                            c["feature"],
                            round(c["coefficient"], 4),
                            round(c["ci_lower"], 4),
                            round(c["ci_upper"], 4),
                        )
                        for c in coefficients
                    ],
                    ("feature", "coefficient (per sd)", "95% lower", "95% upper"),
                )
            ),
            "preview": _preview(frame) if len(frame) else dg.MetadataValue.md("(skipped)"),
        }
    )


SEGMENT_SPECS = [
    dg.AssetSpec(
        f"{dim}_ratings",
        group_name="ratings",
        deps=["overall_ratings"],
        description=(
            f"One row per ({dim} value, model): Bradley-Terry rating shrunk towards the overall board, 95% CI, rank, "
            "the unshrunk estimate and the difference from the overall rating with its interval."
        ),
    )
    for dim in boards.SEGMENT_DIMENSIONS
]


@dg.multi_asset(specs=SEGMENT_SPECS, can_subset=True, pool=WAREHOUSE_POOL)
def segment_ratings(
    context: dg.AssetExecutionContext, config: SegmentConfig, duckdb: DuckDBResource, run_cut: RunCutResource
):
    """Segment boards, one asset per dimension (materialize one dimension alone from the UI)."""
    for key in sorted(context.selected_asset_keys, key=lambda k: k.to_user_string()):
        dim = key.to_user_string().removesuffix("_ratings")
        cutoff = run_cut.cut.cutoff
        with warehouse(duckdb) as conn:
            overall_params = load_parameters(conn, "overall")
            ensure_same_cut(context, run_cut, overall_params.get("run"), "overall_ratings")
            run_sql(conn, "ratings/create_segmented_votes")
            cells = query_frame(
                conn, "ratings/segment_outcome_counts", {"cutoff": cutoff, "segment_dim": dim}
            )
            stats = query_frame(conn, "ratings/segment_model_stats", {"cutoff": cutoff, "segment_dim": dim})
            overall_frame = conn.sql("SELECT * FROM overall_ratings").to_arrow_table().to_pandas()
        overall = boards.Board(
            frame=overall_frame,
            anchor=overall_params["anchor"]["model_id"],
            anchor_rating=overall_params["anchor"]["rating"],
        )
        thresholds = boards.Thresholds(**overall_params["thresholds"])
        seed = run_cut.cut.seed
        notes: list[str] = []  # the fits' fallbacks, into the parameters (never silent)
        if cells.empty:
            frame, prior_sd, scores = (
                pd.DataFrame(columns=[*boards.LEADERBOARD_COLUMNS, "theta", "se"]),
                None,
                {},
            )
        else:
            if config.prior_sd is not None:
                prior_sd, scores = config.prior_sd, {}
            else:
                prior_sd, scores = boards.choose_shrinkage(
                    cells, overall, folds=config.folds, seed=seed, notes=notes
                )
            frame = boards.build_segment_boards(
                cells,
                stats,
                overall,
                dim,
                prior_sd,
                thresholds,
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
        with warehouse(duckdb) as conn:
            _save_board(
                conn, dim, frame, parameters, context.run.run_id, ("votes_counted", "overall_ratings")
            )
        differs = (
            frame[frame["differs_from_overall"].astype(bool) & ~frame["provisional"].astype(bool)]
            if len(frame)
            else frame
        )
        context.log.info(
            f"{dim}: {parameters['segments']} boards, prior sd {prior_sd}, {len(differs)} significant differences"
        )
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                **row_count(len(frame)),
                "segments": parameters["segments"],
                "prior_sd": prior_sd if prior_sd is not None else float("nan"),
                "heldout_loglik_by_prior_sd": dg.MetadataValue.json(scores),
                "significant_differences": len(differs),
                "differences_preview": dg.MetadataValue.md(
                    markdown_table(
                        differs.reindex(differs["diff_vs_overall"].abs().sort_values(ascending=False).index)
                        .head(15)[
                            ["segment_value", "model_id", "diff_vs_overall", "diff_lower", "diff_upper"]
                        ]
                        .itertuples(index=False),
                        ("value", "model", "Δ vs overall", "95% lower", "95% upper"),
                    )
                    if len(differs)
                    else "(none)"
                ),
            },
        )
