"""Landing files as a careless upstream delivers them: glob characters in names, hidden partial uploads,
symlinks out of the root, FIFOs and sockets, bombs, very long lines, CRLF, and an unreadable registry.

Every test runs the real ingest asset (`landing_zone_ingest`) on a real DuckDB warehouse file, and
asserts on the ledger and the raw tables. README, "Landing files", names what each one proves.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import threading
import time
from pathlib import Path

import dagster as dg
import duckdb
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


def run_ingest(landing: Path, home: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [INGEST],
        resources=build_resources(landing, home),
        instance=dg.DagsterInstance.ephemeral(),
        tags=landing_range_tags(landing),
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
