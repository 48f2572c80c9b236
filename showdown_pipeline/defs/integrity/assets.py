"""Integrity: flag manipulative voters, exclude their votes (kept, with the reason), measure fragility."""

import json

import dagster as dg
import pyarrow as pa
from dagster_duckdb import DuckDBResource
from pydantic import Field

from showdown_pipeline.core import data_state
from showdown_pipeline.core.integrity import (
    IntegrityOptions,
    IntegrityResult,
    IntegrityThresholds,
    run_integrity,
)
from showdown_pipeline.core.warehouse import DuckDBSession, WarehouseSession
from showdown_pipeline.defs.metadata import markdown_table, row_count
from showdown_pipeline.defs.resources import WAREHOUSE_POOL, RunCutResource, warehouse

_DEFAULTS = IntegrityThresholds()
_OPTIONS = IntegrityOptions()


class IntegrityConfig(dg.Config):
    """Thresholds of the checks (defaults: `IntegrityThresholds` and `IntegrityOptions` in core/integrity)."""

    alpha: float = Field(default=_DEFAULTS.alpha, description="Family-wise error rate of each check.")
    daily_cap: int = Field(default=_DEFAULTS.daily_cap, description="Votes by one voter in one UTC day.")
    favour_z: float = Field(
        default=_DEFAULTS.favour_z, description="z-score of a (voter, model) favouritism flag."
    )
    ring_z: float = Field(default=_DEFAULTS.ring_z, description="Pooled z-score of a collusion ring.")
    fragility: bool = Field(
        default=_OPTIONS.fragility, description="Compute the fewest votes whose removal changes #1."
    )
    anomaly_seed: int = Field(
        default=_OPTIONS.anomaly_seed,
        description="Seed of the outcome-anomaly checkpoints; production runs set a private one (it is not published).",
    )


INTEGRITY_SPECS = [
    dg.AssetSpec(
        "user_flags",
        group_name="integrity",
        deps=["votes_clean"],
        description="One row per (voter, check) that flagged the voter: score, p-value, reason, excluded.",
    ),
    dg.AssetSpec(
        "vote_exclusions",
        group_name="integrity",
        deps=["user_flags"],
        description="One row per valid vote excluded from the boards: the check and the reason (the vote itself is kept in votes_clean).",
    ),
    dg.AssetSpec(
        "votes_counted",
        group_name="integrity",
        deps=["vote_exclusions"],
        description="One row per vote that counts on the boards: votes_clean minus vote_exclusions.",
    ),
]


@dg.multi_asset(specs=INTEGRITY_SPECS, pool=WAREHOUSE_POOL)
def integrity_checks(
    context: dg.AssetExecutionContext,
    config: IntegrityConfig,
    duckdb: DuckDBResource,
    run_cut: RunCutResource,
):
    """Run every registered check (core/integrity/registry.py) before rating, on votes before the run's cut;
    excluded voters' votes leave the counted votes."""
    options = IntegrityOptions(
        thresholds=IntegrityThresholds(
            alpha=config.alpha, daily_cap=config.daily_cap, favour_z=config.favour_z, ring_z=config.ring_z
        ),
        fragility=config.fragility,
        anomaly_seed=config.anomaly_seed,
    )
    with warehouse(duckdb) as conn:
        session = DuckDBSession(conn)
        result = run_integrity(session, run_cut.cut, options, run_cut.record())
        write_integrity(session, result, context.run.run_id)
    summary = result.summary
    context.log.info(
        f"integrity: {summary['users_excluded']} voters excluded, {summary['votes_removed']} votes removed"
    )
    yield dg.MaterializeResult(
        asset_key="user_flags",
        metadata={
            **row_count(result.flags.num_rows),
            "users_flagged_by_check": dg.MetadataValue.json(summary["users_flagged_by_check"]),
            "preview": dg.MetadataValue.md(_flag_preview(result.flags)),
        },
    )
    yield dg.MaterializeResult(
        asset_key="vote_exclusions",
        metadata={
            **row_count(result.exclusions.num_rows),
            "drop_reasons": dg.MetadataValue.json(summary["removed_by_check"]),
        },
    )
    yield dg.MaterializeResult(
        asset_key="votes_counted",
        metadata={
            **row_count(summary["votes_counted"]),
            "rows_out": summary["votes_counted"],
            "fragility": dg.MetadataValue.json(summary["fragility"] or {}),
            "board_movement": dg.MetadataValue.json(summary["board_movement"]),
        },
    )


INTEGRITY_TABLES = ("user_flags", "vote_exclusions", "votes_counted", "vote_reviews", "integrity_summary")


def write_integrity(session: WarehouseSession, result: IntegrityResult, run_id: str) -> None:
    """Every table of one integrity run, together or not at all, with the state it was made from."""
    with session.transaction():
        session.replace_table("user_flags", result.flags)
        session.replace_table("vote_exclusions", result.exclusions)
        session.run("integrity/votes_counted")
        session.replace_table("vote_reviews", result.reviews)
        session.run("integrity/create_integrity_summary")
        session.run(
            "integrity/insert_integrity_summary", {"summary": json.dumps(result.summary, default=str)}
        )
        data_state.record_from(session, INTEGRITY_TABLES, run_id, ["votes_clean"])


def _flag_preview(flags: pa.Table, rows: int = 15) -> str:
    """The first flags as a table. The event log lives outside the warehouse: no identifier of a voter, not
    even a hash (an unsalted hash of an id anyone can enumerate is the id); the rows are in user_flags."""
    if not flags.num_rows:
        return "(no voter flagged)"
    return markdown_table(
        [(r["check_name"], round(r["score"], 2), r["reason"]) for r in flags.slice(0, rows).to_pylist()],
        ("check", "score", "reason"),
    )
