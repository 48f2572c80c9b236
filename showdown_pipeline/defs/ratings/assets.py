"""Ratings: Bradley-Terry boards from counts aggregated in SQL."""

import json

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from showdown_pipeline import settings
from showdown_pipeline.core import boards
from showdown_pipeline.core.bradley_terry import ELO_SCALE
from showdown_pipeline.core.sql import query_frame, run_sql
from showdown_pipeline.defs.metadata import markdown_table, row_count
from showdown_pipeline.defs.resources import WAREHOUSE_POOL, warehouse


class RatingConfig(dg.Config):
    """Knobs of a rating run; every value is recorded in the snapshot manifest."""

    as_of: str | None = Field(
        default=None,
        description="Data cut YYYY-MM-DD: the instant D 00:00:00 UTC; votes at or after it wait. Default: today (UTC).",
    )
    anchor_model: str | None = Field(
        default=None, description="Model pinned at anchor_rating. Default: the registry's first model."
    )
    anchor_rating: float = Field(default=1000.0, description="Rating of the anchor model.")
    min_votes: int = Field(default=300, description="Fewer votes than this: the row is provisional.")
    min_users: int = Field(default=50, description="Fewer distinct voters than this: the row is provisional.")
    max_user_share: float = Field(
        default=0.10, description="One voter above this share of a model's votes: the row is provisional."
    )


@dg.asset(group_name="ratings", deps=["votes_clean"], pool=WAREHOUSE_POOL)
def overall_ratings(
    context: dg.AssetExecutionContext, config: RatingConfig, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """One row per model: raw Bradley-Terry rating on all counted votes before the cut, 95% sandwich CI, rank.

    Ties count ½ (LMArena convention); rating = anchor_rating + 400/ln10 · θ with the anchor pinned.
    Rank = 1 + number of models whose lower bound is above this model's upper bound.
    """
    as_of = settings.parse_as_of(config.as_of)
    cutoff = settings.cutoff_instant(as_of)
    with warehouse(duckdb) as conn:
        cells = query_frame(conn, "ratings/pair_outcome_counts", {"cutoff": cutoff})
        stats = query_frame(conn, "ratings/model_vote_stats", {"cutoff": cutoff})
        before, after, undated = run_sql(conn, "ratings/cut_counts", {"cutoff": cutoff}).fetchall()[0]
        default_anchor, from_registry = run_sql(conn, "ratings/default_anchor").fetchall()[0]
    if cells.empty:
        raise dg.Failure(
            description=f"no counted votes before the data cut {cutoff.isoformat()}; nothing to rate"
        )
    anchor = config.anchor_model or default_anchor
    anchor_source = (
        "--anchor"
        if config.anchor_model
        else (
            "the registry's first model"
            if from_registry
            else "the alphabetically first model (no models.csv)"
        )
    )
    thresholds = boards.Thresholds(config.min_votes, config.min_users, config.max_user_share)
    try:
        board = boards.build_board(cells, stats, anchor, config.anchor_rating, thresholds)
    except boards.bt.RatingError as exc:
        raise dg.Failure(description=str(exc)) from exc

    parameters = {
        "as_of": as_of.isoformat(),
        "cutoff_utc": cutoff.isoformat().replace("+00:00", "Z"),
        "anchor": {"model_id": anchor, "rating": config.anchor_rating, "source": anchor_source},
        "scale": {"elo_per_logit": ELO_SCALE, "formula": "rating = anchor_rating + 400/ln(10) * theta"},
        "tie_score": 0.5,
        "interval": {"method": "sandwich (robust), votes independent", "level": 0.95},
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
        "unrated_models": board.unrated,
        "notes": board.notes,
    }
    frame = board.frame
    with warehouse(duckdb) as conn:
        conn.register("board_frame", frame)
        conn.execute("CREATE OR REPLACE TABLE overall_ratings AS SELECT * FROM board_frame")
        conn.unregister("board_frame")
        conn.execute("CREATE OR REPLACE TABLE rating_parameters (board VARCHAR, parameters JSON)")
        conn.execute("INSERT INTO rating_parameters VALUES ('overall', $p)", {"p": json.dumps(parameters)})
    for model, why in board.unrated.items():
        context.log.warning(f"{model} is not rated: {why}")
    top = frame.head(10)[["rank", "model_id", "rating", "ci_lower", "ci_upper", "votes"]]
    return dg.MaterializeResult(
        metadata={
            **row_count(len(frame)),
            "as_of": as_of.isoformat(),
            "anchor": f"{anchor} = {config.anchor_rating:g} ({anchor_source})",
            "votes_counted": before + undated,
            "votes_waiting_after_cut": after,
            "unrated_models": dg.MetadataValue.json(board.unrated),
            "parameters": dg.MetadataValue.json(parameters),
            "preview": dg.MetadataValue.md(markdown_table(top.itertuples(index=False), list(top.columns))),
        }
    )
