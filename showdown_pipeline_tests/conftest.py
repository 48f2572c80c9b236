from __future__ import annotations

import os
import secrets
from pathlib import Path

import dagster as dg
import pytest

from showdown_pipeline.core import run_cut
from showdown_pipeline.definitions import ASSET_CHECKS, REBUILD_ASSETS
from showdown_pipeline.defs.partitions import landing_range_tags
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.landing_builder import REAL_FIXTURES

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

# The licensing secret of this test session: generated, never a constant published in the repository
# (core/holdout.py refuses the one that was).
TEST_SECRET = secrets.token_urlsafe(32)


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
    **rating,
) -> dg.ExecuteInProcessResult:
    """Materialize every asset and check in-process on a landing zone (warehouse under `home`).

    The cut, anchor and seed travel as run tags, as `showdown run` sends them (as_of None: no tag, the run's
    creation date decides)."""
    return dg.materialize(
        [*REBUILD_ASSETS, *ASSET_CHECKS],
        resources=build_resources(landing, home),
        run_config={
            "ops": {
                "overall_ratings": {"config": {"bootstrap_rounds": 100, "workers": 1, **rating}},
                "integrity_checks": {"config": integrity or {}},
                "segment_ratings": {"config": {"bootstrap_rounds": segment_bootstrap}},
            }
        },
        instance=instance or dg.DagsterInstance.ephemeral(),
        tags={**landing_range_tags(landing), **cut_tags(as_of, anchor, seed, anchor_rating, overrides)},
        raise_on_error=False,
    )


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
