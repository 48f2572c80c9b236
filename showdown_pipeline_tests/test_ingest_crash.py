"""Crash safety of the ingest: a file's rows and its ledger row commit together, and a run recovers what a
killed one left. The kill test runs the real ingest in a real process and `kill -9`s it at many points."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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
from showdown_pipeline_tests.ingest_kill_driver import BATCH_RECORDS, KILL_AT
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


def run_driver(
    landing: Path, home: Path, kill_at: tuple[str, int, float] | None = None, batch_records: int | None = None
) -> tuple[str, str]:
    """Run the ingest process; with `kill_at` = (event, n, delay) it kills itself at its n-th `event` (after
    `delay` seconds, holding at the next named point until the kill lands: `ingest_kill_driver`), with
    `batch_records` its batches hold that many records (default: core.landing.BATCH_RECORDS). Returns how
    it ended ("killed" | "finished") and what it printed."""
    env = dict(os.environ)
    if kill_at is not None:
        env[KILL_AT] = ":".join(str(part) for part in kill_at)
    if batch_records is not None:
        env[BATCH_RECORDS] = str(batch_records)
    run = subprocess.run(
        [sys.executable, "-m", "showdown_pipeline_tests.ingest_kill_driver", str(landing), str(home)],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        timeout=300,
    )
    if run.returncode == -signal.SIGKILL:
        return "killed", run.stdout
    assert run.returncode == 0, run.stderr[-2000:]
    return "finished", run.stdout


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


# Kill points (event, n, delay, batch records): the ingest process kills itself at its n-th `event`
# (core.landing.Progress), or `delay` seconds later while it goes on, waiting at the next named point for the
# kill. Each lands at a named place whatever the machine's speed: while the warehouse opens or before
# recovery, between the rows and the ledger row of a file, before its COMMIT, inside or just after it, while
# staging, between files. The first 18 load each file alone (batches of one record): each run commits at most
# n files before its kill (hashing counts files already in the ledger too), 22 in all. The last 4 load
# batches of 2,000 records (two or three of these files), so the kill lands between two files of a batch,
# before its COMMIT, inside it and just after it: each commits at most n batches, ~8 files in all. The
# landing zone's 45 files leave work for every run, the last one included.
KILL_POINTS = [
    ("started", 1, 0.02, 1),
    ("loading", 1, 0, 1),
    ("loaded", 1, 0, 1),
    ("committing", 1, 0, 1),
    ("committing", 1, 0.005, 1),
    ("done", 1, 0, 1),
    ("staging", 2, 0, 1),
    ("recovered", 1, 0, 1),
    ("loaded", 2, 0, 1),
    ("committing", 2, 0.02, 1),
    ("hashing", 4, 0, 1),
    ("staging", 1, 0.01, 1),
    ("committing", 3, 0.002, 1),
    ("loading", 2, 0.03, 1),
    ("done", 2, 0.001, 1),
    ("committing", 2, 0.1, 1),
    ("loading", 4, 0, 1),
    ("loaded", 3, 0.01, 1),
    ("loaded", 3, 0, 2_000),
    ("committing", 2, 0, 2_000),
    ("committing", 2, 0.005, 2_000),
    ("done", 4, 0, 2_000),
]


@pytest.mark.slow
def test_killing_the_ingest_at_many_points_then_rerunning_equals_a_clean_run(tmp_path):
    """22 `kill -9`s of a real ingest process, each at a named point (opening the warehouse, between a file's rows
    and its ledger row, between two files of a batch, before, inside and just after a COMMIT, while staging,
    between files), each followed by the next run on the same home. Every kill lands, and the run after the
    last still finds work; the final run's ledger, raw tables, per-file accounting and reconciliation check
    equal a clean run's exactly (one run with the default batches: the vote files in one batch), and no
    staged copy is left behind."""
    landing = build_landing(tmp_path / "landing", files=42)
    clean_home, killed_home = tmp_path / "clean", tmp_path / "killed"
    assert run_driver(landing, clean_home)[0] == "finished"
    ends = [
        run_driver(landing, killed_home, kill_at=point[:3], batch_records=point[3])[0]
        for point in KILL_POINTS
    ]
    assert ends == ["killed"] * len(KILL_POINTS)
    end, printed = run_driver(landing, killed_home)
    assert end == "finished"
    assert int(printed.split("finished ")[1].split()[2]) > 0, printed[-300:]  # ingested files: work was left
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


@pytest.mark.parametrize("kind", ["votes", "contributors"])
def test_the_ledger_key_refuses_a_file_twice_and_takes_its_rows_back(tmp_path, kind):
    """The raw tables carry no primary key (its index cost half a second of each file's load and commit at
    10M votes): the ledger's key guards them. A file committed again under a ledger key already taken (two
    runs racing past the ledger lookup: the home lock stops them first) fails in the ledger insert, and the
    same transaction takes its rows back: no raw row is there twice."""
    from showdown_pipeline.core import landing as core_landing
    from showdown_pipeline.core import staging

    root = tmp_path / "landing"
    write_models(root / "models.csv", [(m, m, "p", "2025-01-01", None) for m in MODELS])
    write_jsonl(root / "votes" / "a.jsonl", random_valid_votes(0, 40, MODELS, seed=3))
    write_jsonl(
        root / "contributors" / "people.jsonl", [{"user_id": f"u-{u}", "country": "BR"} for u in range(9)]
    )
    home = tmp_path / "home"
    run_ingest(root, home)
    table = f"raw_{kind}"
    count_sql = f"SELECT count(*), count(DISTINCT (source_sha256, source_row)) FROM {table}"  # noqa: S608
    lf = next(f for f in core_landing.discover_landing_files(root) if f.kind == kind)
    staged = staging.stage_file(
        lf.target, root.resolve(), lf.format, tmp_path / "staged", staging.IngestLimits(), kind
    )
    with duckdb_session(settings.warehouse_path(home)) as session:
        before = session.conn.execute(count_sql).fetchone()
        read = core_landing._Read(staged.sha256, staged.sha256, None)  # as a racing run would have read it
        with pytest.raises(core_landing._NotTheBytes, match="ConstraintException"):
            core_landing._commit_staged(
                session, lf, "racing-run", staged, read, staging.IngestLimits(), core_landing._quiet
            )
        after = session.conn.execute(count_sql).fetchone()
    assert before[0] == before[1] > 0
    assert after == before
