"""Kill a real `showdown run` (SIGKILL) at many points, then run again on the same home: the second run's
accounting and leaderboard equal a clean run's on a fresh home, exactly.

Kill points: when a step starts (read from the run log at -vv), plus seeded offsets into a step, plus one
from the process start. What is compared: the manifest's input section (rows in, valid, duplicates and
quarantine per reason, every file with its counts and error), its data cut and integrity accounting, and the
leaderboard table cell for cell. File statuses are compared as "read" (ingested by this or an earlier run)
versus "rejected": a file the killed run ingested completely is, truthfully, `unchanged` in the rerun.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from showdown_pipeline import settings, snapshots
from showdown_pipeline.defs.resources import WAREHOUSE_POOL
from showdown_pipeline_tests.conftest import TEST_SECRET
from showdown_pipeline_tests.landing_builder import build_messy_landing, random_valid_votes, write_jsonl

AS_OF = "2026-06-01"
KILL_POINTS = {  # name: (step whose start arms the kill, seconds after it; None: after the process starts)
    "ingest_start": ("landing_zone_ingest", 0.0),
    "ingest_early": ("landing_zone_ingest", 0.15),
    "ingest_late": ("landing_zone_ingest", 0.45),
    "validate_into": ("validated_votes", 0.2),
    "integrity_into": ("integrity_checks", 0.2),
    "ratings_start": ("overall_ratings", 0.0),
    "snapshot_start": ("leaderboard_snapshot", 0.0),
    "snapshot_into": ("leaderboard_snapshot", 0.25),
    "process_offset": (None, 4.5),
}
EXTRA_FILES = 16  # small vote files beside the messy landing: ingest commits file by file


pytestmark = pytest.mark.slow


def _run(landing: Path, home: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "showdown_pipeline.cli", "run", "--landing", str(landing), "--home", str(home)]
        + ["--as-of", AS_OF, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_at(landing: Path, home: Path, step: str | None, offset: float) -> str:
    """Start a run and SIGKILL it `offset` seconds after `step` starts; returns what it had logged."""
    proc = _run(landing, home, "-vv")
    started, lines = time.monotonic(), []
    if step is not None:
        marker = f" - {step} - STEP_START - "
        for line in proc.stderr:
            lines.append(line)
            if marker in line:
                break
        else:
            pytest.fail(f"the run ended before {step} started:\n{''.join(lines[-20:])}")
    time.sleep(max(0.0, offset - (time.monotonic() - started if step is None else 0.0)))
    proc.send_signal(signal.SIGKILL)
    rest = proc.communicate(timeout=60)[1]
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    return "".join(lines) + rest


def _accounting(home: Path) -> tuple[dict, pd.DataFrame]:
    snap = snapshots.latest(home)
    assert not snap.verify()
    manifest = snap.manifest
    inputs = dict(manifest["input"])
    inputs["files"] = sorted(
        ({**f, "status": "rejected" if f["status"] == "rejected" else "read"} for f in inputs["files"]),
        key=lambda f: (f["path"], f["sha256"]),
    )
    other = sorted(
        (
            {**f, "status": "rejected" if f["status"] == "rejected" else "read"}
            for f in manifest["other_landing_files"]
        ),
        key=lambda f: (f["path"], f["sha256"]),
    )
    integrity = {k: v for k, v in manifest["integrity"].items() if k != "run"}
    kept = {
        "input": inputs,
        "other_landing_files": other,
        "data_cut": manifest["data_cut"],
        "integrity": integrity,
        "contributors": manifest["contributors"],
        "registry": manifest["registry"],
        "anchor": manifest["parameters"]["anchor"],
    }
    return kept, snap.leaderboard()


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill")
    landing = build_messy_landing(root / "landing").root
    for k in range(EXTRA_FILES):
        votes = random_valid_votes(10_000 + 20 * k, 20, ["m-a", "m-b", "m-c"], seed=100 + k)
        write_jsonl(landing / "votes" / "2026-03-04" / f"batch-{k:02d}.jsonl", votes)
    proc = _run(landing, root / "clean-home")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    return landing, _accounting(root / "clean-home")


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_run_killed_anywhere_is_repaired_by_the_next_run(point, clean, tmp_path):
    landing, (expected, expected_board) = clean
    home = tmp_path / "home"
    step, offset = KILL_POINTS[point]
    _kill_at(landing, home, step, offset)
    rerun = _run(landing, home)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, f"the run after a kill at {point} failed: {err.strip()[-1500:]}"
    found, board = _accounting(home)
    for section in expected:
        assert found[section] == expected[section], f"{section} differs after a kill at {point}"
    pd.testing.assert_frame_equal(board, expected_board, check_exact=True)
    assert os.path.getsize(home / "showdown.lock") == 0  # the rerun released the lock cleanly


# --- licensed exports killed between their rename and their audit row --------------------------------------

_EXPORT_KILLED_AFTER_RENAME = """
import os, signal, sys
from showdown_pipeline import cli
from showdown_pipeline.core import licensing
original = licensing.publish_export
def publish_then_die(staging, final):
    original(staging, final)
    os.kill(os.getpid(), signal.SIGKILL)  # the process dies here, as a kill -9 or a power cut would
licensing.publish_export = publish_then_die
sys.exit(cli.main(sys.argv[1:]))
"""


def _home_with_a_killed_export(tmp_path: Path) -> tuple[list[str], list[str], dict, Path]:
    """A home whose `showdown export` was killed -9 right after the rename that publishes it, holding its
    warehouse pool slot. Returns (the run command, the export command, the environment, the export)."""
    landing, home = build_messy_landing(tmp_path / "landing").root, tmp_path / "home"
    env = {**os.environ, "SHOWDOWN_LICENSE_KEY": TEST_SECRET}
    cli = [sys.executable, "-m", "showdown_pipeline.cli"]
    run = [*cli, "run", "--landing", str(landing), "--home", str(home), "--as-of", AS_OF]
    first = subprocess.run(run, capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr[-800:]
    export = [
        "export",
        "--licensee",
        "acme",
        "--as-of",
        AS_OF,
        "--home",
        str(home),
        "--landing",
        str(landing),
    ]
    killed = subprocess.run(
        [sys.executable, "-c", _EXPORT_KILLED_AFTER_RENAME, *export],
        capture_output=True,
        env=env,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL
    folder = home / "exports" / "acme" / AS_OF
    assert (folder / "votes.parquet").is_file()  # it was published
    return run, [*cli, *export], env, folder


def _audit_rows(home: Path) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path(home)), read_only=True) as conn:
        tables = {r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "export_audit" not in tables:
            return []
        return conn.execute(
            "SELECT licensee, as_of::VARCHAR, sha256, run_id, note FROM export_audit"
        ).fetchall()


def test_an_export_killed_while_holding_the_pool_does_not_hang_the_next_export(tmp_path):
    """The killed export's step held the warehouse pool slot (limit 1). The next `showdown export` used to
    wait for it forever (3 CPU minutes in 3 minutes, SIGTERM ignored): only `showdown run` freed dead runs'
    slots. The export now frees them under the home's lock, like the run; it answers in one line (here: the
    export is already published, and the rerun has audited it) and leaves no slot claimed."""
    _, export, env, folder = _home_with_a_killed_export(tmp_path)
    home = folder.parents[2]
    try:
        rerun = subprocess.run(export, capture_output=True, text=True, env=env, timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail(
            "the export after a killed export was still waiting after 240 s (the dead run's pool slot)"
        )
    took_over, refused = rerun.stderr.strip().splitlines()  # the dead export's lock, then one line
    assert took_over.startswith("showdown: took over the lock left by ") and took_over.endswith(" is gone")
    assert rerun.returncode == 2 and "already published" in refused, rerun.stderr[-800:]
    with dg.DagsterInstance.from_config(str(settings.dagster_home(home))) as instance:
        assert instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).active_slot_count == 0
    assert len(_audit_rows(home)) == 1


def test_an_export_killed_after_its_rename_is_audited_by_the_next_run(tmp_path):
    """Published by a rename, audited by the next statement: a kill between the two left an export on disk
    that export_audit did not name, and its rerun was refused ("already published"), so its audit could
    never be completed. Every run on the home now audits such an export from its manifest (its votes
    checked against the manifest's sha256), noting the recovery; the rerun of the export adds nothing."""
    run, export, env, folder = _home_with_a_killed_export(tmp_path)
    home = folder.parents[2]
    assert _audit_rows(home) == []
    again = subprocess.run(run, capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr[-800:]
    manifest = json.loads((folder / "manifest.json").read_text())
    ((licensee, as_of, sha256, run_id, note),) = _audit_rows(home)
    assert (licensee, as_of, sha256) == ("acme", AS_OF, manifest["files"]["votes.parquet"]["sha256"])
    assert run_id == manifest["dagster_run_id"] and note.startswith("audited on recovery by run ")
    assert subprocess.run(export, capture_output=True, env=env, timeout=600).returncode == 2
    assert len(_audit_rows(home)) == 1


def test_an_unaudited_export_changed_after_its_rename_is_withdrawn_not_audited(tmp_path):
    """The same kill, then the published votes.parquet changes (a careless operator, an attacker with the
    home): it no longer matches its manifest, so the next run moves it out of the licensee's folder to
    `.withdrawn/` (kept for inspection, never shipped) instead of auditing it, and a new export can be made."""
    run, export, env, folder = _home_with_a_killed_export(tmp_path)
    home = folder.parents[2]
    with (folder / "votes.parquet").open("ab") as handle:
        handle.write(b"tampered")
    assert subprocess.run(run, capture_output=True, env=env, timeout=600).returncode == 0
    assert not folder.exists() and _audit_rows(home) == []
    (withdrawn,) = (folder.parent / ".withdrawn").iterdir()
    assert withdrawn.name.startswith(f"{AS_OF}-") and (withdrawn / "votes.parquet").read_bytes().endswith(
        b"tampered"
    )
    fresh = subprocess.run(export, capture_output=True, text=True, env=env, timeout=600)
    assert fresh.returncode == 0, fresh.stderr[-800:]
    ((_, _, _, _, note),) = _audit_rows(home)
    assert note is None  # audited as it was published
