"""Attack on the issue-12 fixes (review branch t-attack12): each test reproduces one defect found by a hostile
review and FAILS on the reviewed code. It asserts what the README's "Landing files", "Guarantees" and
"Ratings" sections promise; the docstring says what was observed instead.

These are reproductions for the lead, not regression tests of a fix: they are expected to fail until
the defect they name is fixed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from showdown_pipeline import settings
from showdown_pipeline.core import landing
from showdown_pipeline.core.staging import IngestLimits
from showdown_pipeline.definitions import ASSETS
from showdown_pipeline.defs.partitions import landing_range_tags
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.landing_builder import vote, write_jsonl

INGEST = next(a for a in ASSETS if dg.AssetKey("landing_files") in a.keys)


def run_ingest(landing_root: Path, home: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [INGEST],
        resources=build_resources(landing_root, home),
        instance=dg.DagsterInstance.ephemeral(),
        tags=landing_range_tags(landing_root),
        raise_on_error=False,
    )


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path(home)), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def step_error(result: dg.ExecuteInProcessResult) -> str:
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return failures[0].step_failure_data.error.message.strip().splitlines()[-1] if failures else ""


# --- landing files ------------------------------------------------------------------------------------


def test_a_file_name_with_an_invalid_utf8_byte_does_not_stop_every_run(tmp_path):
    """Observed: `votes/x\\xff.jsonl` (a name a Windows/Latin-1 upstream writes easily) crashes the ingest step
    with `InvalidInputException: ... cannot encode str as UTF-8, surrogate '\\udcff'` when its ledger row is
    bound; the error names no file, and every later run fails the same way until someone renames it.
    Expected: the file is ingested or rejected with a reason, and the other files are read (README: "a file
    that cannot be read completely is rejected whole, with its error, and the run goes on")."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "good.jsonl", [vote(1)])
    bad = root / "votes" / os.fsdecode(b"latin-\xe9t\xe9.jsonl")
    write_jsonl(bad, [vote(2)])
    result = run_ingest(root, home)
    assert result.success, f"one odd file name stopped the ingest: {step_error(result)}"
    assert len(query(home, "SELECT * FROM landing_files")) == 2


@pytest.mark.parametrize(
    "payload",
    ["[" * 2_000 + "]" * 2_000, "1" * 5_000],
    ids=["2000-deep-nesting", "5000-digit-integer"],
)
def test_an_arena_json_array_that_python_json_cannot_decode_is_rejected_not_crashing_the_run(
    tmp_path, payload
):
    """Observed: staging splits `arena/*.json` arrays with `json.JSONDecoder.raw_decode` and catches only
    JSONDecodeError. An element nesting 2,000 arrays raises RecursionError; an element holding a 5,000-digit
    integer raises ValueError ("Exceeds the limit (4300 digits) for integer string conversion"). Either one
    (a 4-5 KB file) fails the ingest step, and every later run, while the file is there; the other files'
    rows are not read. (The same values in a `.jsonl` line are handled by DuckDB.)
    Expected: the file is rejected with its reason and the run goes on."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "good.jsonl", [vote(1)])
    (root / "arena").mkdir(parents=True)
    (root / "arena" / "odd.json").write_text(
        '[{"model_a": "a", "model_b": "b", "winner": "model_a", "x": ' + payload + "}]"
    )
    result = run_ingest(root, home)
    assert result.success, f"one arena file stopped the ingest: {step_error(result)}"
    statuses = dict(query(home, "SELECT path, status FROM landing_files"))
    assert statuses.get("votes/good.jsonl") == "ingested"
    assert "arena/odd.json" in statuses


def test_a_transient_warehouse_error_does_not_reject_a_file_forever(tmp_path, monkeypatch):
    """Observed: an out-of-memory error while loading a file (here SHOWDOWN_DUCKDB_MEMORY_LIMIT=16MB, a
    documented knob, and a file with a 40 MB line) is recorded as `rejected` under the file's content hash.
    Only `limit exceeded:` rejections are retried, so after the operator raises the memory limit the rerun
    reports the file `unchanged`/rejected and its rows are never read, until the bytes change.
    Expected: a failure of the warehouse (not of the file) leaves the file unrecorded, or is retried."""
    root, home = tmp_path / "landing", tmp_path / "home"
    big = {**vote(1), "pad": "x" * (40 << 20)}
    write_jsonl(root / "votes" / "big.jsonl", [big, vote(2)])
    monkeypatch.setenv("SHOWDOWN_DUCKDB_MEMORY_LIMIT", "16MB")
    first = run_ingest(root, home)
    assert first.success
    assert query(home, "SELECT status FROM landing_files") == [("rejected",)]
    monkeypatch.delenv("SHOWDOWN_DUCKDB_MEMORY_LIMIT")  # the operator gives the warehouse its memory back
    assert run_ingest(root, home).success
    assert query(home, "SELECT status, rows_in FROM landing_files") == [("ingested", 2)], (
        "the file stays rejected for an error of the warehouse, not of the file"
    )


def test_a_file_vanishing_between_hash_and_read_is_not_rejected_forever(tmp_path):
    """Observed: an upstream that replaces a file (delete, then write the same bytes again) while the ingest
    is between its first look (hash) and its read (stage) gets the content hash recorded as `rejected`
    ("cannot open: No such file or directory"); when the same bytes are there again, every later run says
    `unchanged` and never reads them. (The progress callback of `ingest_landing` marks that moment.)
    Expected: a file that could not be opened is not recorded under a content hash nobody read."""
    root, home = tmp_path / "landing", tmp_path / "home"
    path = write_jsonl(root / "votes" / "day.jsonl", [vote(1), vote(2)])
    content = path.read_bytes()
    place = landing.IngestPlace(root, home / ".staging", IngestLimits())
    home.mkdir()

    def upstream_replaces_the_file(event: str, rel_path: str) -> None:
        if event == "staging":
            path.unlink()

    with duckdb.connect(str(home / "w.duckdb")) as conn:
        files = landing.discover_landing_files(root)
        landing.ingest_landing(conn, files, "run-1", place, upstream_replaces_the_file)
        path.write_bytes(content)  # the same bytes are back
        outcomes, _ = landing.ingest_landing(conn, landing.discover_landing_files(root), "run-2", place)
        rows = conn.execute("SELECT count(*) FROM raw_votes").fetchall()[0][0]
    assert [(o.status, o.rows_in) for o in outcomes] == [("ingested", 2)], outcomes
    assert rows == 2


def test_a_parquet_column_named_p_does_not_replace_the_record(tmp_path):
    """Observed: `lines_from_parquet.sql` builds each record as `to_json(p)` over `read_parquet(...) AS p`; a
    file with a column named `p` makes `p` the column, not the row. With a struct column `p`, the ledger says
    `ingested 3` and raw_votes holds the struct's votes (v-100.., winner right, model_left `evil`) instead of
    the file's own rows (v-0.., winner left): other votes than the file's are counted, silently. (A string
    column `p` quarantines every row as `unparseable_line` with the column's value as the line.)
    Expected: the file's own top-level fields are its record."""
    root, home = tmp_path / "landing", tmp_path / "home"
    own = [vote(k) for k in range(3)]
    table = pa.Table.from_pylist(own)
    smuggled = pa.array([vote(100 + k, winner="right", model_left="evil") for k in range(3)])
    (root / "votes").mkdir(parents=True)
    pq.write_table(table.append_column("p", smuggled), root / "votes" / "export.parquet")
    assert run_ingest(root, home).success
    got = query(home, "SELECT vote_id, winner, model_left FROM raw_votes ORDER BY vote_id")
    assert got == [(f"v-{k}", "left", "m-a") for k in range(3)], got


def test_parquet_columns_differing_only_in_case_keep_the_canonical_field(tmp_path):
    """Observed: a Parquet file with columns `Winner` and `winner` is read by DuckDB with `winner` renamed to
    `winner_1`, so the record's `winner` is NULL (the row is quarantined for a missing winner). The same
    record as a JSON line reads winner `left` (json_transform is case-sensitive). Expected: one record reads
    the same whatever its format; the canonical lower-case column is the field."""
    root, home = tmp_path / "landing", tmp_path / "home"
    record = vote(1)
    columns = {k: [v] for k, v in record.items()}
    columns = {"Winner": ["right"], **columns}
    (root / "votes").mkdir(parents=True)
    pq.write_table(pa.table(columns), root / "votes" / "cased.parquet")
    write_jsonl(root / "votes" / "cased.jsonl", [{"Winner": "right", **vote(2)}])
    assert run_ingest(root, home).success
    winners = dict(query(home, "SELECT vote_id, winner FROM raw_votes"))
    assert winners == {"v-1": "left", "v-2": "left"}, winners


def test_a_folder_swapped_for_a_link_to_a_hidden_folder_is_not_read(tmp_path):
    """Observed (TOCTOU): `votes/sub/a.jsonl` is discovered as a regular file; before it is read, upstream
    swaps the folder `votes/sub` for a symlink to the hidden partial-upload folder `.partial/`. `open_literal`
    follows the folder link (O_NOFOLLOW covers only the last component) and its /proc check only asks that
    the file be inside the root, so the hidden partial upload is ingested (vote 666). Expected: hidden files
    are never read (README: "A path with any component starting with `.` is never read")."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "sub" / "a.jsonl", [vote(1)])
    write_jsonl(root / ".partial" / "a.jsonl", [vote(666, winner="right")])
    files = landing.discover_landing_files(root)
    shutil.rmtree(root / "votes" / "sub")
    os.symlink("../.partial", root / "votes" / "sub")
    home.mkdir()
    with duckdb.connect(str(home / "w.duckdb")) as conn:
        landing.ingest_landing(
            conn, files, "run", landing.IngestPlace(root, home / ".staging", IngestLimits())
        )
        ids = [r[0] for r in conn.execute("SELECT vote_id FROM raw_votes").fetchall()]
    assert "v-666" not in ids, "the hidden partial upload was read"


# --- the registry -------------------------------------------------------------------------------------


def test_reverting_models_csv_to_an_earlier_version_puts_that_version_in_force(tmp_path):
    """Observed: the registry in force is the ingested models.csv with the highest `ingest_seq`, and a file
    whose bytes the ledger knows is `unchanged` (no new `ingest_seq`). So when upstream reverts a bad
    models.csv (v2 deprecates m-b by mistake) to the exact bytes of v1, the revert is ignored: v2 stays in
    force, m-b stays deprecated, and nothing says the landing zone's models.csv is not the registry used.
    Expected: the models.csv in the landing zone is the registry in force (README: "the latest models.csv")."""
    from showdown_pipeline.definitions import REBUILD_ASSETS
    from showdown_pipeline_tests.landing_builder import write_models

    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "day.jsonl", [vote(1)])
    v1 = [("m-a", "A", "acme", "2025-01-01", None), ("m-b", "B", "acme", "2025-01-01", None)]
    v2 = [("m-a", "A", "acme", "2025-01-01", None), ("m-b", "B", "acme", "2025-01-01", "2025-06-01")]
    registry_asset = next(a for a in REBUILD_ASSETS if dg.AssetKey("model_registry") in a.keys)

    def deliver(rows) -> None:
        write_models(root / "models.csv", rows)
        result = dg.materialize(
            [INGEST, registry_asset],
            resources=build_resources(root, home),
            instance=dg.DagsterInstance.ephemeral(),
            tags=landing_range_tags(root),
        )
        assert result.success

    deliver(v1)
    deliver(v2)
    deliver(v1)  # the mistake is reverted upstream
    in_force = dict(query(home, "SELECT model_id, deprecated_at FROM model_registry"))
    assert in_force["m-b"] is None, f"v2 is still in force after the revert to v1: {in_force}"


# --- the ledger is keyed by content only --------------------------------------------------------------


def test_a_file_renamed_to_the_right_extension_is_read(tmp_path):
    """Observed: `votes/day.json` (an extension votes/ does not take) is rejected "unsupported file type" and
    that rejection is keyed by the file's sha256. When upstream fixes the name to `votes/day.jsonl`, the bytes
    are the same: every later run says `unchanged` (error still "unsupported file type ... day.json") and the
    votes are never read. Expected: a rejection for the name, not the bytes, does not outlive the name."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "day.json", [vote(1), vote(2)])
    assert run_ingest(root, home).success
    os.rename(root / "votes" / "day.json", root / "votes" / "day.jsonl")
    assert run_ingest(root, home).success
    assert query(home, "SELECT count(*) FROM raw_votes") == [(2,)]


def test_a_vote_file_moved_out_of_the_wrong_folder_is_read_as_votes(tmp_path):
    """Observed: a vote file first delivered into `contributors/` is ingested as contributor records (all
    invalid). When upstream moves it to `votes/`, its bytes are known: the run reports `votes/day.jsonl`
    as `unchanged` with 2 rows, yet raw_votes holds none of them and the vote accounting never lists the
    file: two votes silently missing. Expected: the ledger key includes the kind (or the move is reported)."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "contributors" / "day.jsonl", [vote(1), vote(2)])
    assert run_ingest(root, home).success
    (root / "votes").mkdir()
    os.rename(root / "contributors" / "day.jsonl", root / "votes" / "day.jsonl")
    assert run_ingest(root, home).success
    assert query(home, "SELECT count(*) FROM raw_votes") == [(2,)]


def test_showdown_rate_reads_the_file_it_is_given_not_a_glob_match(tmp_path):
    """Observed: `core/rate_file.py` hands the path to DuckDB's `read_csv`/`read_json`/`read_parquet`, which
    take globs: `showdown rate 'votes[1].csv'` checks that `votes[1].csv` exists, then rates `votes1.csv`
    (models P and Q) and prints its board as if it were the file asked for. Expected: the literal file is
    rated (models X and Y), as the landing ingest now does."""
    asked = tmp_path / "votes[1].csv"
    asked.write_text("model_a,model_b,winner\n" + "X,Y,model_a\nY,X,model_a\n" * 5)
    (tmp_path / "votes1.csv").write_text("model_a,model_b,winner\n" + "P,Q,model_a\nQ,P,model_b\n" * 4)
    out = tmp_path / "board.parquet"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "showdown_pipeline.cli",
            "rate",
            str(asked),
            "--bootstrap",
            "0",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-500:]
    assert set(pd.read_parquet(out)["model_id"]) == {"X", "Y"}, run.stdout[-600:]


# --- limits -------------------------------------------------------------------------------------------

_INGEST_AND_REPORT_PEAK = """
import resource, sys, duckdb
from pathlib import Path
from showdown_pipeline.core import landing
from showdown_pipeline.core.staging import IngestLimits
root, home = Path(sys.argv[1]), Path(sys.argv[2])
home.mkdir()
with duckdb.connect(str(home / "w.duckdb")) as conn:
    place = landing.IngestPlace(root, home / ".staging", IngestLimits.from_env())
    outcomes, _ = landing.ingest_landing(conn, landing.discover_landing_files(root), "run", place)
print(outcomes[0].status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def test_an_885_byte_parquet_file_cannot_take_gigabytes(tmp_path):
    """Observed: one row whose list column holds 12M zeros is an 885-byte Parquet file; its footer says 174
    bytes uncompressed (dictionary + RLE), so the footer check passes; `_check_decoded_size` then decodes the
    whole column chunk into memory to measure it (96 MB, far under the 16 GiB default), and DuckDB's
    `to_json` builds a 24 MB line: the ingest alone peaks at ~1.9 GB RSS (a process that ingests nothing:
    126 MB) and takes ~13 s, and the file is `ingested`. 30M zeros: 4.1 GB, 22 s, still ingested; 60M: 3.7 GB,
    rejected only by the line limit after DuckDB built the line. README (Guarantees): "a bomb is rejected
    quickly in bounded memory". Expected: memory bounded independently of the decoded size (a few hundred MB)."""
    root = tmp_path / "landing"
    (root / "votes").mkdir(parents=True)
    n = 12_000_000
    pad = pa.ListArray.from_arrays(pa.array([0, n], pa.int32()), pa.array(np.zeros(n, dtype=np.int64)))
    path = root / "votes" / "bomb.parquet"
    pq.write_table(pa.table({"vote_id": ["p1"], "pad": pad}), path, compression="zstd")
    assert path.stat().st_size < 4096
    run = subprocess.run(
        [sys.executable, "-c", _INGEST_AND_REPORT_PEAK, str(root), str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-800:]
    status, peak_mib = run.stdout.split()[-2:]
    assert int(peak_mib) < 800, f"a {path.stat().st_size}-byte file: status {status}, peak RSS {peak_mib} MiB"
