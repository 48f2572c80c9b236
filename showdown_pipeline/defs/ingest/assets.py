"""Ingest: every landing file into the warehouse's raw tables, once per distinct content."""

from collections import Counter

import dagster as dg

from showdown_pipeline import settings
from showdown_pipeline.core import landing
from showdown_pipeline.core.staging import IngestLimits
from showdown_pipeline.defs.metadata import markdown_table, row_count
from showdown_pipeline.defs.partitions import landing_days, landing_partition_of
from showdown_pipeline.defs.resources import WAREHOUSE_POOL, ShowdownPaths, WarehouseResource, run_created_at

INGEST_SPECS = [
    dg.AssetSpec(
        "landing_files",
        group_name="ingest",
        description=(
            "One row per read of a landing file (its bytes as one kind and format): path, kind, status "
            "(ingested|rejected), rows_in, error.\n\nThe ledger that makes re-ingesting a file a no-op."
        ),
    ),
    dg.AssetSpec(
        "raw_votes",
        group_name="ingest",
        deps=["landing_files"],
        description=(
            "One row per record of every ingested vote file (votes/ and arena/), all fields as text.\n\n"
            "Arena battle logs are mapped into the canonical fields (DESIGN §2.4) here; nothing is typed or judged yet."
        ),
    ),
    dg.AssetSpec(
        "raw_contributors",
        group_name="ingest",
        deps=["landing_files"],
        description="One row per record of every ingested contributors file, all fields as text.",
    ),
    dg.AssetSpec(
        "raw_models",
        group_name="ingest",
        deps=["landing_files"],
        description="One row per line of every ingested models.csv, as text.",
    ),
]


@dg.multi_asset(
    specs=INGEST_SPECS,
    pool=WAREHOUSE_POOL,
    partitions_def=landing_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def landing_zone_ingest(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, paths: ShowdownPaths
):
    """Read the files that landed on the run's days into the raw tables; record each in the ledger.

    A read already in the ledger (same bytes, kind and format) is a no-op, so re-running a day is one. Each file is
    read once, by its literal path, through a staged copy; limits come from SHOWDOWN_MAX_* (core/staging.py).
    """
    days = set(context.partition_keys)
    # "today" is the day the run was created, never the step's clock: a file stamped in the future, or a
    # step that starts after midnight, still falls in the day the run's range was computed with
    today = run_created_at(context.instance, context.run.run_id).date()
    discovered = landing.discover_landing_files(paths.landing)
    files = [lf for lf in discovered if landing_partition_of(lf.landed_at, today) in days]
    if len(files) < len(discovered):
        context.log.info(f"{len(discovered) - len(files)} landing files belong to days outside this run")
    place = landing.IngestPlace(
        landing_root=paths.landing,
        staging_dir=settings.ingest_staging_dir(paths.home),
        limits=IngestLimits.from_env(),
        trust_stat=landing.trust_stat_from_env(),
    )
    with warehouse.session() as session:
        outcomes, recovered = landing.ingest_landing(session, files, context.run.run_id, place)
        totals = session.one("ingest/raw_table_counts")
    if any(recovered.values()):
        context.log.warning(f"recovered from an interrupted ingest: removed {recovered}")
    for outcome in outcomes:
        if outcome.status in ("rejected", "skipped") and outcome.error:
            context.log.warning(f"{outcome.status} {outcome.rel_path}: {outcome.error}")
        elif outcome.status == "ingested":
            context.log.info(f"ingested {outcome.rel_path}: {outcome.rows_in} rows")
    if not paths.landing.is_dir():
        context.log.warning(f"landing zone {paths.landing} does not exist; nothing to ingest")
    yield _ledger_result(outcomes, totals, days, paths, recovered)
    new_rows = Counter()
    for o in outcomes:
        if o.status == "ingested":
            new_rows[o.kind] += o.rows_in
    for table, kinds in (
        ("raw_votes", ("votes", "arena")),
        ("raw_contributors", ("contributors",)),
        ("raw_models", ("models",)),
    ):
        yield dg.MaterializeResult(
            asset_key=table,
            metadata={
                **row_count(totals[table]),
                "rows_added": sum(new_rows[k] for k in kinds),
            },
        )


def _ledger_result(
    outcomes, totals: dict, days: set, paths: ShowdownPaths, recovered: dict
) -> dg.MaterializeResult:
    status_counts = Counter(o.status for o in outcomes)
    rejected = [{"path": o.rel_path, "error": o.error} for o in outcomes if o.status == "rejected"]
    return dg.MaterializeResult(
        asset_key="landing_files",
        metadata={
            **row_count(totals["landing_files"]),
            "landing_dir": str(paths.landing),
            "days": f"{min(days)} .. {max(days)}" if days else "",
            "files_seen": len(outcomes),
            "files_ingested": status_counts.get("ingested", 0),
            "files_unchanged": status_counts.get("unchanged", 0),
            "files_rejected": status_counts.get("rejected", 0),
            "files_skipped": status_counts.get("skipped", 0),
            "rejected": dg.MetadataValue.json(rejected),
            "skipped": dg.MetadataValue.json(
                [{"path": o.rel_path, "why": o.error} for o in outcomes if o.status == "skipped"]
            ),
            "recovered": dg.MetadataValue.json(recovered),
            "preview": dg.MetadataValue.md(
                markdown_table(
                    [(o.rel_path, o.kind, o.status, o.rows_in, o.error or "") for o in outcomes[:30]],
                    ("file", "kind", "status", "rows_in", "error"),
                )
            ),
        },
    )


defs = dg.Definitions(assets=[landing_zone_ingest])
