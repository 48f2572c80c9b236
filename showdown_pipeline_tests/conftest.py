from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from showdown_pipeline.core import run_cut
from showdown_pipeline.definitions import ASSET_CHECKS, REBUILD_ASSETS
from showdown_pipeline.defs.partitions import landing_range_tags
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.landing_builder import REAL_FIXTURES, MessyLanding, build_messy_landing

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

# The licensing secret of this test session: generated, never a constant published in the repository
# (core/holdout.py refuses the one that was).
TEST_SECRET = secrets.token_urlsafe(32)


STAGES = ("ingest", "validate", "integrity", "ratings", "publish")
# The op of each stage that takes run config, and which stage it belongs to.
_CONFIGURED_OPS = {
    "integrity_checks": "integrity",
    "overall_ratings": "ratings",
    "segment_ratings": "ratings",
}


def materialize_validation(landing: Path, home: Path) -> dg.ExecuteInProcessResult:
    """Ingest and the validate stage only (the registry, contributors and votes), in-process, as a run over the
    landing zone's range tags; asserts the run succeeded."""
    from showdown_pipeline.defs.ingest.assets import landing_zone_ingest
    from showdown_pipeline.defs.partitions import landing_range_tags
    from showdown_pipeline.defs.validate.assets import model_registry, validated_contributors, validated_votes

    result = dg.materialize(
        [landing_zone_ingest, model_registry, validated_contributors, validated_votes],
        resources=build_resources(landing, home),
        instance=dg.DagsterInstance.ephemeral(),
        tags=landing_range_tags(landing),
    )
    assert result.success
    return result


def materialize_pipeline(
    landing: Path,
    home: Path,
    as_of: str | None = "2026-06-01",
    anchor: str | None = None,
    instance=None,
    segment_bootstrap: int = 0,
    integrity: dict | None = None,
    seed: int | None = None,
    anchor_rating: float | None = None,
    overrides: tuple[str, ...] = (),
    stages: tuple[str, ...] = STAGES,
    checks_on: tuple[str, ...] = (),
    **rating,
) -> dg.ExecuteInProcessResult:
    """Materialize every asset and check in-process on a landing zone (warehouse under `home`); with
    `stages`, only the assets of those stages (and the checks on them, plus the checks on the assets
    `checks_on` names), on a home where the earlier stages already ran.

    The cut, anchor and seed travel as run tags, as `showdown run` sends them (as_of None: no tag, the run's
    creation date decides)."""
    config = {
        "overall_ratings": {"config": {"bootstrap_rounds": 100, "workers": 1, **rating}},
        "integrity_checks": {"config": integrity or {}},
        "segment_ratings": {"config": {"bootstrap_rounds": segment_bootstrap}},
    }
    selection = None
    if tuple(stages) != STAGES or checks_on:
        selection = dg.AssetSelection.groups(*stages) | dg.AssetSelection.checks_for_assets(*checks_on)
    return dg.materialize(
        [*REBUILD_ASSETS, *ASSET_CHECKS],
        selection=selection,
        resources=build_resources(landing, home),
        run_config={"ops": {op: c for op, c in config.items() if _CONFIGURED_OPS[op] in stages}},
        instance=instance or dg.DagsterInstance.ephemeral(),
        tags={**landing_range_tags(landing), **cut_tags(as_of, anchor, seed, anchor_rating, overrides)},
        raise_on_error=False,
    )


def copy_home(template: Path, dest: Path) -> Path:
    """A copy of a prepared home (warehouse, snapshots) for a test that changes it."""
    shutil.copytree(template, dest)
    return dest


@dataclass(frozen=True)
class PreparedRun:
    """A home prepared once per test session on the messy landing zone, and the run that made it. Tests copy
    the home (`copy_home`) before they change anything in it."""

    landing: MessyLanding
    home: Path
    result: dg.ExecuteInProcessResult


@pytest.fixture(scope="session")
def messy_landing(tmp_path_factory) -> MessyLanding:
    return build_messy_landing(tmp_path_factory.mktemp("messy") / "landing")


@pytest.fixture(scope="session")
def validated_template(messy_landing, tmp_path_factory) -> PreparedRun:
    """The messy landing zone ingested and validated (its blocking checks passed), nothing later: where
    the integrity stage's tests start."""
    home = tmp_path_factory.mktemp("validated") / "home"
    result = materialize_pipeline(messy_landing.root, home, stages=("ingest", "validate"))
    assert result.success
    return PreparedRun(messy_landing, home, result)


@pytest.fixture(scope="session")
def counted_template(validated_template, tmp_path_factory) -> PreparedRun:
    """The validated home after the integrity stage alone: where the ratings stage's tests start."""
    home = copy_home(validated_template.home, tmp_path_factory.mktemp("counted") / "home")
    result = materialize_pipeline(validated_template.landing.root, home, stages=("integrity",))
    assert result.success
    return PreparedRun(validated_template.landing, home, result)


@pytest.fixture(scope="session")
def published_template(messy_landing, tmp_path_factory) -> PreparedRun:
    """One end-to-end run of the messy landing zone (every asset and check, cut 2026-06-01), shared by the
    modules that read a published home; they copy it before changing it."""
    home = tmp_path_factory.mktemp("published") / "home"
    result = materialize_pipeline(messy_landing.root, home)
    assert result.success
    return PreparedRun(messy_landing, home, result)


def cut_tags(
    as_of: str | None = None,
    anchor: str | None = None,
    seed: int | None = None,
    anchor_rating: float | None = None,
    overrides: tuple[str, ...] = (),
) -> dict[str, str]:
    """The run tags of a cut (core/run_cut.py); values left None get no tag."""
    tags = {
        run_cut.TAG_AS_OF: as_of,
        run_cut.TAG_ANCHOR: anchor,
        run_cut.TAG_SEED: None if seed is None else str(seed),
        run_cut.TAG_ANCHOR_RATING: None if anchor_rating is None else repr(float(anchor_rating)),
        run_cut.TAG_OVERRIDES: ",".join(overrides) or None,
    }
    return {k: v for k, v in tags.items() if v is not None}


def materialization_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)]
    assert events, f"{asset} was not materialized"
    return {k: v.value for k, v in events[-1].materialization.metadata.items()}


def check_evaluations(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


@pytest.fixture(scope="session")
def real_fixtures() -> Path:
    """The real public vote data kept in the repository (never skipped: a missing copy is a failure)."""
    assert REAL_FIXTURES.is_dir(), f"the repository's real fixtures are missing: {REAL_FIXTURES}"
    return REAL_FIXTURES


# What proves nothing and must fail the run: a skipped test, a module skipped at collection (importorskip,
# `pytest.skip(allow_module_level=True)`), an expected failure (xfail: its assertion failed) and an
# unexpected pass (xpass: a test marked to fail passed). pytest reports each with exit 0.
_UNPROVEN: dict[str, list[str]] = {"skipped": [], "xfailed": [], "xpassed": []}


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        _UNPROVEN["skipped"].append(f"{report.nodeid} (at collection)")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    expected_failure = hasattr(report, "wasxfail")
    if report.skipped:
        _UNPROVEN["xfailed" if expected_failure else "skipped"].append(report.nodeid)
    elif report.passed and expected_failure and report.when == "call":
        _UNPROVEN["xpassed"].append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No test may skip, xfail or xpass: such a test proved nothing, so a run with one fails (CI reports 0)."""
    found = {kind: ids for kind, ids in _UNPROVEN.items() if ids}
    if found and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write("\n")
            for kind, ids in found.items():
                reporter.write_sep("=", f"{len(ids)} test(s) {kind}, and none may: {ids}", red=True)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local Spark (local[2], 4 shuffle partitions: the settings of core/spark_warehouse.spark_config) for
    the tests that run the Spark engine. Without Java this fails, never skips: `make test` installs it."""
    from pyspark.sql import SparkSession

    from showdown_pipeline.core.spark_warehouse import spark_config

    builder = SparkSession.builder
    for key, value in spark_config("local[2]", tmp_path_factory.mktemp("spark-local")).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
