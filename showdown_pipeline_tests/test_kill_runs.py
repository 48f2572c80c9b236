"""Kill a real `showdown run` (SIGKILL) at many points, then run again on the same home: the second run's
accounting and leaderboard equal a clean run's on a fresh home, exactly.

Kill points: when a step starts (read from the run log at -vv), plus seeded offsets into a step, plus one
from the process start. What is compared: the manifest's input section (rows in, valid, duplicates and
quarantine per reason, every file with its counts and error), its data cut and integrity accounting, and the
leaderboard table cell for cell. File statuses are compared as "read" (ingested by this or an earlier run)
versus "rejected": a file the killed run ingested completely is, truthfully, `unchanged` in the rerun.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from showdown_pipeline import snapshots
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
