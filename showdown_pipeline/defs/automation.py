"""The nightly full rebuild: its job, its schedule and the landing sensor (the licensed export's job is the
licensing stage's own)."""

from datetime import UTC

import dagster as dg

from showdown_pipeline import settings
from showdown_pipeline.core import landing
from showdown_pipeline.core.run_cut import RunCut
from showdown_pipeline.defs.partitions import landing_range_tags
from showdown_pipeline.defs.resources import ShowdownPaths

full_rebuild_job = dg.define_asset_job(
    "showdown_full_rebuild",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("licensing"),
    description="Ingest new landing files, validate, rate and publish a new snapshot (with every asset check).",
)


@dg.schedule(
    job=full_rebuild_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def nightly_full_rebuild(context: dg.ScheduleEvaluationContext, paths: ShowdownPaths) -> dg.RunRequest:
    """The nightly full rebuild at 02:00 UTC: ingest every landing day with files, data cut the scheduled day
    00:00 UTC (a run tag: every step of the run reads that one cut)."""
    today = context.scheduled_execution_time.astimezone(UTC).date()
    return dg.RunRequest(
        run_key=f"nightly-{today.isoformat()}",
        tags={**landing_range_tags(paths.landing, today), **RunCut(as_of=today).tags()},
    )


@dg.sensor(job=full_rebuild_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def landing_files_sensor(context: dg.SensorEvaluationContext, paths: ShowdownPaths):
    """Requests a rebuild when the landing zone changes (a file lands, grows or is replaced)."""
    fingerprint = landing.landing_fingerprint(paths.landing)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new landing files")
    context.update_cursor(fingerprint)
    if not landing.discover_landing_files(paths.landing):
        return dg.SkipReason("the landing zone holds no files")
    today = settings.utc_now().date()  # read once, here: the run carries it as its cut
    return dg.RunRequest(
        run_key=f"landing-{fingerprint[:16]}",
        tags={**landing_range_tags(paths.landing, today), **RunCut(as_of=today).tags()},
    )


defs = dg.Definitions(
    jobs=[full_rebuild_job], schedules=[nightly_full_rebuild], sensors=[landing_files_sensor]
)
