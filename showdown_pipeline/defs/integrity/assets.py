"""Integrity: flag manipulative voters, exclude their votes (kept, with the reason), measure fragility."""

import dagster as dg
import pyarrow as pa
from pydantic import Field

from showdown_pipeline import settings
from showdown_pipeline.core.integrity import (
    IntegrityOptions,
    IntegrityThresholds,
    run_integrity,
    write_integrity,
)
from showdown_pipeline.defs.metadata import markdown_table, row_count
from showdown_pipeline.defs.resources import WAREHOUSE_POOL, RunCutResource, WarehouseResource

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
    dg.AssetSpec(
        "vote_reviews",
        group_name="integrity",
        deps=["votes_clean"],
        description=(
            "One row per counted vote whose winner had a small expected chance under the preliminary ratings "
            "(reason 'upset'): kept for human review, never dropped."
        ),
    ),
    dg.AssetSpec(
        "integrity_summary",
        group_name="integrity",
        deps=["user_flags", "vote_exclusions", "votes_counted"],
        description=(
            "One row: the integrity run's summary (JSON): its data cut and run, thresholds, voters flagged and "
            "votes removed per check, board movement with and without the exclusions, fragility of #1. "
            "Read by overall_ratings (the cut) and the snapshot manifest."
        ),
    ),
]


@dg.multi_asset(specs=INTEGRITY_SPECS, pool=WAREHOUSE_POOL)
def integrity_checks(
    context: dg.AssetExecutionContext,
    config: IntegrityConfig,
    warehouse: WarehouseResource,
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
    with warehouse.session(memory_share=settings.INTEGRITY_MEMORY_SHARE) as session:
        result = run_integrity(session, run_cut.cut, options, run_cut.record())
        write_integrity(session, result)
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
    yield dg.MaterializeResult(asset_key="vote_reviews", metadata=row_count(result.reviews.num_rows))
    yield dg.MaterializeResult(
        asset_key="integrity_summary",
        metadata={**row_count(1), "as_of": summary["as_of"], "run_id": str(summary["run"]["run_id"])},
    )


def _flag_preview(flags: pa.Table, rows: int = 15) -> str:
    """The first flags as a table. The event log lives outside the warehouse: no identifier of a voter, not
    even a hash (an unsalted hash of an id anyone can enumerate is the id); the rows are in user_flags."""
    if not flags.num_rows:
        return "(no voter flagged)"
    return markdown_table(
        [(r["check_name"], round(r["score"], 2), r["reason"]) for r in flags.slice(0, rows).to_pylist()],
        ("check", "score", "reason"),
    )


defs = dg.Definitions(assets=[integrity_checks])
