"""Batched loads (core/landing._Batch): the staged files of one kind are loaded together, one INSERT and one
transaction, and the warehouse ends exactly where loading each file alone ends. The kills inside a batch are
in test_ingest_crash.py."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import duckdb
import pytest

from showdown_pipeline import settings
from showdown_pipeline.core import landing
from showdown_pipeline.core.staging import FileRejected
from showdown_pipeline.core.warehouse import WarehouseError
from showdown_pipeline_tests.landing_builder import (
    random_valid_votes,
    write_jsonl,
    write_models,
    write_parquet,
)
from showdown_pipeline_tests.test_landing_files import _ingest_once

MODELS = ["m-a", "m-b", "m-c"]
LEDGER = (
    "SELECT path, sha256, kind, format, size_bytes, ingest_seq, status, rows_in, blank_lines, error, "
    "content_sha256, stat_fingerprint IS NOT NULL FROM landing_files ORDER BY ingest_seq"
)


def build_landing(root: Path) -> Path:
    """Votes as JSON Lines (a blank line, a line that is no JSON object, quotes and markup, a look-alike
    letter), gzip and Parquet; the same bytes as a.jsonl again under another name while a.jsonl waits in a
    batch; an unsupported file and a truncated gzip after it; contributors and an arena log (other kinds,
    other batches); a registry."""
    write_models(root / "models.csv", [(m, m, "p", "2025-01-01", None) for m in MODELS])
    votes = random_valid_votes(0, 400, MODELS, seed=1)
    odd = [*votes[:150], "", '{"vote_id": "<b>\\"x\\"</b>", "winner": "lеft"}', "[1, 2]", *votes[150:200]]
    write_jsonl(root / "votes" / "d1" / "a.jsonl", odd)
    write_jsonl(root / "votes" / "d1" / "b.jsonl.gz", votes[200:300], gz=True)
    write_parquet(root / "votes" / "d2" / "c.parquet", votes[300:400])
    shutil.copyfile(root / "votes" / "d1" / "a.jsonl", root / "votes" / "d2" / "d.jsonl")
    write_jsonl(root / "votes" / "d3" / "f.jsonl", random_valid_votes(1000, 30, MODELS, seed=2))
    (root / "votes" / "d3" / "e.txt").write_text("not a vote file\n")
    broken = write_jsonl(root / "votes" / "d4" / "g.jsonl.gz", votes[:50], gz=True)
    broken.write_bytes(broken.read_bytes()[:-20])
    write_jsonl(root / "votes" / "d4" / "h.jsonl", random_valid_votes(2000, 20, MODELS, seed=3))
    people = [{"user_id": f"u-{u}", "country": "BR", "verified": True} for u in range(60)]
    write_jsonl(root / "contributors" / "people.jsonl", people[:30])
    write_parquet(root / "contributors" / "more.parquet", people[30:])
    arena = [{"model_a": "m-a", "model_b": "m-b", "winner": "model_a", "judge": f"j{i}"} for i in range(40)]
    write_jsonl(root / "arena" / "log.jsonl", arena)
    return root


def warehouse_state(home: Path) -> dict:
    with duckdb.connect(str(settings.warehouse_path(home)), read_only=True) as conn:
        return {
            "ledger": conn.execute(LEDGER).fetchall(),
            **{
                table: conn.execute(f"SELECT * FROM {table} ORDER BY source_sha256, source_row").fetchall()  # noqa: S608
                for table in ("raw_votes", "raw_contributors", "raw_models")
            },
        }


def spy_on_loads(monkeypatch) -> list[list[str]]:
    """The staged files each `_load_lines` call loads, by ledger key: one call per batch (or lone file)."""
    calls: list[list[str]] = []
    real = landing._load_lines

    def load_lines(session, kind, files, limits):
        calls.append([key for _, key in files])
        return real(session, kind, files, limits)

    monkeypatch.setattr(landing, "_load_lines", load_lines)
    return calls


def test_a_batch_loads_what_each_file_loaded_alone_loads(tmp_path, monkeypatch):
    """The same landing zone ingested with the default batches and with each file alone (batches of one
    record): the outcomes, the ledger (keys, order, counts, statuses, errors, stat fingerprints) and every
    raw table are equal, row for row. The batched run loaded a, b and c in one INSERT: d, the same bytes as
    a, is judged once a is in the ledger (unchanged, not loaded twice); f waited in a batch while g was
    rejected, yet the ledger holds them in the files' order."""
    root = build_landing(tmp_path / "landing")
    calls = spy_on_loads(monkeypatch)
    batched = _ingest_once(root, tmp_path / "batched", "run-1")
    batches = list(calls)
    monkeypatch.setattr(landing, "BATCH_RECORDS", 1)
    calls.clear()
    alone = _ingest_once(root, tmp_path / "alone", "run-1")
    assert batched == alone
    assert warehouse_state(tmp_path / "batched") == warehouse_state(tmp_path / "alone")
    assert all(len(call) == 1 for call in calls)
    assert sorted(len(call) for call in batches) == [1, 1, 1, 2, 3]  # arena; f; h; contributors; a, b, c
    statuses = {path: status for path, status, _ in batched}
    assert statuses["votes/d2/d.jsonl"] == "unchanged"
    assert statuses["votes/d3/e.txt"] == statuses["votes/d4/g.jsonl.gz"] == "rejected"
    order = [row[0] for row in warehouse_state(tmp_path / "batched")["ledger"]]
    assert order == [path for path, status, _ in batched if status != "unchanged"]
    assert order.index("votes/d3/f.jsonl") < order.index("votes/d4/g.jsonl.gz")


@pytest.mark.parametrize(
    "refusal",
    [
        FileRejected("the warehouse read 99 records where staging counted 100"),
        WarehouseError("ingest/raw_votes_insert", "Could not convert", kind="ConversionException"),
        WarehouseError("ingest/raw_votes_insert", "No space left on device", kind="IOException"),
    ],
    ids=["rejected", "engine-error", "warehouse-fault"],
)
def test_a_batch_the_warehouse_refuses_is_loaded_file_by_file(tmp_path, monkeypatch, refusal):
    """The warehouse refuses b.jsonl, alone or in a batch, after the batch's rows are inserted: the batch is
    rolled back whole and each file committed alone, so a and c are ingested with their rows, in order, and
    b is what it would be loaded alone: rejected with the reason (a rejection, an engine error), or not
    recorded and the run failed naming it (a fault of the warehouse: read again next run)."""
    root = tmp_path / "landing"
    for tag, start in (("a", 0), ("b", 100), ("c", 200)):
        write_jsonl(root / "votes" / f"{tag}.jsonl", random_valid_votes(start, 100, MODELS, seed=start))
    b_key = landing.staging.hash_file(root / "votes" / "b.jsonl", root)
    calls = spy_on_loads(monkeypatch)
    real_load = landing._load_lines

    def load_lines(session, kind, files, limits):  # refuses once the rows are inserted, as the engine would
        counts = real_load(session, kind, files, limits)
        if b_key in [key for _, key in files]:
            raise refusal
        return counts

    monkeypatch.setattr(landing, "_load_lines", load_lines)
    home = tmp_path / "home"
    if refusal.__class__ is WarehouseError and refusal.kind == "IOException":
        with pytest.raises(landing.IngestFailed, match=r"votes/b\.jsonl \(IOException: No space left"):
            _ingest_once(root, home, "run-1")
        expected = [("votes/a.jsonl", "ingested", 100), ("votes/c.jsonl", "ingested", 100)]
    else:
        expected = [
            ("votes/a.jsonl", "ingested", 100),
            ("votes/b.jsonl", "rejected", 0),
            ("votes/c.jsonl", "ingested", 100),
        ]
        assert _ingest_once(root, home, "run-1") == expected
    assert calls[0] == [landing.staging.hash_file(root / "votes" / f"{t}.jsonl", root) for t in "abc"]
    assert [len(call) for call in calls[1:]] == [1, 1, 1]
    state = warehouse_state(home)
    assert [(row[0], row[6], row[7]) for row in state["ledger"]] == expected
    by_file = {row[0]: sum(1 for v in state["raw_votes"] if v[0] == row[1]) for row in state["ledger"]}
    assert by_file == {path: rows for path, _, rows in expected}
    assert len(state["raw_votes"]) == sum(rows for _, _, rows in expected)
    assert list(settings.ingest_staging_dir(home).iterdir()) == []


class _Interrupted(BaseException):
    """What a cancelled run raises in the ingest's thread (Dagster's interrupt, a KeyboardInterrupt)."""


@pytest.mark.parametrize("failure", [_Interrupted, RuntimeError])
def test_a_run_stopped_while_a_batch_loads_at_a_change_of_kind_leaves_no_staged_copy(
    tmp_path, monkeypatch, failure
):
    """The votes' batch is loaded when the first arena file, staged, arrives (another kind, another batch); a
    run cancelled then (DuckDB raises RuntimeError('Query interrupted') for a signal during a statement)
    left the arena file's copy in the staging folder: it was in neither batch. Now nothing is left, nothing is
    recorded, and the next run reads both files."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "a.jsonl", random_valid_votes(0, 50, MODELS, seed=1))
    write_jsonl(root / "arena" / "b.jsonl", [{"model_a": "m-a", "model_b": "m-b", "winner": "model_a"}] * 5)
    real_load = landing._Batch._load
    loads = []

    def load(self, batch):
        loads.append([p.lf.rel_path for p in batch])
        raise failure("Query interrupted")

    monkeypatch.setattr(landing._Batch, "_load", load)
    with pytest.raises(failure):
        _ingest_once(root, home, "run-1")
    assert loads == [["votes/a.jsonl"]]  # the flush at the change of kind, the arena file staged
    assert list(settings.ingest_staging_dir(home).iterdir()) == []
    monkeypatch.setattr(landing._Batch, "_load", real_load)
    assert [status for _, status, _ in _ingest_once(root, home, "run-2")] == ["ingested", "ingested"]


def test_a_commit_that_fails_after_writing_its_batch_stops_the_run_without_loading_it_again(
    tmp_path, monkeypatch
):
    """The COMMIT of a batch reports an error after the batch is written (an auto-checkpoint that fails once the
    transaction is durable). Loading each file again, as after a batch the warehouse refused, met the ledger's
    key on every file and reported them all as duplicate keys, hiding the error. Now the run stops on the
    warehouse's own error; every file is in the ledger once with its rows once, and the next run finds them
    unchanged."""
    from showdown_pipeline.core.warehouse import DuckDBSession

    root, home = tmp_path / "landing", tmp_path / "home"
    for tag, start in (("a", 0), ("b", 100), ("c", 200)):
        write_jsonl(root / "votes" / f"{tag}.jsonl", random_valid_votes(start, 100, MODELS, seed=start))
    real_transaction, failed = DuckDBSession.transaction, []

    @contextlib.contextmanager
    def transaction(self):
        with real_transaction(self):
            yield
        if not failed:
            failed.append(True)
            raise WarehouseError("COMMIT", "checkpoint failed after the commit", kind="IOException")

    monkeypatch.setattr(DuckDBSession, "transaction", transaction)
    with pytest.raises(WarehouseError, match="checkpoint failed after the commit"):
        _ingest_once(root, home, "run-1")
    monkeypatch.setattr(DuckDBSession, "transaction", real_transaction)
    state = warehouse_state(home)
    assert [(row[0], row[6], row[7]) for row in state["ledger"]] == [
        (f"votes/{tag}.jsonl", "ingested", 100) for tag in "abc"
    ]
    assert len(state["raw_votes"]) == len({(v[0], v[1]) for v in state["raw_votes"]}) == 300
    assert list(settings.ingest_staging_dir(home).iterdir()) == []
    assert [status for _, status, _ in _ingest_once(root, home, "run-2")] == ["unchanged"] * 3


def test_a_batch_is_bounded_by_the_bytes_of_its_records_not_of_their_compressed_copies(tmp_path, monkeypatch):
    """Three gzip files of 1 MiB of lines each, a few KiB compressed, under a bound of 1.5 MiB: a batch closes
    at two files (a and b), c loads alone. Bounded by the staged copies' size (compressed too), one batch took
    all three: 254x more lines than a bound on the copies suggests."""
    root = tmp_path / "landing"
    line = {"vote_id": "x", "category": "y" * 10_000}
    for tag in "abc":
        write_jsonl(
            root / "votes" / f"{tag}.jsonl.gz", [dict(line, vote_id=f"{tag}{i}") for i in range(105)], gz=True
        )
        assert (root / "votes" / f"{tag}.jsonl.gz").stat().st_size < 64 * 1024
    monkeypatch.setattr(landing, "BATCH_BYTES", 3 * 2**19)
    calls = spy_on_loads(monkeypatch)
    assert [status for _, status, _ in _ingest_once(root, tmp_path / "home", "run-1")] == ["ingested"] * 3
    assert [len(call) for call in calls] == [2, 1]
