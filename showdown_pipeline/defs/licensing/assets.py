"""Licensing: pseudonymised exports that obey the 60-day holdout, verified before they are published."""

import json
from datetime import date
from pathlib import Path

import dagster as dg
from pydantic import Field

from showdown_pipeline import settings
from showdown_pipeline.core import holdout, licensing
from showdown_pipeline.defs.partitions import licensees
from showdown_pipeline.defs.resources import WAREHOUSE_POOL, ShowdownPaths, WarehouseResource

CHECK_NAME = "holdout_window_respected"


class ExportConfig(dg.Config):
    as_of: str | None = Field(
        default=None,
        description="Export as of YYYY-MM-DD (the instant 00:00 UTC), today (UTC) or earlier. Default: today.",
    )


@dg.asset(
    group_name="licensing",
    partitions_def=licensees,
    deps=["votes_clean", "votes_counted"],
    pool=WAREHOUSE_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset="licensed_export_staged",
            blocking=True,
            description="Every written row re-verified against the holdout rule, pseudonymisation, precision and "
            "k-anonymity over the quasi-identifier combination, with queries independent of the writer "
            "(sql/licensing/export_violations.sql, export_small_groups.sql).",
        )
    ],
)
def licensed_export_staged(
    context: dg.AssetExecutionContext,
    config: ExportConfig,
    warehouse: WarehouseResource,
    paths: ShowdownPaths,
):
    """One row per licensed vote for one licensee (partition) as of a date, written to a staging folder.

    The rule is core/holdout.py (HOLDOUT_DAYS = 60). Published only if holdout_window_respected passes.
    """
    licensee = holdout.check_licensee(context.partition_key)
    try:
        as_of = holdout.check_export_as_of(settings.parse_as_of(config.as_of))
        holdout.license_secret()  # refused before the warehouse is opened
        with warehouse.session() as session:  # a refused or failed export is removed from disk
            for done in licensing.audit_published_exports(session, paths.home, context.run.run_id):
                context.log.warning(done)
            location, manifest, violations = licensing.stage_and_verify(
                session, paths.home, licensee, as_of, context.run.run_id, hook=stage_hook
            )
    except (holdout.HoldoutError, ValueError) as exc:
        raise dg.Failure(description=str(exc)) from exc
    if violations:
        context.log.error(
            f"export for {licensee} as of {as_of} breaks the holdout rules; it will not be published "
            "and its staged copy was removed"
        )
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": manifest["rows"],
            "staging_path": dg.MetadataValue.path(str(location.staging)),
            "as_of": manifest["as_of"],
            "holdout_cutoff_utc": manifest["holdout_cutoff_utc"],
            "policy_version": manifest["policy_version"],
            "contributors": manifest["contributors"],
            "by_distribution": dg.MetadataValue.json(manifest["by_distribution"]),
            "k_anonymity": dg.MetadataValue.json(manifest["k_anonymity"]),
        }
    )
    yield dg.AssetCheckResult(
        check_name=CHECK_NAME,
        passed=not violations,
        metadata={
            "failing_count": sum(v["rows"] for v in violations),
            "violations": dg.MetadataValue.json(violations),
            "staging_path": str(location.staging),
            "staging_removed": bool(violations),
        },
    )


def stage_hook(staging: Path) -> None:
    """Called between writing and verifying; tests replace it to tamper with a staged export."""


EXPORT_SPECS = [
    dg.AssetSpec(
        "licensed_export",
        group_name="licensing",
        deps=["licensed_export_staged"],
        description=(
            "One published export folder per (licensee, as-of): votes.parquet + manifest.json.\n\n"
            "Published only after holdout_window_respected passed on the staged export of the same run."
        ),
    ),
    dg.AssetSpec(
        "export_audit",
        group_name="licensing",
        deps=["licensed_export"],
        description=(
            "One row per published licensed export (licensee, as-of, holdout cutoff, policy version, rows, "
            "sha256, path, run), appended once and never rewritten."
        ),
    ),
]


@dg.multi_asset(specs=EXPORT_SPECS, partitions_def=licensees, pool=WAREHOUSE_POOL)
def licensed_export(context: dg.AssetExecutionContext, warehouse: WarehouseResource, paths: ShowdownPaths):
    """Move the verified staged export into place, then append its audit row."""
    licensee = holdout.check_licensee(context.partition_key)
    staged = licensing.staged_exports(paths.home, licensee, context.run.run_id)
    if len(staged) != 1:
        raise dg.Failure(description=f"no staged export of run {context.run.run_id} for {licensee}")
    manifest = json.loads((staged[0] / licensing.MANIFEST_FILE).read_text(encoding="utf-8"))
    final = licensing.export_dir(paths.home, licensee, date.fromisoformat(manifest["as_of"]))
    try:
        licensing.publish_export(staged[0], final)
    except holdout.HoldoutError as exc:
        raise dg.Failure(description=str(exc)) from exc
    with warehouse.session() as session:  # a kill before this row: the next run audits it from the manifest
        licensing.append_export_audit(session, manifest, final, context.run.run_id)
    context.log.info(f"published {final}")
    yield dg.MaterializeResult(
        asset_key="licensed_export",
        metadata={
            "dagster/row_count": manifest["rows"],
            "path": dg.MetadataValue.path(str(final)),
            "as_of": manifest["as_of"],
        },
    )
    yield dg.MaterializeResult(
        asset_key="export_audit", metadata={"licensee": licensee, "as_of": manifest["as_of"]}
    )


licensed_export_job = dg.define_asset_job(
    "licensed_export_job",
    selection=dg.AssetSelection.groups("licensing"),  # partitioned by licensee, as its assets are
    description="Stage, verify (blocking holdout check) and publish one licensee's export; config as_of.",
)

defs = dg.Definitions(assets=[licensed_export_staged, licensed_export], jobs=[licensed_export_job])
