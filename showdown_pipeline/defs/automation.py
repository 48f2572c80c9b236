"""Jobs, the nightly schedule and the landing sensor."""

import dagster as dg

from showdown_pipeline.core import landing
from showdown_pipeline.defs.resources import ShowdownPaths

full_rebuild_job = dg.define_asset_job(
    "showdown_full_rebuild",
    selection=dg.AssetSelection.all(),
    description="Ingest new landing files, validate, rate and publish a new snapshot (with every asset check).",
)

nightly_rebuild_schedule = dg.ScheduleDefinition(
    name="nightly_full_rebuild",
    job=full_rebuild_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    description="The nightly full rebuild at 02:00 UTC: its data cut is that day's 00:00 UTC.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


@dg.sensor(job=full_rebuild_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def landing_files_sensor(context: dg.SensorEvaluationContext, paths: ShowdownPaths):
    """Requests a rebuild when the landing zone changes (a file lands, grows or is replaced)."""
    fingerprint = landing.landing_fingerprint(paths.landing)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new landing files")
    context.update_cursor(fingerprint)
    return dg.RunRequest(run_key=f"landing-{fingerprint[:16]}")
