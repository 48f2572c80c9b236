"""Crash safety of the ingest: a file's rows and its ledger row commit together, and a run recovers what a
killed one left. The kill test runs the real ingest in a real process and `kill -9`s it at many points."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pytest

from showdown_pipeline import settings
from showdown_pipeline.core.warehouse import duckdb_session
from showdown_pipeline.definitions import ASSET_CHECKS, ASSETS
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.conftest import check_evaluations, materialization_metadata
from showdown_pipeline_tests.landing_builder import (
    random_valid_votes,
    write_jsonl,
    write_models,
    write_parquet,
)
from showdown_pipeline_tests.test_landing_files import run_ingest

MODELS = ["m-a", "m-b", "m-c", "m-d"]
LEDGER_COLUMNS = (
    "sha256, path, kind, format, size_bytes, landed_at, ingest_seq, status, rows_in, blank_lines, error"
)
LEDGER_SQL = "SELECT " + LEDGER_COLUMNS + " FROM landing_files ORDER BY ingest_seq"  # noqa: S608 - fixed names
VALIDATE = {"model_registry", "contributor_profiles", "votes_checked"}


def build_landing(root: Path, files: int = 36) -> Path:
    """`files` vote files of 100-1,500 votes (JSON Lines, gzip, Parquet), contributors, a registry, an
    arena log, a truncated gzip and an unsupported file: enough work that kills land mid-file."""
    write_models(root / "models.csv", [(m, m, "p", "2025-01-01", None) for m in MODELS])
    rng = np.random.default_rng(7)
    start = 0
    for k in range(files):
        n = int(rng.integers(100, 1_500))
        records = random_valid_votes(start, n, MODELS, seed=k)
        start += n
        day = root / "votes" / f"2026-03-{1 + k % 28:02d}"
        if k % 3 == 2:
            write_parquet(day / f"part-{k:03d}.parquet", records)
        else:
            write_jsonl(day / (f"part-{k:03d}.jsonl" + (".gz" if k % 3 else "")), records, gz=bool(k % 3))
    write_jsonl(
        root / "contributors" / "people.jsonl",
        [
            {"user_id": f"u-{u}", "country": "BR", "verified": True, "verified_at": "2026-01-01T00:00:00Z"}
            for u in range(60)
        ],
    )
    arena = [
        {"model_a": "m-a", "model_b": "m-b", "winner": "model_a", "judge": f"j{i}", "anony": True}
        for i in range(500)
    ]
    write_jsonl(root / "arena" / "log.jsonl", arena)
    broken = write_jsonl(
        root / "votes" / "2026-03-28" / "broken.jsonl.gz", random_valid_votes(10**6, 300, MODELS, 99), gz=True
    )
    broken.write_bytes(broken.read_bytes()[:-200])
    (root / "votes" / "notes.txt").write_text("not a vote file\n")
    return root


def run_driver(landing: Path, home: Path, kill_at: tuple[str, int, float] | float | None = None) -> str:
    """Run the ingest process; with `kill_at` = (event, n, delay) SIGKILL it `delay` seconds after its n-th
    `event` line, with a float, that many seconds after it started. Returns how it ended."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "showdown_pipeline_tests.ingest_kill_driver", str(landing), str(home)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        if isinstance(kill_at, float):
            time.sleep(kill_at)
        elif kill_at is not None:
            event, nth, delay = kill_at
            seen = 0
            for line in proc.stdout:
                seen += line.split(" ", 1)[0] == event
                if seen == nth:
                    time.sleep(delay)
                    break
        if kill_at is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(60)
            return "killed"
        proc.stdout.read()
        assert proc.wait(120) == 0
        return "finished"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def accounting(landing: Path, home: Path) -> dict:
    """The ledger, every raw table, and the reconciliation (validate + the blocking check) of a home."""
    path = str(settings.warehouse_path(home))
    with duckdb.connect(path, read_only=True) as conn:
        state = {
            "ledger": conn.execute(LEDGER_SQL).fetchall(),
            **{
                table: conn.execute(f"SELECT * FROM {table} ORDER BY source_sha256, source_row").fetchall()  # noqa: S608
                for table in ("raw_votes", "raw_contributors", "raw_models")
            },
        }
    validate = [a for a in ASSETS if VALIDATE & {k.to_user_string() for k in a.keys}]
    result = dg.materialize(
        [*validate, *ASSET_CHECKS],
        selection=dg.AssetSelection.assets(*validate),
        resources=build_resources(landing, home),
        instance=dg.DagsterInstance.ephemeral(),
    )
    check = check_evaluations(result)["input_rows_reconcile"]
    state["reconcile"] = (
        check.passed,
        {k: v.value for k, v in check.metadata.items() if k != "failing_sample"},
    )
    with duckdb_session(path, read_only=True) as session:
        state["per_file"] = [
            tuple(r[k] for k in ("path", "sha256", "status", "rows_in", "valid", "duplicates", "quarantined"))
            for r in session.rows("validate/input_accounting")
        ]
    state["staged_left"] = sorted(p.name for p in settings.ingest_staging_dir(home).glob("*"))
    return state


# Kill points: (step, n, delay): SIGKILL `delay` seconds after the n-th line of that step in that process
# (see core.landing.Progress), or a bare delay in seconds after the start (start-up and recovery included).
# Delays after `committing` land inside and just after the COMMIT.
KILL_POINTS = [
    ("loading", 1, 0.0),
    ("committing", 1, 0.0),
    ("committing", 1, 0.005),
    ("committing", 2, 0.02),
    ("staging", 2, 0.0),
    0.6,
    ("done", 1, 0.0),
    ("loading", 3, 0.01),
    ("committing", 1, 0.05),
    ("hashing", 4, 0.0),
    1.2,
    ("committing", 3, 0.002),
    ("loading", 2, 0.03),
    ("staging", 1, 0.01),
    ("done", 2, 0.001),
    ("committing", 2, 0.1),
    ("loading", 4, 0.0),
    0.9,
]


@pytest.mark.slow
def test_killing_the_ingest_at_many_points_then_rerunning_equals_a_clean_run(tmp_path):
    """18 `kill -9`s of a real ingest process (inside a file's transaction, just before and after its
    COMMIT, while staging, hashing, during start-up), each followed by the next run on the same home; the
    final run's ledger, raw tables, per-file accounting and reconciliation check equal a clean run's
    exactly, and no staged copy is left behind."""
    landing = build_landing(tmp_path / "landing")
    clean_home, killed_home = tmp_path / "clean", tmp_path / "killed"
    assert run_driver(landing, clean_home) == "finished"
    ends = [run_driver(landing, killed_home, kill_at=point) for point in KILL_POINTS]
    assert ends.count("killed") >= 15, ends  # the kills landed while there was work left
    assert run_driver(landing, killed_home) == "finished"
    clean, killed = accounting(landing, clean_home), accounting(landing, killed_home)
    assert clean["reconcile"][0] is True
    assert killed == clean
    assert clean["staged_left"] == []
    assert {status for _, _, status, *_ in clean["per_file"]} == {"ingested", "rejected"}


def test_rows_left_without_a_ledger_row_are_recovered_on_the_next_run(tmp_path):
    """The state a run killed between committing a file's rows and its ledger row left (the code before
    the one-transaction ingest): raw rows whose file is not in the ledger, and a staged copy. The next
    run removes both, ingests the file again, and ends where a clean run does."""
    landing = tmp_path / "landing"
    write_models(landing / "models.csv", [(m, m, "p", "2025-01-01", None) for m in MODELS])
    write_jsonl(landing / "votes" / "a.jsonl", random_valid_votes(0, 50, MODELS, seed=1))
    write_jsonl(landing / "votes" / "b.jsonl", random_valid_votes(50, 70, MODELS, seed=2))
    clean_home, home = tmp_path / "clean", tmp_path / "home"
    run_ingest(landing, clean_home)
    run_ingest(landing, home)
    with duckdb.connect(str(settings.warehouse_path(home))) as conn:
        conn.execute("DELETE FROM landing_files WHERE path IN ('votes/b.jsonl', 'models.csv')")
    staging = settings.ingest_staging_dir(home)
    (staging / "partial-0123456789abcdef.lines.parquet").write_bytes(b"half a copy")
    rerun = run_ingest(landing, home)
    assert materialization_metadata(rerun, "landing_files")["recovered"] == {
        "raw_votes": 70,
        "raw_contributors": 0,
        "raw_models": 4,
        "staged_files": 1,
    }
    assert materialization_metadata(rerun, "landing_files")["files_ingested"] == 2
    assert not any(staging.iterdir())
    clean, recovered = accounting(landing, clean_home), accounting(landing, home)
    ingest_seq = LEDGER_COLUMNS.split(", ").index("ingest_seq")
    for state in (clean, recovered):  # the re-ingested files were delivered again: a later ingest_seq
        state["ledger"] = sorted(row[:ingest_seq] + row[ingest_seq + 1 :] for row in state["ledger"])
    assert recovered == clean and clean["reconcile"][0] is True
