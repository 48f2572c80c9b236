"""Landing files as a careless upstream delivers them: glob characters in names, hidden partial uploads,
symlinks out of the root, FIFOs and sockets, bombs, very long lines, CRLF, and an unreadable registry; names
that are not UTF-8, JSON Python cannot decode, files that vanish, change or move behind the ingest's back,
Parquet columns that clash with the record, list bombs, millions of empty records, registry reverts, files
renamed or moved to another kind, and a warehouse out of memory.

Every test runs the real ingest asset (`landing_zone_ingest`) on a real DuckDB warehouse file, and
asserts on the ledger and the raw tables. README, "Landing files", names what each one proves.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from showdown_pipeline import settings
from showdown_pipeline.definitions import ASSETS
from showdown_pipeline.defs.partitions import landing_range_tags
from showdown_pipeline.defs.resources import build_resources
from showdown_pipeline_tests.conftest import materialization_metadata
from showdown_pipeline_tests.landing_builder import vote, write_jsonl, write_parquet

INGEST = next(a for a in ASSETS if dg.AssetKey("landing_files") in a.keys)


def run_ingest(landing: Path, home: Path, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [INGEST],
        resources=build_resources(landing, home),
        instance=dg.DagsterInstance.ephemeral(),
        tags=landing_range_tags(landing),
        raise_on_error=raise_on_error,
    )


def query(home: Path, sql: str, params: dict | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path(home)), read_only=True) as conn:
        return conn.execute(sql, params or {}).fetchall()


def ledger(home: Path) -> dict[str, tuple]:
    """path -> (status, rows_in, error)."""
    return {r[0]: r[1:] for r in query(home, "SELECT path, status, rows_in, error FROM landing_files")}


def vote_ids_by_path(home: Path) -> dict[str, set[str]]:
    rows = query(
        home,
        "SELECT f.path, v.vote_id FROM raw_votes v JOIN landing_files f ON f.sha256 = v.source_sha256",
    )
    out: dict[str, set[str]] = {}
    for path, vote_id in rows:
        out.setdefault(path, set()).add(vote_id)
    return out


def tagged_votes(tag: str, n: int = 3) -> list[dict]:
    return [vote(k, vote_id=f"{tag}#{k}") for k in range(n)]


class OpenDetector:
    """A FIFO whose writer thread waits inside open(): that open returns only when something opens the
    FIFO for reading. So `was_opened()` proves whether the pipeline ever opened it (and a reader that
    opened it without O_NONBLOCK would have blocked the run)."""

    def __init__(self, path: Path):
        os.mkfifo(path)
        self.path, self.tid = path, None
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self._blocked_in_open():
            time.sleep(0.01)

    def _wait(self) -> None:
        self.tid = threading.get_native_id()
        os.close(os.open(self.path, os.O_WRONLY))

    def _blocked_in_open(self) -> bool:
        try:
            return Path(f"/proc/self/task/{self.tid}/wchan").read_text() == "wait_for_partner"
        except OSError:
            return False

    def was_opened(self) -> bool:
        self.thread.join(0.2)
        return not self.thread.is_alive()

    def release(self) -> None:
        if self.thread.is_alive():
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            self.thread.join(5)
            os.close(fd)


# --- 1. literal reads -------------------------------------------------------------------------------

GLOB_NAMES = [
    "[ab].jsonl",
    "*.jsonl",
    "?.jsonl",
    "**.jsonl",
    "{a,b}.jsonl",
    "a,b.jsonl",
    "]close.jsonl",
    "with space.jsonl",
    "quote'and\"double.jsonl",
    "ünïcode-票.jsonl",
    "-leading-dash.jsonl",
    "[x]/f.jsonl",
    "*/f.jsonl",
    "[ab].jsonl.gz",
    "[ab].parquet",
]


def test_every_file_named_with_glob_characters_reads_its_own_rows_only(tmp_path):
    """Each name holds `[ ] * ? { , }`, spaces, quotes, Unicode or a leading dash; siblings the name would
    match as a pattern (a.jsonl, b.jsonl, x/f.jsonl, a.parquet) exist. Each file's raw rows must be its
    own, and the warehouse home itself has glob characters in its path (the staged copies live there)."""
    landing = tmp_path / "landing"
    votes = landing / "votes"
    for sibling in ("a.jsonl", "b.jsonl", "x/f.jsonl"):
        write_jsonl(votes / sibling, tagged_votes(sibling))
    write_parquet(votes / "a.parquet", tagged_votes("a.parquet"))
    for name in GLOB_NAMES:
        if name.endswith(".parquet"):
            write_parquet(votes / name, tagged_votes(name))
        else:
            write_jsonl(votes / name, tagged_votes(name), gz=name.endswith(".gz"))
    home = tmp_path / "home [1]*{a,b}"  # not `?`: DuckDB 2.0.1 cannot open a database under a `?` at all
    run_ingest(landing, home)

    by_path = vote_ids_by_path(home)
    expected = {f"votes/{name}" for name in [*GLOB_NAMES, "a.jsonl", "b.jsonl", "x/f.jsonl", "a.parquet"]}
    assert set(by_path) == expected
    for path, ids in by_path.items():
        name = path.removeprefix("votes/")
        assert ids == {f"{name}#{k}" for k in range(3)}, path
    assert all(status == "ingested" and rows == 3 for status, rows, _ in ledger(home).values())
    assert not any(settings.ingest_staging_dir(home).iterdir())  # staged copies deleted after each file


def test_hidden_files_and_folders_are_never_read(tmp_path):
    """Partial uploads (a leading dot anywhere in the path) are not read, listed or matched by a sibling
    whose name is a pattern (`?partial.jsonl` matches `.partial.jsonl` as a glob)."""
    landing = tmp_path / "landing"
    write_jsonl(landing / "votes" / ".partial.jsonl", tagged_votes("hidden-file"))
    write_jsonl(landing / "votes" / ".upload" / "day.jsonl", tagged_votes("hidden-folder"))
    write_jsonl(landing / "contributors" / ".c.jsonl", [{"user_id": "hidden"}])
    write_jsonl(landing / "votes" / "?partial.jsonl", tagged_votes("visible"))
    home = tmp_path / "home"
    run_ingest(landing, home)
    assert set(ledger(home)) == {"votes/?partial.jsonl"}
    assert vote_ids_by_path(home) == {"votes/?partial.jsonl": {f"visible#{k}" for k in range(3)}}
    assert query(home, "SELECT count(*) FROM raw_contributors") == [(0,)]


# --- 2. the root: symlinks and special files ------------------------------------------------------------


def test_symlinks_out_of_the_root_are_rejected_without_reading_their_target(tmp_path):
    """A symlink to a file outside the landing root, to a FIFO outside it, to /dev/zero, a dangling one and a
    symlinked directory out of the root: each recorded as rejected with its reason, none opened or read.
    A symlink inside the root to a regular file is read; one to a hidden file is not."""
    landing, outside = tmp_path / "landing", tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jsonl").write_text('{"vote_id": "SECRET", "note": "root:x:0:0"}\n')
    write_jsonl(outside / "dir" / "more.jsonl", tagged_votes("outside-dir"))
    detector = OpenDetector(outside / "pipe.jsonl")
    votes = landing / "votes"
    write_jsonl(votes / "real.jsonl", tagged_votes("real"))
    write_jsonl(votes / ".hidden.jsonl", tagged_votes("hidden"))
    links = {
        "secret.jsonl": outside / "secret.jsonl",
        "pipe.jsonl": outside / "pipe.jsonl",
        "zero.jsonl": Path("/dev/zero"),
        "gone.jsonl": outside / "missing.jsonl",
        "elsewhere": outside / "dir",
        "alias.jsonl": votes / "real.jsonl",
        "peek.jsonl": votes / ".hidden.jsonl",
    }
    for name, target in links.items():
        (votes / name).symlink_to(target)
    try:
        run_ingest(landing, tmp_path / "home")
        assert not detector.was_opened()
    finally:
        detector.release()

    files = ledger(tmp_path / "home")
    outside_reason = "symlink to outside the landing root"
    assert files["votes/secret.jsonl"] == ("rejected", 0, outside_reason)
    assert files["votes/pipe.jsonl"] == ("rejected", 0, outside_reason)
    assert files["votes/zero.jsonl"] == ("rejected", 0, outside_reason)
    assert files["votes/elsewhere"] == ("rejected", 0, outside_reason)
    assert files["votes/gone.jsonl"] == ("rejected", 0, "symlink whose target does not exist")
    assert files["votes/peek.jsonl"] == ("rejected", 0, "symlink to a hidden file")
    # the alias (first by name) is read; real.jsonl has the same bytes: unchanged, no second ledger row
    assert files["votes/alias.jsonl"][:2] == ("ingested", 3) and "votes/real.jsonl" not in files
    ids = {i for (i,) in query(tmp_path / "home", "SELECT coalesce(vote_id, raw_line) FROM raw_votes")}
    assert ids == {f"real#{k}" for k in range(3)}
    keys = query(tmp_path / "home", "SELECT sha256 FROM landing_files WHERE status = 'rejected'")
    assert all(k.startswith("unread:") for (k,) in keys)


def test_fifo_and_socket_in_the_landing_zone_are_rejected_unopened(tmp_path, monkeypatch):
    """A FIFO (opening it would block the run) and a Unix socket among the vote files: rejected with their
    type, never opened; a second run recognises them (same ledger key) and records nothing new."""
    landing = tmp_path / "landing"
    votes = landing / "votes"
    write_jsonl(votes / "good.jsonl", tagged_votes("good"))
    detector = OpenDetector(votes / "fifo.jsonl")
    monkeypatch.chdir(votes)  # a socket path must be short: bind it relative to its folder
    server = socket.socket(socket.AF_UNIX)
    server.bind("sock.jsonl")
    try:
        run_ingest(landing, tmp_path / "home")
        assert not detector.was_opened()
        second = run_ingest(landing, tmp_path / "home")
        assert not detector.was_opened()
    finally:
        detector.release()
        server.close()
    files = ledger(tmp_path / "home")
    assert files["votes/fifo.jsonl"] == ("rejected", 0, "not a regular file (FIFO)")
    assert files["votes/sock.jsonl"] == ("rejected", 0, "not a regular file (socket)")
    assert files["votes/good.jsonl"][:2] == ("ingested", 3)
    meta = materialization_metadata(second, "landing_files")
    assert meta["files_unchanged"] == 3 and meta["files_rejected"] == 0


# --- 3. limits per file -----------------------------------------------------------------------------


def gzip_bomb(path: Path, member: bytes, repeats: int) -> Path:
    """A small multi-member gzip (valid: members concatenate) that expands to len(member) * repeats."""
    packed = gzip.compress(member, compresslevel=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for _ in range(repeats):
            handle.write(packed)
    return path


def test_gzip_bomb_without_newlines_is_rejected_at_the_line_limit(tmp_path):
    """~1 MB of gzip expanding to 1 GiB of zero bytes with no newline: rejected as soon as the unfinished
    first line passes SHOWDOWN_MAX_LINE_BYTES (default 64 MiB), not after reading a gigabyte."""
    bomb = gzip_bomb(tmp_path / "landing" / "votes" / "bomb.jsonl.gz", bytes(16 << 20), 64)
    assert bomb.stat().st_size < 2 << 20
    run_ingest(tmp_path / "landing", tmp_path / "home")
    status, rows, error = ledger(tmp_path / "home")["votes/bomb.jsonl.gz"]
    assert (status, rows) == ("rejected", 0)
    assert error == "limit exceeded: line 1 is longer than 67108864 bytes (SHOWDOWN_MAX_LINE_BYTES=67108864)"


def test_gzip_bomb_of_empty_records_is_rejected_at_the_row_limit(tmp_path):
    """~0.3 MB of gzip expanding to 33.5 million `{}` records: rejected at the default row limit (20 million),
    with nothing of it in the raw tables."""
    gzip_bomb(tmp_path / "landing" / "votes" / "empty.jsonl.gz", b"{}\n" * (1 << 22), 8)
    write_jsonl(tmp_path / "landing" / "votes" / "fine.jsonl", tagged_votes("fine"))
    run_ingest(tmp_path / "landing", tmp_path / "home")
    files = ledger(tmp_path / "home")
    assert files["votes/empty.jsonl.gz"] == (
        "rejected",
        0,
        "limit exceeded: more than 20000000 rows (SHOWDOWN_MAX_ROWS_PER_FILE=20000000)",
    )
    assert query(tmp_path / "home", "SELECT count(*) FROM raw_votes") == [(3,)]


def test_decompressed_size_limit_comes_from_the_environment(tmp_path, monkeypatch):
    """SHOWDOWN_MAX_FILE_BYTES=32MiB: a gzip of 40 MB of ordinary vote lines is rejected, naming the
    limit; raised again (unset), the same file is ingested on the next run (the ledger row replaced)."""
    line = (json.dumps(vote(1)) + "\n").encode()
    gzip_bomb(tmp_path / "landing" / "votes" / "big.jsonl.gz", line * (10_000_000 // len(line)), 4)
    monkeypatch.setenv("SHOWDOWN_MAX_FILE_BYTES", "32MiB")
    run_ingest(tmp_path / "landing", tmp_path / "home")
    status, _, error = ledger(tmp_path / "home")["votes/big.jsonl.gz"]
    assert status == "rejected"
    assert error == (
        "limit exceeded: more than 33554432 bytes decompressed (SHOWDOWN_MAX_FILE_BYTES=33554432)"
    )
    monkeypatch.delenv("SHOWDOWN_MAX_FILE_BYTES")
    run_ingest(tmp_path / "landing", tmp_path / "home")
    status, rows, error = ledger(tmp_path / "home")["votes/big.jsonl.gz"]
    assert (status, rows, error) == ("ingested", 4 * (10_000_000 // len(line)), None)
    assert query(tmp_path / "home", "SELECT count(*) FROM landing_files") == [(1,)]


def test_parquet_is_checked_from_its_footer_before_any_row_is_read(tmp_path, monkeypatch):
    """Rows and uncompressed size come from the Parquet footer: 150 rows against a limit of 100, and 20 MB
    of plain-encoded strings compressed into a few KB against a 1 MB limit. A dictionary-encoded column
    hides its size from the footer (one 400 KB string, 50 times): measured through its indices."""
    votes = tmp_path / "landing" / "votes"
    write_parquet(votes / "rows.parquet", tagged_votes("rows", 150))
    column = pa.table({"vote_id": ["x" * 400_000] * 50})
    pq.write_table(column, votes / "squeezed.parquet", compression="zstd", use_dictionary=False)
    pq.write_table(column, votes / "dictionary.parquet", compression="zstd")
    assert max(p.stat().st_size for p in votes.iterdir()) < 1 << 20
    assert pq.read_metadata(votes / "dictionary.parquet").row_group(0).total_byte_size < 1_000_000
    monkeypatch.setenv("SHOWDOWN_MAX_ROWS_PER_FILE", "100")
    monkeypatch.setenv("SHOWDOWN_MAX_FILE_BYTES", "1MB")
    run_ingest(tmp_path / "landing", tmp_path / "home")
    files = ledger(tmp_path / "home")
    assert (
        files["votes/rows.parquet"][2]
        == "limit exceeded: more than 100 rows (SHOWDOWN_MAX_ROWS_PER_FILE=100)"
    )
    assert files["votes/squeezed.parquet"][2] == (
        "limit exceeded: more than 1000000 bytes uncompressed (SHOWDOWN_MAX_FILE_BYTES=1000000)"
    )
    assert files["votes/dictionary.parquet"][2] == (
        "limit exceeded: more than 1000000 bytes decoded (SHOWDOWN_MAX_FILE_BYTES=1000000)"
    )


def test_a_file_larger_than_the_limit_is_rejected_without_being_read(tmp_path, monkeypatch):
    """Delivered bytes above SHOWDOWN_MAX_FILE_BYTES: rejected from its size alone, keyed without a hash."""
    write_jsonl(tmp_path / "landing" / "votes" / "large.jsonl", tagged_votes("large", 50))
    monkeypatch.setenv("SHOWDOWN_MAX_FILE_BYTES", "1KiB")
    run_ingest(tmp_path / "landing", tmp_path / "home")
    assert ledger(tmp_path / "home")["votes/large.jsonl"] == (
        "rejected",
        0,
        "limit exceeded: more than 1024 bytes (SHOWDOWN_MAX_FILE_BYTES=1024)",
    )
    assert query(tmp_path / "home", "SELECT sha256 LIKE 'unread:%' FROM landing_files") == [(True,)]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SHOWDOWN_MAX_FILE_BYTES", "lots"),
        ("SHOWDOWN_MAX_LINE_BYTES", "-5MB"),
        ("SHOWDOWN_MAX_LINE_BYTES", "0"),
        ("SHOWDOWN_MAX_ROWS_PER_FILE", "20MB"),
    ],
)
def test_a_bad_limit_is_refused_before_the_run_with_its_name(tmp_path, monkeypatch, name, value):
    from showdown_pipeline.cli import CliError, run_pipeline

    write_jsonl(tmp_path / "landing" / "votes" / "v.jsonl", tagged_votes("v"))
    monkeypatch.setenv(name, value)
    with pytest.raises(CliError, match=name):
        run_pipeline(tmp_path / "landing", tmp_path / "home")
    assert not settings.warehouse_path(tmp_path / "home").exists()


# --- 4. no silent truncation ----------------------------------------------------------------------------


def test_a_30_mb_last_line_is_read_not_dropped(tmp_path):
    """DuckDB's CSV reader drops the last line of a file without an error when it is longer than its 32 MB
    buffer; here the 30 MiB line (within the 64 MiB limit) is a row, and so is a 40 MiB one."""
    records = [*tagged_votes("long", 5), vote(5, vote_id="long#5", category="c" * (30 << 20))]
    write_jsonl(tmp_path / "landing" / "votes" / "long.jsonl", records)
    write_jsonl(
        tmp_path / "landing" / "votes" / "longer.jsonl", [vote(9, vote_id="x", category="c" * (40 << 20))]
    )
    run_ingest(tmp_path / "landing", tmp_path / "home")
    files = ledger(tmp_path / "home")
    assert files["votes/long.jsonl"] == ("ingested", 6, None)
    assert files["votes/longer.jsonl"] == ("ingested", 1, None)
    assert query(
        tmp_path / "home",
        "SELECT vote_id, length(category) FROM raw_votes WHERE length(category) > 100 ORDER BY 1",
    ) == [
        ("long#5", 30 << 20),
        ("x", 40 << 20),
    ]


def test_a_line_above_the_limit_rejects_the_file_with_its_number(tmp_path, monkeypatch):
    """SHOWDOWN_MAX_LINE_BYTES=4096: a line of exactly 4096 bytes is read; a file whose line 3 has 4097 is
    rejected, naming line 3 and the limit."""
    monkeypatch.setenv("SHOWDOWN_MAX_LINE_BYTES", "4096")
    pad = 4096 - len(json.dumps(vote(0, vote_id="edge#0", category="")))
    write_jsonl(
        tmp_path / "landing" / "votes" / "edge.jsonl", [vote(0, vote_id="edge#0", category="c" * pad)]
    )
    over = [*tagged_votes("over", 2), vote(2, vote_id="over#2", category="c" * (pad + 1))]
    write_jsonl(tmp_path / "landing" / "votes" / "over.jsonl", over)
    run_ingest(tmp_path / "landing", tmp_path / "home")
    files = ledger(tmp_path / "home")
    assert files["votes/edge.jsonl"] == ("ingested", 1, None)
    assert files["votes/over.jsonl"] == (
        "rejected",
        0,
        "limit exceeded: line 3 is longer than 4096 bytes (SHOWDOWN_MAX_LINE_BYTES=4096)",
    )


def test_crlf_mixed_endings_and_a_byte_order_mark_are_read(tmp_path):
    """A Windows export (CRLF, a UTF-8 BOM) and a file mixing LF and CRLF: every record parses, none is
    quarantined as unparseable (DuckDB's `read_csv` rejected such files whole)."""
    votes = tmp_path / "landing" / "votes"
    votes.mkdir(parents=True)
    crlf = "\ufeff" + "".join(json.dumps(v) + "\r\n" for v in tagged_votes("crlf", 4))
    (votes / "crlf.jsonl").write_bytes(crlf.encode("utf-8"))
    mixed = tagged_votes("mixed", 4)
    text = json.dumps(mixed[0]) + "\n" + json.dumps(mixed[1]) + "\r\n" + json.dumps(mixed[2]) + "\n\r\n"
    (votes / "mixed.jsonl").write_bytes((text + json.dumps(mixed[3])).encode())  # no final newline
    run_ingest(tmp_path / "landing", tmp_path / "home")
    files = ledger(tmp_path / "home")
    assert files["votes/crlf.jsonl"] == ("ingested", 4, None)
    assert files["votes/mixed.jsonl"] == ("ingested", 4, None)
    assert query(tmp_path / "home", "SELECT count(*) FROM raw_votes WHERE parse_error IS NOT NULL") == [(0,)]
    assert query(
        tmp_path / "home", "SELECT blank_lines FROM landing_files WHERE path = 'votes/mixed.jsonl'"
    ) == [(1,)]


def test_stray_control_characters_quarantine_their_line_not_the_file(tmp_path):
    """A raw unit separator (0x1F) inside a string and a lone CR inside a line: each line stays one
    record (the first kept whole as unparseable, the second valid JSON); the other lines of the file count
    (DuckDB's reader rejected the whole file, or with strict_mode=false cut the line in two)."""
    good = [json.dumps(v) for v in tagged_votes("ctl", 3)]
    lines = [good[0], '{"vote_id": "a\x1fb"}', good[1], '{"vote_id":\r"cr"}', good[2]]
    path = tmp_path / "landing" / "votes" / "ctl.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes("\n".join(lines).encode() + b"\n")
    run_ingest(tmp_path / "landing", tmp_path / "home")
    assert ledger(tmp_path / "home")["votes/ctl.jsonl"] == ("ingested", 5, None)
    rows = query(tmp_path / "home", "SELECT source_row, vote_id, raw_line FROM raw_votes ORDER BY source_row")
    assert rows == [
        (1, "ctl#0", None),
        (2, None, '{"vote_id": "a\x1fb"}'),
        (3, "ctl#1", None),
        (4, "cr", None),  # a CR between tokens is JSON whitespace: the record parses, whole
        (5, "ctl#2", None),
    ]


def test_json_array_with_a_key_first_seen_after_the_sample_is_read(tmp_path):
    """An arena log (JSON array) whose `judge` appears only from element 30,001 on: every element is a
    record with its own text (DuckDB's `read_json` rejected the file: key unknown to its 20,480 sample)."""
    rows = [{"model_a": "a", "model_b": "b", "winner": "model_a", "anony": True} for _ in range(30_000)]
    rows.append({"model_a": "a", "model_b": "b", "winner": "tie", "anony": True, "judge": "late"})
    path = tmp_path / "landing" / "arena" / "battles.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(rows, indent=1))
    run_ingest(tmp_path / "landing", tmp_path / "home")
    assert ledger(tmp_path / "home")["arena/battles.json"] == ("ingested", 30_001, None)
    assert query(tmp_path / "home", "SELECT user_id, winner FROM raw_votes WHERE source_row = 30001") == [
        ("arena:late", "both_good")
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[{"model_a": "a"}, {"model_a": "b"', "invalid JSON in element 2"),
        ('{"model_a": "a"}', "not a JSON array"),
        ('[{"model_a": "a"} {"model_a": "b"}]', "expected ',' or ']' after element 1"),
        ('[{"model_a": "a"}] [', "text after the closing ']'"),
    ],
)
def test_a_broken_json_array_is_rejected_with_where_it_breaks(tmp_path, text, error):
    path = tmp_path / "landing" / "arena" / "battles.json"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    run_ingest(tmp_path / "landing", tmp_path / "home")
    status, rows, got = ledger(tmp_path / "home")["arena/battles.json"]
    assert (status, rows) == ("rejected", 0) and error in got


# --- 5. the registry never silently disappears ----------------------------------------------------------


def test_models_csv_is_read_with_fixed_settings(tmp_path):
    """A Windows spreadsheet export: BOM, CRLF, header in upper case with spaces, columns in another order
    plus an extra one, a quoted name holding a comma and a doubled quote, a quoted name over two lines."""
    text = (
        "\ufeff Provider ,MODEL_ID,notes,display_name,released_at,deprecated_at\r\n"
        'acme,m-a,x,"Model A, large",2025-01-01,\r\n'
        'acme,m-b,y,"The ""B"" model",2025-01-01,2026-01-01T00:00:00Z\r\n'
        "\r\n"
        'other,m-c,z,"two\r\nlines",,\r\n'
    )
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "models.csv").write_bytes(text.encode("utf-8"))
    run_ingest(tmp_path / "landing", tmp_path / "home")
    assert ledger(tmp_path / "home")["models.csv"] == ("ingested", 3, None)
    rows = query(tmp_path / "home", "SELECT * EXCLUDE (source_sha256) FROM raw_models ORDER BY source_row")
    assert rows == [  # the last column: the optional pre_release, absent from this file
        (1, "m-a", "Model A, large", "acme", "2025-01-01", None, None),
        (2, "m-b", 'The "B" model', "acme", "2025-01-01", "2026-01-01T00:00:00Z", None),
        (3, "m-c", "two\r\nlines", "other", None, None, None),
    ]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (
            b"model_id,display_name,provider,released_at,deprecated_at\n",
            "models.csv holds no models (a header only)",
        ),
        (
            b"model_id,display_name,provider,released_at,deprecated_at\nm-a,A,p,2025-01-01,,extra\nm-b,B,p,,\n",
            "models.csv line 2: 6 fields, the header has 5",
        ),
        (b"model_id;display_name;provider;released_at;deprecated_at\nm-a;A;p;;\n", "models.csv header lacks"),
        (
            b"model_id,display_name,provider,released_at,deprecated_at\nm-a,Caf\xe9,p,,\n",
            "models.csv is not UTF-8 (line 2)",
        ),
        (
            b'model_id,display_name,provider,released_at,deprecated_at\nm-a,"unterminated,p,,\n',
            "models.csv line 2: unexpected end of data",
        ),
    ],
    ids=["header-only", "extra-field", "semicolons", "latin-1", "open-quote"],
)
def test_an_unusable_models_csv_is_rejected_with_why(tmp_path, content, error):
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "models.csv").write_bytes(content)
    run_ingest(tmp_path / "landing", tmp_path / "home")
    status, rows, got = ledger(tmp_path / "home")["models.csv"]
    assert (status, rows) == ("rejected", 0) and got.startswith(error)


def _registry_landing(root: Path) -> Path:
    from showdown_pipeline_tests.landing_builder import random_valid_votes, write_models

    write_models(
        root / "models.csv", [(m, m.upper(), "p", "2025-01-01", None) for m in ("m-a", "m-b", "m-c")]
    )
    records = random_valid_votes(0, 300, ["m-a", "m-b", "m-c"], seed=4)
    write_jsonl(root / "votes" / "day1.jsonl", [*records, vote(999, vote_id="stray", model_right="m-zzz")])
    return root


def test_a_rejected_models_csv_keeps_the_last_good_registry_and_the_manifest_says_so(tmp_path):
    """Run 1 ingests a good models.csv; run 2 finds it replaced by one that cannot be read. The good
    registry stays in force (a vote naming an unregistered model is still quarantined, never rated), and
    the manifest's registry section names the rejected file, why, and the registry in force."""
    from showdown_pipeline.core.snapshots import latest_snapshot
    from showdown_pipeline_tests.conftest import materialize_pipeline

    landing, home = _registry_landing(tmp_path / "landing"), tmp_path / "home"
    assert materialize_pipeline(landing, home).success
    good_sha = query(home, "SELECT sha256 FROM landing_files WHERE path = 'models.csv'")[0][0]
    (landing / "models.csv").write_bytes(b"model_id;display_name;provider\nm-a;A;p\n")
    second = materialize_pipeline(landing, home)
    assert second.success
    section = latest_snapshot(home / "snapshots").manifest["registry"]
    assert section["source"] == "models.csv" and section["models"] == 3
    assert section["in_force"]["sha256"] == good_sha
    [rejected] = section["rejected_after_it"]
    assert rejected["path"] == "models.csv" and rejected["error"].startswith("models.csv header lacks")
    assert "stays in force" in section["note"]
    assert query(home, "SELECT reason FROM vote_quarantine WHERE vote_id = 'stray'") == [
        ("unregistered_model",)
    ]


def test_a_rejected_models_csv_with_no_earlier_registry_stops_the_run(tmp_path, capsys):
    """The only models.csv cannot be read: `showdown run` stops with a one-line error instead of rating every
    model named in the votes as registered (unregistered and deprecated models included)."""
    from showdown_pipeline.cli import main

    landing = _registry_landing(tmp_path / "landing")
    (landing / "models.csv").write_bytes(b"model_id,display_name,provider,released_at,deprecated_at\n")
    code = main(["run", "--landing", str(landing), "--home", str(tmp_path / "home"), "--as-of", "2026-06-01"])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1
    assert "no model registry: models.csv was rejected (models.csv holds no models" in err
    assert not (tmp_path / "home" / "snapshots").exists() or not any(
        (tmp_path / "home" / "snapshots").iterdir()
    )


def test_published_errors_carry_no_server_folders():
    """A reader's error that names an absolute path (DuckDB does, for the staged copy) keeps only the
    file's own name: the server's landing root and home never reach the public manifest or report."""
    from showdown_pipeline.core.landing import public_error

    message = (
        "IO Error: No magic bytes in '/srv/showdown/home/.staging/ingest/ab12.parquet' "
        "(also /srv/landing/votes/2026-03-01/a b.jsonl)"
    )
    cleaned = public_error(message)
    assert "/srv" not in cleaned and "ab12.parquet" in cleaned and "a b.jsonl" in cleaned
    assert public_error("line 2: expected '/' or digit") == "line 2: expected '/' or digit"
    assert public_error(None) is None


# --- 6. names, JSON arrays and reads that cannot be recorded -------------------------------------------


def test_a_file_name_that_is_not_utf8_is_rejected_unread_with_the_name_escaped(tmp_path):
    """`votes/latin-\\xe9t\\xe9.jsonl` (a name a Latin-1 upstream writes easily) and a folder so named: each
    rejected with its reason, the name shown with \\x escapes; the other files are read (binding the raw name
    stopped every run, and landing_fingerprint). The same entries are recognised on the next run; renamed to
    UTF-8, the file is read (the rejection was of the name, not of the bytes)."""
    from showdown_pipeline.core import landing

    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "good.jsonl", tagged_votes("good"))
    odd_file = root / "votes" / os.fsdecode(b"latin-\xe9t\xe9.jsonl")
    write_jsonl(odd_file, tagged_votes("odd"))
    write_jsonl(root / "votes" / os.fsdecode(b"caf\xe9") / "day.jsonl", tagged_votes("folder"))
    assert landing.landing_fingerprint(root) == landing.landing_fingerprint(root)
    run_ingest(root, home)
    reason = landing.NAME_NOT_UTF8
    assert ledger(home) == {
        "votes/good.jsonl": ("ingested", 3, None),
        "votes/latin-\\xe9t\\xe9.jsonl": ("rejected", 0, reason),
        "votes/caf\\xe9/day.jsonl": ("rejected", 0, reason),
    }
    again = materialization_metadata(run_ingest(root, home), "landing_files")
    assert (again["files_unchanged"], again["files_rejected"]) == (3, 0)
    odd_file.rename(root / "votes" / "latin-ete.jsonl")
    run_ingest(root, home)
    assert ledger(home)["votes/latin-ete.jsonl"] == ("ingested", 3, None)
    assert vote_ids_by_path(home)["votes/latin-ete.jsonl"] == {f"odd#{k}" for k in range(3)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[" * 2_000 + "]" * 2_000, ("rejected", 0, "element 1 is nested too deeply to read")),
        ("1" * 5_000, ("ingested", 1, None)),
    ],
    ids=["2000-deep-nesting", "5000-digit-integer"],
)
def test_a_json_array_python_cannot_turn_into_objects_is_read_or_rejected_never_stopping_the_run(
    tmp_path, value, expected
):
    """An arena log (JSON array) whose element nests 2,000 arrays (Python's parser raised RecursionError) or
    holds a 5,000-digit number (Python refuses integers above 4,300 digits: ValueError): either one failed
    the ingest, and every later run while the file was there. A number is valid JSON: the element is read
    as delivered; nesting beyond the parser rejects the file with its reason. The other files are read."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "good.jsonl", tagged_votes("good"))
    (root / "arena").mkdir(parents=True)
    element = '{"model_a": "a", "model_b": "b", "winner": "model_a", "x": ' + value + "}"
    (root / "arena" / "odd.json").write_text("[" + element + "]")
    run_ingest(root, home)
    assert ledger(home)["arena/odd.json"] == expected
    assert ledger(home)["votes/good.jsonl"] == ("ingested", 3, None)
    if expected[0] == "ingested":
        assert query(home, "SELECT model_left, winner FROM raw_votes WHERE source_kind = 'arena'") == [
            ("a", "left")
        ]


def test_an_out_of_memory_warehouse_fails_the_run_records_nothing_and_the_next_run_reads_the_file(
    tmp_path, monkeypatch
):
    """SHOWDOWN_DUCKDB_MEMORY_LIMIT=16MB and a file with a 40 MB line: the warehouse runs out of memory loading
    it. That is no defect of the file: it used to be recorded `rejected` under its content hash, never
    tried again, its votes lost. Now the files before and after it are ingested, the run fails naming the
    file and the error, the ledger has no row for it, and with memory back the next run ingests it."""
    from showdown_pipeline.cli import failure_reason

    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "a.jsonl", tagged_votes("a"))
    write_jsonl(root / "votes" / "big.jsonl", [vote(1, vote_id="big#0", category="x" * (40 << 20)), vote(2)])
    write_jsonl(root / "votes" / "z.jsonl", tagged_votes("z"))
    monkeypatch.setenv("SHOWDOWN_DUCKDB_MEMORY_LIMIT", "16MB")
    first = run_ingest(root, home, raise_on_error=False)
    assert not first.success
    reason = failure_reason(first)  # what `showdown run` prints, in one line
    assert reason.startswith(
        "landing_zone_ingest: showdown_pipeline.core.landing.IngestFailed: 1 landing file(s) not loaded"
    )
    assert "votes/big.jsonl (OutOfMemoryException: Out of Memory Error" in reason
    assert ledger(home) == {"votes/a.jsonl": ("ingested", 3, None), "votes/z.jsonl": ("ingested", 3, None)}
    monkeypatch.delenv("SHOWDOWN_DUCKDB_MEMORY_LIMIT")
    run_ingest(root, home)
    assert ledger(home)["votes/big.jsonl"] == ("ingested", 2, None)


def _ingest_once(root: Path, home: Path, run_id: str, progress=None) -> list:
    """The real ingest (`core.landing.ingest_landing`) on a warehouse file, with a progress callback."""
    from showdown_pipeline.core import landing
    from showdown_pipeline.core.staging import IngestLimits
    from showdown_pipeline.core.warehouse import duckdb_session

    home.mkdir(exist_ok=True)
    place = landing.IngestPlace(root, settings.ingest_staging_dir(home), IngestLimits())
    with duckdb_session(settings.warehouse_path(home)) as session:
        outcomes, _ = landing.ingest_landing(
            session, landing.discover_landing_files(root), run_id, place, progress
        )
    return [(o.rel_path, o.status, o.rows_in) for o in outcomes]


def _at_staging(action):
    """A progress callback that runs `action` when the ingest is between its first look (hash) and its read."""
    return lambda event, rel_path: action() if event == "staging" else None


def test_a_file_vanishing_between_its_hash_and_its_read_is_skipped_not_rejected_forever(tmp_path):
    """Upstream replaces a file (delete, then write the same bytes) while the ingest is between hashing and
    reading it: it was recorded `rejected` ("cannot open") under the content hash nobody read, so when the
    bytes were back every later run said `unchanged`. Now it is skipped, unrecorded, and read next run."""
    root, home = tmp_path / "landing", tmp_path / "home"
    path = write_jsonl(root / "votes" / "day.jsonl", tagged_votes("day", 2))
    content = path.read_bytes()
    assert _ingest_once(root, home, "run-1", _at_staging(path.unlink)) == [("votes/day.jsonl", "skipped", 0)]
    assert ledger(home) == {}
    path.write_bytes(content)
    assert _ingest_once(root, home, "run-2") == [("votes/day.jsonl", "ingested", 2)]
    assert vote_ids_by_path(home) == {"votes/day.jsonl": {"day#0", "day#1"}}


def test_a_file_rewritten_while_read_is_judged_by_the_bytes_read_only(tmp_path):
    """The first look hashes good bytes; before the read, upstream rewrites the file with an invalid UTF-8
    line. The rejection was recorded under the good bytes' hash, so when the good bytes came back they
    stayed `rejected` forever. Now the run skips it (the bytes read are not the bytes hashed), the next run
    rejects the bad bytes under their own hash, and the good bytes, redelivered, are read."""
    root, home = tmp_path / "landing", tmp_path / "home"
    path = write_jsonl(root / "votes" / "day.jsonl", tagged_votes("day", 2))
    good = path.read_bytes()
    bad = good + b'{"vote_id": "caf\xe9"}\n'
    assert _ingest_once(root, home, "run-1", _at_staging(lambda: path.write_bytes(bad))) == [
        ("votes/day.jsonl", "skipped", 0)
    ]
    assert _ingest_once(root, home, "run-2") == [("votes/day.jsonl", "rejected", 0)]
    assert ledger(home)["votes/day.jsonl"] == ("rejected", 0, "invalid UTF-8 on line 3")
    path.write_bytes(good)
    assert _ingest_once(root, home, "run-3") == [("votes/day.jsonl", "ingested", 2)]
    assert query(home, "SELECT count(*) FROM raw_votes") == [(2,)]


def test_files_staged_ahead_are_judged_in_order_and_no_copy_is_left(tmp_path, monkeypatch):
    """The next file is staged on a worker thread while the warehouse loads the current one; every decision
    stays in file order. A copy of bytes already read (staged ahead for nothing) is unchanged and its staged
    copy removed; a broken gzip staged ahead is rejected with the error staging it in turn gives; a file known
    by stat on the second run is not staged at all; nothing is left in the staging folder."""
    from showdown_pipeline.core import staging

    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "a.jsonl", tagged_votes("a"))
    shutil.copy(root / "votes" / "a.jsonl", root / "votes" / "b.jsonl")  # the same bytes: one read
    (root / "votes" / "c.jsonl.gz").write_bytes(gzip.compress(b'{"vote_id": "c"}\n')[:-6])  # truncated
    write_jsonl(root / "votes" / "d.jsonl", tagged_votes("d"))
    staged_on = []
    real_stage = staging.stage_file

    def stage_file(path, *args, **kwargs):
        staged_on.append((path.name, threading.current_thread().name))
        return real_stage(path, *args, **kwargs)

    monkeypatch.setattr(staging, "stage_file", stage_file)
    assert _ingest_once(root, home, "run-1") == [
        ("votes/a.jsonl", "ingested", 3),
        ("votes/b.jsonl", "unchanged", 3),
        ("votes/c.jsonl.gz", "rejected", 0),
        ("votes/d.jsonl", "ingested", 3),
    ]
    assert ledger(home)["votes/c.jsonl.gz"][2].startswith("truncated gzip")
    assert vote_ids_by_path(home) == {
        "votes/a.jsonl": {"a#0", "a#1", "a#2"},
        "votes/d.jsonl": {"d#0", "d#1", "d#2"},
    }
    assert [name for name, _ in staged_on] == ["a.jsonl", "b.jsonl", "c.jsonl.gz", "d.jsonl"]
    assert [thread.startswith("ingest-read-ahead") for _, thread in staged_on] == [False, True, False, True]
    assert list(settings.ingest_staging_dir(home).iterdir()) == []
    staged_on.clear()
    time.sleep(staging.STAT_SETTLE_NS / 1e9)
    _ingest_once(root, home, "run-2")  # fingerprints recorded: nothing is read again,
    _ingest_once(root, home, "run-3")  # nothing staged ahead either
    assert [name for name, _ in staged_on if name != "c.jsonl.gz"] == []


def test_a_file_rewritten_after_its_read_ahead_is_read_again_after_its_hash(tmp_path, monkeypatch):
    """Attack 18: b is staged ahead while a loads, then upstream rewrites b (a corrected export) before the
    ingest hashes it. The copy made ahead, bytes the hash shows superseded, was committed, and the rewrite
    read again by the next run: both versions' rows recorded. Without the read-ahead a copy is never older
    than the hash; now the copy is made again after the hash: only the bytes b holds are recorded."""
    from showdown_pipeline.core import staging

    root, home = tmp_path / "landing", tmp_path / "home"
    for tag in "abc":
        write_jsonl(root / "votes" / f"{tag}.jsonl", tagged_votes(tag))
    real_stage, staged_on, b_read_ahead = staging.stage_file, [], threading.Event()

    def stage_file(path, *args, **kwargs):
        staged_on.append((path.name, threading.current_thread().name.startswith("ingest-read-ahead")))
        try:
            return real_stage(path, *args, **kwargs)
        finally:
            if path.name == "b.jsonl":
                b_read_ahead.set()

    def rewrite_b_once_read_ahead(event: str, rel_path: str) -> None:
        if event == "hashing" and rel_path == "votes/b.jsonl":
            assert b_read_ahead.wait(60)
            write_jsonl(root / "votes" / "b.jsonl", tagged_votes("b2", 4))

    monkeypatch.setattr(staging, "stage_file", stage_file)
    assert _ingest_once(root, home, "run-1", rewrite_b_once_read_ahead) == [
        ("votes/a.jsonl", "ingested", 3),
        ("votes/b.jsonl", "ingested", 4),
        ("votes/c.jsonl", "ingested", 3),
    ]
    assert ("b.jsonl", True) in staged_on and ("b.jsonl", False) in staged_on  # ahead, then again
    assert vote_ids_by_path(home)["votes/b.jsonl"] == {f"b2#{i}" for i in range(4)}
    assert _ingest_once(root, home, "run-2")[1] == ("votes/b.jsonl", "unchanged", 4)
    assert list(settings.ingest_staging_dir(home).iterdir()) == []


class _Interrupted(BaseException):
    """What a cancelled run raises in the ingest's thread (Dagster's interrupt, a KeyboardInterrupt)."""


@pytest.mark.parametrize("batched", [False, True])
def test_an_ingest_interrupted_while_choosing_the_next_file_leaves_no_staged_copy(
    tmp_path, monkeypatch, batched
):
    """Attack 18: the read-ahead hands over the copy of b it made, then looks for the file to stage next; a
    run cancelled during that look (it opens and looks up every following file until one is not known by
    stat) lost the copy it was handing over: it stayed in the staging folder. Nothing is recorded for b,
    nothing is left, and the next run reads b and c as a run never interrupted does. Loaded alone (a batch
    of one record), a is committed before the interrupt; batched (the default), a still waits in the batch
    with b, so the interrupt commits neither and the next run reads a too."""
    from showdown_pipeline.core import landing

    if not batched:
        monkeypatch.setattr(landing, "BATCH_RECORDS", 1)
    root, home = tmp_path / "landing", tmp_path / "home"
    for tag in "abc":
        write_jsonl(root / "votes" / f"{tag}.jsonl", tagged_votes(tag))
    real_next, looks = landing._next_to_stage, []

    def next_to_stage(*args):
        looks.append(len(looks))
        if len(looks) == 2:  # the look made once b's copy is taken
            raise _Interrupted
        return real_next(*args)

    monkeypatch.setattr(landing, "_next_to_stage", next_to_stage)
    with pytest.raises(_Interrupted):
        _ingest_once(root, home, "run-1")
    assert list(settings.ingest_staging_dir(home).iterdir()) == []
    assert set(ledger(home)) == (set() if batched else {"votes/a.jsonl"})
    monkeypatch.setattr(landing, "_next_to_stage", real_next)
    assert _ingest_once(root, home, "run-2") == [
        ("votes/a.jsonl", "ingested" if batched else "unchanged", 3),
        ("votes/b.jsonl", "ingested", 3),
        ("votes/c.jsonl", "ingested", 3),
    ]
    assert list(settings.ingest_staging_dir(home).iterdir()) == []


@pytest.mark.parametrize("b_is_a_copy_of_a", [False, True])
def test_an_ingest_interrupted_while_awaiting_the_read_ahead_leaves_no_staged_copy(
    tmp_path, monkeypatch, b_is_a_copy_of_a
):
    """Attack 18: the run is interrupted while it waits for the copy of b being made ahead, to take it (b is
    new) or to delete it (b turned out to be a's bytes: c is staged instead). The copy was forgotten before it
    was awaited, so the worker finished it after the interrupt and it stayed in the staging folder."""
    import concurrent.futures

    root, home = tmp_path / "landing", tmp_path / "home"
    for tag in "abc":
        write_jsonl(root / "votes" / f"{tag}.jsonl", tagged_votes(tag))
    if b_is_a_copy_of_a:
        shutil.copy(root / "votes" / "a.jsonl", root / "votes" / "b.jsonl")
    real_wait, go = {}, threading.Event()
    from showdown_pipeline.core import staging

    real_stage = staging.stage_file

    def stage_file(path, *args, **kwargs):
        if path.name == "b.jsonl":
            assert go.wait(60)  # b's copy is finished only once the run is interrupted
        return real_stage(path, *args, **kwargs)

    def interrupted(method: str):
        def wait(future, *args, **kwargs):
            if not go.is_set():  # the first wait for the read-ahead: the interrupt lands there
                go.set()
                raise _Interrupted
            return real_wait[method](future, *args, **kwargs)

        return wait

    monkeypatch.setattr(staging, "stage_file", stage_file)
    for method in ("result", "exception"):
        real_wait[method] = getattr(concurrent.futures.Future, method)
        monkeypatch.setattr(concurrent.futures.Future, method, interrupted(method))
    with pytest.raises(_Interrupted):
        _ingest_once(root, home, "run-1")
    assert go.is_set()
    assert list(settings.ingest_staging_dir(home).iterdir()) == []


@pytest.mark.parametrize("failure", [MemoryError, _Interrupted])
def test_a_failed_or_interrupted_read_ahead_starts_no_other_read(tmp_path, monkeypatch, failure):
    """Attack 18: staging b on the read-ahead thread failed for a reason that is not its bytes (out of memory,
    a cancelled run): the ingest handed the failure over, and first started reading c, a file the old code
    (and this run, which stops) never reads, then waited for that read to end before stopping. The run stops
    on b, c is not opened, nothing is left in the staging folder, and the next run reads a, b and c (a
    waited in the batch with b: the run that stopped committed none of it)."""
    from showdown_pipeline.core import staging

    root, home = tmp_path / "landing", tmp_path / "home"
    for tag in "abc":
        write_jsonl(root / "votes" / f"{tag}.jsonl", tagged_votes(tag))
    real_stage, staged_on = staging.stage_file, []

    def stage_file(path, *args, **kwargs):
        staged_on.append(path.name)
        if path.name == "b.jsonl":
            raise failure
        return real_stage(path, *args, **kwargs)

    monkeypatch.setattr(staging, "stage_file", stage_file)
    with pytest.raises(failure):
        _ingest_once(root, home, "run-1")
    assert staged_on == ["a.jsonl", "b.jsonl"]
    assert list(settings.ingest_staging_dir(home).iterdir()) == []
    monkeypatch.setattr(staging, "stage_file", real_stage)
    assert [status for _, status, _ in _ingest_once(root, home, "run-2")] == ["ingested"] * 3


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("../.partial", "symlink to a hidden file"),
        ("../archive/sub", "symlinked directory (not followed)"),
    ],
    ids=["hidden", "other-folder"],
)
def test_a_folder_swapped_for_a_link_after_listing_is_not_followed(tmp_path, target, reason):
    """`votes/sub/a.jsonl` is listed as a regular file; between its hash and its read, upstream swaps the folder
    `votes/sub` for a symlink — to the hidden partial upload `.partial/` or to a folder the pipeline does not
    read (`archive/`). The old open followed the folder link (O_NOFOLLOW guards the last component only) and
    read those votes. Now the file is opened one folder at a time without following a link: skipped this run,
    unrecorded, and the next run's listing rejects the symlinked folder without reading it."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "sub" / "a.jsonl", tagged_votes("listed"))
    write_jsonl(root / ".partial" / "a.jsonl", tagged_votes("hidden"))
    write_jsonl(root / "archive" / "sub" / "a.jsonl", tagged_votes("archived"))

    def swap(event: str, rel_path: str) -> None:
        if (event, rel_path) == ("staging", "votes/sub/a.jsonl"):
            shutil.rmtree(root / "votes" / "sub")
            os.symlink(target, root / "votes" / "sub")

    assert ("votes/sub/a.jsonl", "skipped", 0) in _ingest_once(root, home, "run-1", swap)
    assert query(home, "SELECT count(*) FROM raw_votes") == [(0,)]
    _ingest_once(root, home, "run-2")
    assert ledger(home)["votes/sub"] == ("rejected", 0, reason)
    assert query(home, "SELECT count(*) FROM raw_votes") == [(0,)]


# --- 7. Parquet: the contract's fields only, by exact name, memory bounded by the footer ------------------


def _raw_fields(home: Path, kind_path: str) -> list[tuple]:
    """raw_votes of one file, every field, in file order (without the source key)."""
    return query(
        home,
        "SELECT * EXCLUDE (source_sha256) FROM raw_votes WHERE source_sha256 = "
        "(SELECT sha256 FROM landing_files WHERE path = $path) ORDER BY source_row",
        {"path": kind_path},
    )


def test_a_parquet_row_reads_as_the_same_record_as_its_json_line_whatever_its_other_columns(tmp_path):
    """A Parquet file whose extra columns are named like the old reader's table alias (`p`, a struct holding
    other votes: they were counted instead of the file's own), differ from a field only in case (`Winner`,
    `WINNER`: DuckDB renamed `winner` to `winner_1`, quarantining every row for a missing winner) or echo
    the reader's own names (`source_row`, `file_row_number`, `record`, `line`). Each row must read exactly
    as the same record delivered as a JSON line, which ignores keys the contract does not name."""
    root, home = tmp_path / "landing", tmp_path / "home"
    own = [vote(k, vote_id=f"own#{k}") for k in range(3)]
    extra = {
        "p": pa.array([vote(100 + k, winner="right", model_left="evil") for k in range(3)]),
        "Winner": ["right"] * 3,
        "WINNER": ["both_bad"] * 3,
        "source_row": [99] * 3,
        "file_row_number": [7] * 3,
        "record": ["{}"] * 3,
        "line": ["not json"] * 3,
    }
    table = pa.Table.from_pylist(own)
    for name, values in extra.items():
        table = table.append_column(name, pa.array(values) if isinstance(values, list) else values)
    (root / "votes").mkdir(parents=True)
    pq.write_table(table, root / "votes" / "export.parquet")
    write_jsonl(root / "votes" / "export.jsonl", own)
    run_ingest(root, home)
    from_parquet, from_json = (
        _raw_fields(home, "votes/export.parquet"),
        _raw_fields(home, "votes/export.jsonl"),
    )
    assert from_parquet == from_json
    assert vote_ids_by_path(home)["votes/export.parquet"] == {f"own#{k}" for k in range(3)}
    assert query(home, "SELECT DISTINCT winner, model_left FROM raw_votes") == [("left", "m-a")]


@pytest.mark.parametrize(
    ("columns", "error"),
    [
        (
            {"vote_id": ["a"], "winner": ["left"], "winner ": ["right"]},
            None,  # a different name (a trailing space) is just another column, not read
        ),
        (
            {"vote_id": ["a"], "winner": ["left"], "winner_dup": ["right"]},
            "Parquet column winner appears 2 times",
        ),
        (
            {"vote_id": ["a"], "winner": [["left", "right"]]},
            "Parquet column winner is nested (a list); the contract's winner is one value",
        ),
        (
            {"vote_id": ["a"], "tokens_left": [{"n": 3}]},
            "Parquet column tokens_left is nested (a struct); the contract's tokens_left is one value",
        ),
    ],
    ids=["near-name", "named-twice", "list-where-one-value", "struct-where-one-value"],
)
def test_a_parquet_field_named_twice_or_nested_where_the_contract_has_one_value_rejects_the_file(
    tmp_path, columns, error
):
    """Two columns both named `winner` (which one is the vote?) or a field the contract spells as one value
    delivered as a list or a struct: the file is rejected with the column and why, before a row is read
    (DuckDB renamed the second `winner` to `winner_1` and counted the first; a list winner was read as the
    text of a JSON array)."""
    root, home = tmp_path / "landing", tmp_path / "home"
    names = [name.replace("_dup", "") for name in columns]
    table = pa.Table.from_arrays([pa.array(v) for v in columns.values()], names=names)
    (root / "votes").mkdir(parents=True)
    pq.write_table(table, root / "votes" / "odd.parquet")
    run_ingest(root, home)
    expected = ("ingested", 1, None) if error is None else ("rejected", 0, error)
    assert ledger(home)["votes/odd.parquet"] == expected


def test_contributor_languages_as_a_parquet_list_are_read_and_a_list_bomb_is_rejected_from_the_footer(
    tmp_path,
):
    """`languages` is the contract's one list: a contributors Parquet file with a list column is read as the
    JSON list it is in a JSON line. A list of 12 million values in one row (dictionary and run-length
    encoded: under 1 KB on disk) is rejected from the footer's value count, before anything decodes it (the
    old check decoded the column, and DuckDB built a 36 MB line from it)."""
    root, home = tmp_path / "landing", tmp_path / "home"
    (root / "contributors").mkdir(parents=True)
    people = pa.table({"user_id": ["u-1", "u-2"], "languages": [["en", "fr"], []], "verified": [True, True]})
    pq.write_table(people, root / "contributors" / "people.parquet")
    n = 12_000_000
    values = pa.array(["en"] * n).dictionary_encode()
    bomb = pa.table(
        {"user_id": ["u-3"], "languages": pa.ListArray.from_arrays(pa.array([0, n], pa.int32()), values)}
    )
    pq.write_table(bomb, root / "contributors" / "bomb.parquet", compression="zstd")
    assert (root / "contributors" / "bomb.parquet").stat().st_size < 4096
    run_ingest(root, home)
    files = ledger(home)
    assert files["contributors/people.parquet"] == ("ingested", 2, None)
    assert files["contributors/bomb.parquet"] == (
        "rejected",
        0,
        "Parquet column languages holds 12000000 values in 1 rows (row group 1); at most 64 per row are read",
    )
    assert query(home, "SELECT user_id, languages FROM raw_contributors ORDER BY user_id") == [
        ("u-1", '["en","fr"]'),
        ("u-2", "[]"),
    ]


# The child reports its own peak RSS (VmHWM: this process image's; ru_maxrss would carry the RSS the test
# process had when it forked, kept across exec).
_INGEST_AND_REPORT_PEAK = """
import sys
from pathlib import Path
from showdown_pipeline.core import landing
from showdown_pipeline.core.staging import IngestLimits
from showdown_pipeline.core.warehouse import duckdb_session
root, home = Path(sys.argv[1]), Path(sys.argv[2])
home.mkdir()
with duckdb_session(home / "w.duckdb") as session:
    place = landing.IngestPlace(root, home / ".staging", IngestLimits.from_env())
    outcomes, _ = landing.ingest_landing(session, landing.discover_landing_files(root), "run", place)
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(*[f"{o.status}:{o.rows_in}" for o in outcomes], int(hwm.split()[1]) // 1024)
"""


def ingest_peak(root: Path, home: Path) -> tuple[list[str], int]:
    """Ingest `root` in a process of its own; (status:rows_in of each file, that process's peak RSS in MiB)."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", _INGEST_AND_REPORT_PEAK, str(root), str(home)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-800:]
    *statuses, peak = run.stdout.split()
    return statuses, int(peak)


def test_an_885_byte_parquet_list_bomb_in_a_column_the_contract_does_not_name_costs_no_memory(tmp_path):
    """One row whose list column `pad` holds 12 million zeros: 885 bytes on disk, 174 bytes uncompressed by
    its footer. The old decoded-size check decoded it (96 MB) and DuckDB turned it into a 24 MB line: the
    ingest peaked at ~1.9 GB. `pad` is no field of the contract, so it is never read: the vote is ingested
    and the process peaks where an ingest of one plain line does (measured in the same way, +150 MiB)."""
    root, plain = tmp_path / "landing", tmp_path / "plain"
    (root / "votes").mkdir(parents=True)
    n = 12_000_000
    pad = pa.ListArray.from_arrays(pa.array([0, n], pa.int32()), pa.array(np.zeros(n, dtype=np.int64)))
    path = root / "votes" / "bomb.parquet"
    pq.write_table(pa.table({"vote_id": ["p1"], "pad": pad}), path, compression="zstd")
    assert path.stat().st_size < 4096
    write_jsonl(plain / "votes" / "one.jsonl", [{"vote_id": "p1"}])
    statuses, peak = ingest_peak(root, tmp_path / "home")
    _, baseline = ingest_peak(plain, tmp_path / "home-plain")
    assert statuses == ["ingested:1"]
    assert peak < baseline + 150, f"peak {peak} MiB against {baseline} MiB for one plain line"


# --- 8. the registry in force is the one the landing zone holds now --------------------------------------


def _deliver_models(root: Path, home: Path, rows: list[tuple] | bytes):
    """Write models.csv (rows, or raw bytes), ingest it and type the registry; the state in force."""
    from showdown_pipeline.core import registry
    from showdown_pipeline.core.warehouse import duckdb_session
    from showdown_pipeline.definitions import REBUILD_ASSETS
    from showdown_pipeline_tests.landing_builder import write_models

    if isinstance(rows, bytes):
        (root / "models.csv").write_bytes(rows)
    else:
        write_models(root / "models.csv", rows)
    registry_asset = next(a for a in REBUILD_ASSETS if dg.AssetKey("model_registry") in a.keys)
    result = dg.materialize(
        [INGEST, registry_asset],
        resources=build_resources(root, home),
        instance=dg.DagsterInstance.ephemeral(),
        tags=landing_range_tags(root),
    )
    assert result.success
    with duckdb_session(settings.warehouse_path(home), read_only=True) as session:
        return registry.registry_state(session)


V1 = [("m-a", "A", "acme", "2025-01-01", None), ("m-b", "B", "acme", "2025-01-01", None)]
V2 = [("m-a", "A", "acme", "2025-01-01", None), ("m-b", "B", "acme", "2025-01-01", "2025-06-01")]


def test_reverting_models_csv_to_earlier_bytes_puts_them_back_in_force(tmp_path):
    """v1, then v2 (deprecating m-b by mistake), then upstream reverts to the exact bytes of v1: the ledger
    knew those bytes, so the revert was `unchanged` and v2 stayed in force, m-b deprecated, with nothing said.
    The registry in force is the models.csv the landing zone holds now: v1 again."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "day.jsonl", tagged_votes("day"))
    first = _deliver_models(root, home, V1)
    assert _deliver_models(root, home, V2).in_force["sha256"] != first.in_force["sha256"]
    reverted = _deliver_models(root, home, V1)
    assert reverted.in_force["sha256"] == first.in_force["sha256"] and reverted.rejected == []
    assert dict(query(home, "SELECT model_id, deprecated_at FROM model_registry")) == {
        "m-a": None,
        "m-b": None,
    }
    assert query(home, "SELECT count(*) FROM landing_files WHERE kind = 'models'") == [(2,)]


def test_a_revert_of_models_csv_keeps_the_providers_and_pre_release_flags_of_the_reverted_file(tmp_path):
    """v1 (provider `Acme`, pre_release `yes`/`no`), then v2 (`Acme Inc`, `true`/`false`), then v1's bytes
    again. The registry's provider and pre_release are decided by core/normalise.py from the distinct values
    of the file in force; those values used to come from the newest *ingested* file (v2) while the rows came
    from the file in force (v1), so after the revert no v1 value was decided: every provider became the
    ledger's `unknown` and every row `invalid_pre_release` (its votes quarantined as unregistered)."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "day.jsonl", tagged_votes("day"))
    header = b"model_id,display_name,provider,released_at,deprecated_at,pre_release\n"
    v1 = header + b"m-a,A,Acme,2025-01-01,,yes\nm-b,B,Acme,2025-01-01,,no\n"
    v2 = header + b"m-a,A,Acme Inc,2025-01-01,,true\nm-b,B,Acme Inc,2025-01-01,2025-06-01,false\n"
    registry = "SELECT model_id, provider, pre_release, problem FROM model_registry ORDER BY model_id"
    _deliver_models(root, home, v1)
    in_v1 = query(home, registry)
    assert in_v1 == [("m-a", "Acme", True, None), ("m-b", "Acme", False, None)]
    _deliver_models(root, home, v2)
    assert query(home, registry) == [("m-a", "Acme Inc", True, None), ("m-b", "Acme Inc", False, None)]
    _deliver_models(root, home, v1)
    assert query(home, registry) == in_v1


def test_a_rejected_models_csv_reverted_to_the_good_one_is_no_longer_reported(tmp_path):
    """v1, then an unreadable models.csv (v1 stays in force, the manifest says the landing zone's file was
    rejected), then v1's bytes again: v1 is in force and nothing rejected is after it. Delivering the bad
    bytes once more brings the report back."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "day.jsonl", tagged_votes("day"))
    bad = b"model_id;display_name\nm-a;A\n"
    good = _deliver_models(root, home, V1)
    rejected = _deliver_models(root, home, bad)
    assert rejected.in_force == good.in_force and [r["path"] for r in rejected.rejected] == ["models.csv"]
    assert _deliver_models(root, home, V1).rejected == []
    assert len(_deliver_models(root, home, bad).rejected) == 1


# --- 9. one ledger row per read: same bytes, another kind or format ---------------------------------------


def _validate(root: Path, home: Path) -> tuple[bool, list[tuple], int]:
    """Run validation with its checks: (input_rows_reconcile passed, per-file accounting
    (path, kind, status, rows_in, valid, duplicates, quarantined), counted votes)."""
    from showdown_pipeline.core.warehouse import duckdb_session
    from showdown_pipeline.definitions import ASSET_CHECKS, ASSETS
    from showdown_pipeline_tests.conftest import check_evaluations

    wanted = {"model_registry", "contributor_profiles", "votes_checked"}
    validate = [a for a in ASSETS if wanted & {k.to_user_string() for k in a.keys}]
    result = dg.materialize(
        [*validate, *ASSET_CHECKS],
        selection=dg.AssetSelection.assets(*validate),
        resources=build_resources(root, home),
        instance=dg.DagsterInstance.ephemeral(),
    )
    reconciled = check_evaluations(result)["input_rows_reconcile"].passed
    with duckdb_session(settings.warehouse_path(home), read_only=True) as session:
        columns = ("path", "kind", "status", "rows_in", "valid", "duplicates", "quarantined")
        per_file = [tuple(r[c] for c in columns) for r in session.rows("validate/input_accounting")]
    counted = query(home, "SELECT count(*) FROM votes_clean")[0][0]
    return reconciled, per_file, counted


def test_a_file_renamed_to_the_extension_its_kind_takes_is_read(tmp_path):
    """`votes/day.json` (votes/ takes .jsonl) is rejected for its name; renamed `day.jsonl`, the same bytes
    were `unchanged` forever (the rejection was keyed by the content). A rejection of a name is now keyed by
    the name: the renamed file is read, and the old rejection stays in the ledger as what happened."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "votes" / "day.json", tagged_votes("day", 2))
    run_ingest(root, home)
    assert ledger(home)["votes/day.json"] == ("rejected", 0, "unsupported file type for votes/: day.json")
    os.rename(root / "votes" / "day.json", root / "votes" / "day.jsonl")
    run_ingest(root, home)
    assert ledger(home)["votes/day.jsonl"] == ("ingested", 2, None)
    assert vote_ids_by_path(home) == {"votes/day.jsonl": {"day#0", "day#1"}}


def test_a_file_moved_to_another_kind_is_read_as_that_kind_and_the_accounting_stays_exact(tmp_path):
    """Vote records first delivered into `contributors/` (read as contributor records), and an arena log first
    delivered into `votes/` (read as canonical votes, every row quarantined): moved where they belong, the
    same bytes were `unchanged`, and those votes were never counted. Now each move is a read of its own
    (another key, so the arena rows do not collide with the first read's rows), the votes count, and the
    accounting of every read adds up: rows_in = valid + duplicates + quarantined."""
    from showdown_pipeline_tests.landing_builder import random_valid_votes

    root, home = tmp_path / "landing", tmp_path / "home"
    records = random_valid_votes(0, 40, ["m-a", "m-b"], seed=3)
    arena = [{"model_a": "m-a", "model_b": "m-b", "winner": "model_b", "judge": f"j{k}"} for k in range(25)]
    write_jsonl(root / "contributors" / "day.jsonl", records)
    write_jsonl(root / "votes" / "log.jsonl", arena)
    run_ingest(root, home)
    (root / "arena").mkdir()
    os.rename(root / "contributors" / "day.jsonl", root / "votes" / "day.jsonl")
    os.rename(root / "votes" / "log.jsonl", root / "arena" / "log.jsonl")
    run_ingest(root, home)
    reconciled, per_file, counted = _validate(root, home)
    assert reconciled
    assert sorted(per_file) == [
        ("arena/log.jsonl", "arena", "ingested", 25, 25, 0, 0),
        ("votes/day.jsonl", "votes", "ingested", 40, 40, 0, 0),
        ("votes/log.jsonl", "votes", "ingested", 25, 0, 0, 25),
    ]
    assert counted == 65
    assert query(home, "SELECT count(DISTINCT content_sha256), count(*) FROM landing_files") == [(2, 4)]


def _read_key_material(kind: str, fmt: str, path: Path) -> bytes:
    """The bytes whose sha256 was the ledger key of a later read of `path`'s bytes as kind/fmt (before
    `read_key` took its prefix): anyone can write them into a file."""
    import hashlib

    return f"read\0{kind}\0{fmt}\0{hashlib.sha256(path.read_bytes()).hexdigest()}".encode()


@pytest.mark.parametrize("crafted_first", [True, False])
def test_a_file_made_of_another_reads_key_material_cannot_take_its_key(tmp_path, crafted_first):
    """The hostile review's reproducer. Contributor records `b.jsonl` are ingested; then `votes/zz.jsonl`
    holds the bytes whose sha256 was the key `votes/b.jsonl` (the same bytes read as votes) would get, and
    `votes/b.jsonl` arrives, in either order. Both keys were one: every run after failed on the ledger's
    key (`IngestFailed`, reported as a fault of the warehouse). Now a later read's key is never a file's
    hash: both files are read, once, and a rerun changes nothing."""
    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "contributors" / "b.jsonl", [{"user_id": f"u-{k}", "country": "BR"} for k in range(3)])
    run_ingest(root, home)
    crafted = root / "votes" / "zz.jsonl"
    crafted.parent.mkdir(parents=True)
    crafted.write_bytes(_read_key_material("votes", "jsonl", root / "contributors" / "b.jsonl"))
    if crafted_first:
        run_ingest(root, home)
    shutil.copyfile(root / "contributors" / "b.jsonl", root / "votes" / "b.jsonl")
    run_ingest(root, home)
    run_ingest(root, home)
    got = ledger(home)
    assert got["votes/zz.jsonl"] == ("ingested", 1, None)  # one line that is not JSON: a quarantine row
    assert got["votes/b.jsonl"] == ("ingested", 3, None)
    assert got["contributors/b.jsonl"] == ("ingested", 3, None)
    keys = [r[0] for r in query(home, "SELECT sha256 FROM landing_files")]
    assert len(keys) == len(set(keys)) == 3
    assert query(home, "SELECT count(*), count(DISTINCT (source_sha256, source_row)) FROM raw_votes") == [
        (4, 4)
    ]


def test_a_ledger_from_before_the_prefix_keeps_its_keys_and_refuses_no_file(tmp_path):
    """A ledger made before `read_key` took its `r` holds a later read's key in hex: the sha256 of bytes
    anyone can deliver. Such a file, delivered, is a first read whose hash is already a key: it is keyed
    by `read_key` instead and read; the old read stays as it was, and a rerun changes nothing."""
    import hashlib

    from showdown_pipeline.core import landing as core_landing

    root, home = tmp_path / "landing", tmp_path / "home"
    write_jsonl(root / "contributors" / "b.jsonl", [{"user_id": f"u-{k}", "country": "BR"} for k in range(3)])
    run_ingest(root, home)
    (root / "votes").mkdir()
    shutil.copyfile(root / "contributors" / "b.jsonl", root / "votes" / "b.jsonl")
    run_ingest(root, home)
    material = _read_key_material("votes", "jsonl", root / "contributors" / "b.jsonl")
    legacy = hashlib.sha256(material).hexdigest()
    with duckdb.connect(str(settings.warehouse_path(home))) as conn:  # the key as the old code wrote it
        (new,) = conn.execute("SELECT sha256 FROM landing_files WHERE path = 'votes/b.jsonl'").fetchone()
        assert new.startswith(core_landing.READ_KEY_PREFIX) and new[1:] == legacy
        conn.execute(
            "UPDATE raw_votes SET source_sha256 = $legacy WHERE source_sha256 = $new",
            {"legacy": legacy, "new": new},
        )
        conn.execute(
            "UPDATE landing_files SET sha256 = $legacy WHERE sha256 = $new", {"legacy": legacy, "new": new}
        )
    (root / "votes" / "zz.jsonl").write_bytes(material)
    run_ingest(root, home)
    run_ingest(root, home)
    got = ledger(home)
    assert got["votes/zz.jsonl"] == ("ingested", 1, None)
    assert got["votes/b.jsonl"] == ("ingested", 3, None)
    keys = dict(query(home, "SELECT path, sha256 FROM landing_files"))
    assert keys["votes/b.jsonl"] == legacy
    assert keys["votes/zz.jsonl"] == core_landing.read_key(legacy, "votes", "jsonl")


def test_the_same_votes_delivered_twice_count_once(tmp_path):
    """Two copies of the same bytes in votes/ are one read (the second `unchanged`); the same records
    gzipped are other bytes, read, and every one of their rows is an exact duplicate of the first delivery:
    no vote counts twice, and each file's accounting adds up."""
    from showdown_pipeline_tests.landing_builder import random_valid_votes

    root, home = tmp_path / "landing", tmp_path / "home"
    records = random_valid_votes(0, 30, ["m-a", "m-b"], seed=5)
    write_jsonl(root / "votes" / "a.jsonl", records)
    write_jsonl(root / "votes" / "b.jsonl", records)
    write_jsonl(root / "votes" / "c.jsonl.gz", records, gz=True)
    meta = materialization_metadata(run_ingest(root, home), "landing_files")
    assert (meta["files_ingested"], meta["files_unchanged"]) == (2, 1)
    reconciled, per_file, counted = _validate(root, home)
    assert reconciled and counted == 30
    assert sorted(per_file) == [
        ("votes/a.jsonl", "votes", "ingested", 30, 30, 0, 0),
        ("votes/c.jsonl.gz", "votes", "ingested", 30, 0, 30, 0),
    ]


def test_two_million_empty_records_are_ingested_in_bounded_memory(tmp_path):
    """A 58 KB gzip of 19,999,000 `{}` lines (just under the row limit) took 13 GB to ingest: the insert sorted
    every row by its line number. Scaled down to 2,000,000 records (an ~85 KB gzip): the ingest's peak stays
    within 700 MiB of an ingest of one line (it was ~1.6 GB above it; the full size is measured in
    bench/bench_ingest_limits.py). Every record is a row: nothing is dropped to save memory."""
    root, plain = tmp_path / "landing", tmp_path / "plain"
    gzip_bomb(root / "votes" / "empty.jsonl.gz", b"{}\n" * 100_000, 20)
    write_jsonl(plain / "votes" / "one.jsonl", [{}])
    statuses, peak = ingest_peak(root, tmp_path / "home")
    _, baseline = ingest_peak(plain, tmp_path / "home-plain")
    assert statuses == ["ingested:2000000"]
    assert peak - baseline < 700, f"peak {peak} MiB, {baseline} MiB for one line"


def test_a_parquet_footer_over_its_bound_is_rejected_before_it_is_parsed(tmp_path, monkeypatch):
    """A footer is parsed whole, at ~9 times its size, and each row group costs time: 50,000 votes in
    one-row groups (a 153 MB footer) took 150 s and 4.2 GB to ingest (bench/bench_ingest_limits.py). The
    footer's length is read from the file's last bytes first; over the bound the file is rejected with why.
    The bound lowered to 64 KiB here: 2,000 one-row groups are over it, the same votes in one group are read."""
    from showdown_pipeline.core import staging

    monkeypatch.setattr(staging, "MAX_PARQUET_FOOTER_BYTES", 64 << 10, raising=False)
    root, home = tmp_path / "landing", tmp_path / "home"
    (root / "votes").mkdir(parents=True)
    table = pa.Table.from_pylist(tagged_votes("groups", 2_000))
    pq.write_table(table, root / "votes" / "tiny_groups.parquet", row_group_size=1)
    pq.write_table(table, root / "votes" / "one_group.parquet")
    run_ingest(root, home)
    files = ledger(home)
    status, rows, error = files["votes/tiny_groups.parquet"]
    assert (status, rows) == ("rejected", 0)
    assert error.startswith("Parquet footer of ") and error.endswith(
        "bytes (at most 65536): too many row groups or columns; rewrite the file with larger row groups"
    )
    assert files["votes/one_group.parquet"] == ("ingested", 2_000, None)
