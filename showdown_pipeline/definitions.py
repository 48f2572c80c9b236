"""Builds the Definitions object (`dagster dev -w workspace.yaml` loads `defs`).

Every module under `defs/` declares what it contributes (a module-level `defs = dg.Definitions(...)` beside
the assets, checks, jobs, schedules and sensors it defines); Dagster's own loader walks the folder and merges
them, so adding an asset touches its stage folder only. The resources and the executor are added here, and
building them does no I/O: the warehouse makes the home, checks its settings and takes the home's lock when
a run starts.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import dagster as dg

import showdown_pipeline
from showdown_pipeline import defs as defs_folder
from showdown_pipeline import settings
from showdown_pipeline.defs.resources import build_resources

settings.pin_blas_threads()  # every process that runs the pipeline's steps loads this module first


@functools.cache
def stage_definitions() -> dg.Definitions:
    """Everything the modules under `defs/` declare, found by Dagster's loader (the engine behind
    `dg.load_from_defs_folder`, given the folder as a module: a wheel install has no pyproject.toml to find it)."""
    with warnings.catch_warnings():
        # the loader's module scan is marked preview; load_from_defs_folder silences the same warnings
        warnings.simplefilter("ignore", dg.PreviewWarning)
        warnings.simplefilter("ignore", dg.BetaWarning)
        tree = dg.ComponentTree.from_module(
            defs_module=defs_folder, project_root=Path(showdown_pipeline.__file__).resolve().parent.parent
        )
        return tree.build_defs()


def build_definitions(landing_dir: Path | None = None, home_dir: Path | None = None) -> dg.Definitions:
    """The pipeline's definitions over a landing zone and a home (None: the environment's, read when a run,
    sensor or schedule starts)."""
    return dg.Definitions.merge(
        stage_definitions(),
        dg.Definitions(
            resources=build_resources(landing_dir, home_dir),
            # DuckDB has one writer per file: steps run one after another inside the run's process.
            executor=dg.in_process_executor,
        ),
    )


def _assets(in_licensing: bool | None = None) -> list[dg.AssetsDefinition]:
    assets = [a for a in stage_definitions().assets or [] if isinstance(a, dg.AssetsDefinition)]
    if in_licensing is None:
        return assets
    return [a for a in assets if ("licensing" in a.group_names_by_key.values()) == in_licensing]


# What tests and tools materialize directly (derived from the loaded folder, never listed by hand).
ASSETS = _assets()
REBUILD_ASSETS = _assets(in_licensing=False)  # the nightly rebuild's assets
LICENSING_ASSETS = _assets(in_licensing=True)  # partitioned by licensee: their own job
ASSET_CHECKS = list(stage_definitions().asset_checks or [])

defs = build_definitions()
