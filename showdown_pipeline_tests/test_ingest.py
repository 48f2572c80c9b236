"""Ingest partitions: by the day a file landed; a day's run ingests that day's files only."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import dagster as dg

from showdown_pipeline.definitions import ASSETS
from showdown_pipeline.defs.partitions import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    landing_partition_of,
    landing_range_tags,
)
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.conftest import materialization_metadata
from showdown_pipeline_tests.landing_builder import random_valid_votes, write_jsonl, write_models


def _landed(path, day: str) -> None:
    stamp = datetime.fromisoformat(day + "T12:00:00+00:00").timestamp()
    os.utime(path, (stamp, stamp))


def test_landing_day_is_clamped_into_the_partitions():
    assert landing_partition_of(datetime(2026, 3, 4, 23, 59, tzinfo=UTC)) == "2026-03-04"
    assert landing_partition_of(datetime(2019, 1, 1, tzinfo=UTC)) == "2023-01-01"
    assert landing_partition_of(datetime(2030, 1, 1, tzinfo=UTC), today=date(2026, 11, 25)) == "2026-11-25"


def test_a_day_partition_ingests_the_files_that_landed_that_day(tmp_path):
    landing = tmp_path / "landing"
    models = write_models(
        landing / "models.csv", [("m-a", "A", "p", None, None), ("m-b", "B", "p", None, None)]
    )
    day1 = write_jsonl(landing / "votes" / "a.jsonl", random_valid_votes(0, 30, ["m-a", "m-b"], seed=1))
    day2 = write_jsonl(landing / "votes" / "b.jsonl", random_valid_votes(100, 20, ["m-a", "m-b"], seed=2))
    for path, day in ((models, "2026-03-01"), (day1, "2026-03-01"), (day2, "2026-03-02")):
        _landed(path, day)
    assert landing_range_tags(landing) == {RANGE_START_TAG: "2026-03-01", RANGE_END_TAG: "2026-03-02"}

    ingest = next(a for a in ASSETS if dg.AssetKey("landing_files") in a.keys)
    instance = dg.DagsterInstance.ephemeral()
    resources = build_resources(landing, tmp_path / "home")
    first = dg.materialize([ingest], partition_key="2026-03-02", resources=resources, instance=instance)
    meta = materialization_metadata(first, "raw_votes")
    assert meta["rows_added"] == 20 and meta["dagster/row_count"] == 20
    both = dg.materialize(
        [ingest],
        resources=resources,
        instance=instance,
        tags={RANGE_START_TAG: "2026-03-01", RANGE_END_TAG: "2026-03-02"},
    )
    assert materialization_metadata(both, "raw_votes")["rows_added"] == 30  # day 2 was already in the ledger
    assert materialization_metadata(both, "landing_files")["files_unchanged"] == 1
    partitions = {
        e.partition
        for e in both.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("raw_votes")
    }
    assert partitions == {"2026-03-01", "2026-03-02"}
