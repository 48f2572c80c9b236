"""Builds the Definitions object (`dagster dev -w workspace.yaml` loads `defs`)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from showdown_pipeline import settings
from showdown_pipeline.defs.automation import (
    full_rebuild_job,
    landing_files_sensor,
    licensed_export_job,
    nightly_full_rebuild,
)
from showdown_pipeline.defs.ingest.assets import landing_zone_ingest
from showdown_pipeline.defs.integrity.assets import integrity_checks
from showdown_pipeline.defs.licensing.assets import licensed_export, licensed_export_staged
from showdown_pipeline.defs.publish.assets import leaderboard_snapshot
from showdown_pipeline.defs.publish.breakers import BREAKER_CHECKS
from showdown_pipeline.defs.ratings.assets import overall_ratings, segment_ratings, style_ratings
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline.defs.validate.assets import contributor_profiles, model_registry, validated_votes
from showdown_pipeline.defs.validate.checks import (
    input_rows_reconcile,
    no_duplicate_vote_ids,
    votes_clean_passes_expectations,
)

# Everything the nightly rebuild materializes (daily landing partitions, then unpartitioned).
REBUILD_ASSETS = [
    landing_zone_ingest,
    model_registry,
    contributor_profiles,
    validated_votes,
    integrity_checks,
    overall_ratings,
    style_ratings,
    segment_ratings,
    leaderboard_snapshot,
]
# Partitioned by licensee: their own job.
LICENSING_ASSETS = [licensed_export_staged, licensed_export]
ASSETS = [*REBUILD_ASSETS, *LICENSING_ASSETS]
# Publication circuit breakers (blocking) sit on the assets they guard: votes_counted and every board.
ASSET_CHECKS = [
    input_rows_reconcile,
    no_duplicate_vote_ids,
    votes_clean_passes_expectations,
    *BREAKER_CHECKS,
]


def build_definitions(landing_dir: Path | None = None, home_dir: Path | None = None) -> dg.Definitions:
    """The pipeline's definitions over a landing zone and a home (defaults from the environment)."""
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=[full_rebuild_job, licensed_export_job],
        schedules=[nightly_full_rebuild],
        sensors=[landing_files_sensor],
        resources=build_resources(
            landing_dir or settings.landing_dir_from_env(), home_dir or settings.home_dir_from_env()
        ),
        # DuckDB has one writer per file: steps run one after another inside the run's process.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
