"""The nightly schedule and the landing sensor as the daemon runs them: resolved from the loaded Definitions,
evaluated with real contexts over the resources those Definitions carry, and their requests executed."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import dagster as dg

from showdown_pipeline import cli, settings, snapshots
from showdown_pipeline.core import run_cut
from showdown_pipeline.definitions import build_definitions
from showdown_pipeline.defs.partitions import RANGE_END_TAG, RANGE_START_TAG
from showdown_pipeline_tests.conftest import materialization_metadata
from showdown_pipeline_tests.landing_builder import random_valid_votes, write_jsonl, write_models


def _landing(root):
    write_models(root / "models.csv", [(m, m, "p", "2025-01-01", None) for m in ("m-a", "m-b")])
    early = write_jsonl(root / "votes" / "a.jsonl", random_valid_votes(0, 20, ["m-a", "m-b"], seed=1))
    late = write_jsonl(root / "votes" / "b.jsonl", random_valid_votes(20, 30, ["m-a", "m-b"], seed=2))
    for path, day in (
        (early, datetime(2026, 5, 2, 9, tzinfo=UTC)),
        (late, datetime(2026, 5, 20, 9, tzinfo=UTC)),
    ):
        os.utime(path, (day.timestamp(), day.timestamp()))
    os.utime(root / "models.csv", (early.stat().st_mtime, early.stat().st_mtime))
    return root


def _resources(defs: dg.Definitions) -> dict:
    return dict(defs.resources or {})


def test_the_landing_sensor_from_the_definitions_requests_one_run_that_ingests_every_landed_day(
    tmp_path, monkeypatch
):
    """A tick of the loaded sensor over the Definitions' own resources asks for one run over the days that
    hold files, with its cut; executing that request ingests every file; the next tick skips."""
    monkeypatch.setattr(settings, "utc_now", lambda: datetime(2026, 6, 3, 23, 59, 59, tzinfo=UTC))
    landing, home = _landing(tmp_path / "landing"), tmp_path / "home"
    defs = build_definitions(landing, home)
    sensor = defs.resolve_sensor_def("landing_files_sensor")
    instance = dg.DagsterInstance.ephemeral()
    with dg.build_sensor_context(instance=instance, resources=_resources(defs), definitions=defs) as context:
        tick = sensor.evaluate_tick(context)
        cursor = context.cursor
    assert len(tick.run_requests) == 1
    request = tick.run_requests[0]
    assert request.tags[RANGE_START_TAG] == "2026-05-02" and request.tags[RANGE_END_TAG] == "2026-05-20"
    assert request.tags[run_cut.TAG_AS_OF] == "2026-06-03"
    job = defs.resolve_job_def(sensor.job_name)
    ingest_only = job.get_subset(
        asset_selection={
            dg.AssetKey(k) for k in ("landing_files", "raw_votes", "raw_contributors", "raw_models")
        }
    )
    result = ingest_only.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
    assert result.success, cli.failure_reason(result)
    ledger = materialization_metadata(result, "landing_files")
    assert ledger["files_ingested"] == ledger["files_seen"] == 3
    assert materialization_metadata(result, "raw_votes")["rows_added"] == 50
    with dg.build_sensor_context(
        instance=instance, resources=_resources(defs), definitions=defs, cursor=cursor
    ) as context:
        again = sensor.evaluate_tick(context)
    assert not again.run_requests and again.skip_message == "no new landing files"


def test_the_nightly_schedule_from_the_definitions_runs_the_whole_pipeline_with_its_cut(tmp_path):
    """The loaded schedule's tick at 02:00 UTC, over the Definitions' resources, executed as the daemon
    would (its job, its tags, no run config): every stage runs and the snapshot carries that night's cut."""
    landing, home = _landing(tmp_path / "landing"), tmp_path / "home"
    defs = build_definitions(landing, home)
    schedule = defs.resolve_schedule_def("nightly_full_rebuild")
    tick = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    with dg.build_schedule_context(scheduled_execution_time=tick, resources=_resources(defs)) as context:
        data = schedule.evaluate_tick(context)
    (request,) = data.run_requests
    assert request.run_key == "nightly-2026-06-01" and request.tags[run_cut.TAG_AS_OF] == "2026-06-01"
    job = defs.resolve_job_def(schedule.job_name)
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags=request.tags,
        run_config={"ops": {"overall_ratings": {"config": {"bootstrap_rounds": 20}}}},
        raise_on_error=False,
    )
    assert result.success, cli.failure_reason(result)
    manifest = snapshots.latest(home).manifest
    assert manifest["data_cut"]["as_of"] == "2026-06-01" and manifest["integrity"]["as_of"] == "2026-06-01"
    assert manifest["run"]["dagster_run_id"] == result.run_id and "as_of" not in manifest["run"]["defaults"]
    assert manifest["input"]["rows_in"] == 50
