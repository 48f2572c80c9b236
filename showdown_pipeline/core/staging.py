"""Stage one landing file for the warehouse: read it once, by its literal path, and write a private copy.

Why a copy. DuckDB's readers take glob patterns: a landing name holding `[`, `*` or `?` reads other
files (or several, hidden partial uploads included) and its own rows are never read. And a file that
upstream rewrites between hashing and reading would be recorded under bytes nobody read. So each landing
file is opened once, without following a final symlink and without blocking on a FIFO, after the caller
resolved it inside the landing root; the same pass feeds its bytes to the sha256, to the limits and to the
parser, and the warehouse reads only the staged copy `<home>/.staging/ingest/<sha256>-<token>.<form>.parquet`
(a name of hex digits; `duckdb_literal` escapes the folder for DuckDB's glob).

Text formats (JSON Lines plain or gzip, JSON arrays, models.csv) are split into records here and staged as
Parquet (`source_row`, `line`). DuckDB 2.0's readers were tried first (see the README, "Landing files"):
`read_csv` drops the last line of a file without an error when that line is longer than its 32 MB buffer,
rejects CRLF under `new_line='\\n'`, splits a line at a stray CR or truncates it at the separator when
`strict_mode=false`; `read_json` rejects an array whose element 20,481 has a key the sample did not see.
Parquet files are copied byte for byte and their footer is checked against the limits before a row is read.

Limits (per file, environment variables; a file over one is rejected whole, the error names the limit):
`SHOWDOWN_MAX_FILE_BYTES` (bytes as delivered and decompressed), `SHOWDOWN_MAX_LINE_BYTES` (one record:
a line, a JSON array element, a Parquet row as JSON), `SHOWDOWN_MAX_ROWS_PER_FILE` (lines, blank ones
included; array elements; Parquet rows). Decompression is streamed with a running count, so a gzip bomb
stops at the first limit it crosses, in bounded memory.
"""

from __future__ import annotations

import codecs
import csv
import errno
import gzip
import hashlib
import io
import json
import os
import re
import secrets
import stat
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from showdown_pipeline.core.digest import sha256_of_handle
from showdown_pipeline.core.vote_schema import (
    CONTRIBUTOR_FIELDS,
    MODEL_FIELDS,
    MODEL_OPTIONAL_FIELDS,
    VOTE_FIELDS,
)

ENV_MAX_FILE_BYTES = "SHOWDOWN_MAX_FILE_BYTES"
ENV_MAX_LINE_BYTES = "SHOWDOWN_MAX_LINE_BYTES"
ENV_MAX_ROWS = "SHOWDOWN_MAX_ROWS_PER_FILE"
LIMIT_PREFIX = "limit exceeded: "  # every limit rejection starts so (a later run retries it under new limits)

LINES_SCHEMA = pa.schema([("source_row", pa.int64()), ("line", pa.large_string())])
MODELS_SCHEMA = pa.schema(
    [("source_row", pa.int64()), *((c, pa.string()) for c in (*MODEL_FIELDS, *MODEL_OPTIONAL_FIELDS))]
)

_BLOCK = 4 << 20  # bytes decompressed per step: bounds memory whatever the compression ratio
_BATCH_ROWS = 100_000
_BATCH_BYTES = 64 << 20
# The contract's fields a Parquet file of each kind may carry; only these columns are ever read (a JSON
# record's other keys are ignored alike), so a column the contract does not name can neither replace the
# record nor cost memory. `languages` is the one list; a contributor names a handful of languages.
PARQUET_FIELDS: dict[str, tuple[str, ...]] = {"votes": VOTE_FIELDS, "contributors": CONTRIBUTOR_FIELDS}
PARQUET_LIST_FIELDS = frozenset({"languages"})
MAX_LIST_VALUES_PER_ROW = 64
# A Parquet footer is parsed whole before a row is read. 16 MiB holds ~5,000 row groups of 30 columns with
# statistics; a sane writer puts 10 million votes in a few hundred.
MAX_PARQUET_FOOTER_BYTES = 16 << 20
_BOM = b"\xef\xbb\xbf"
# Staged copies live for one transaction: fast to write beats small (dictionaries and statistics cost
# 3x the time on millions of short lines; lz4 still halves JSON text).
_STAGED_PARQUET = {"use_dictionary": False, "compression": "lz4", "write_statistics": False}
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}
_SIZE = re.compile(r"^\s*(\d[\d_]*)\s*([KMGT]I?B|B)?\s*$", re.IGNORECASE)


class FileRejected(Exception):
    """Why a landing file is rejected whole: one line, never the file's text. A defect of the bytes read (or,
    before any byte is read, of the entry itself: its type, its permissions)."""


class FileUnavailable(Exception):
    """The file could not be read as it was listed: gone, renamed, replaced, or a folder on its path swapped
    for a link since discovery. No defect of any bytes: nothing is recorded, and the next run tries again."""


@dataclass(frozen=True)
class IngestLimits:
    """Per-file limits; defaults sized for real exports (a vote line is ~1 KB, a day may hold millions)."""

    file_bytes: int = 16 << 30
    line_bytes: int = 64 << 20
    rows: int = 20_000_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IngestLimits:
        """The limits, each overridable by its environment variable; a bad value raises ValueError naming it."""
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            file_bytes=_env_size(env, ENV_MAX_FILE_BYTES, default.file_bytes),
            line_bytes=_env_size(env, ENV_MAX_LINE_BYTES, default.line_bytes),
            rows=_env_size(env, ENV_MAX_ROWS, default.rows, units=False),
        )

    def too_many_bytes(self, what: str = "bytes") -> FileRejected:
        return FileRejected(
            f"{LIMIT_PREFIX}more than {self.file_bytes} {what} ({ENV_MAX_FILE_BYTES}={self.file_bytes})"
        )

    def too_long(self, record: str) -> FileRejected:
        return FileRejected(
            f"{LIMIT_PREFIX}{record} is longer than {self.line_bytes} bytes "
            f"({ENV_MAX_LINE_BYTES}={self.line_bytes})"
        )

    def too_many_rows(self) -> FileRejected:
        return FileRejected(f"{LIMIT_PREFIX}more than {self.rows} rows ({ENV_MAX_ROWS}={self.rows})")


def _env_size(env: Mapping[str, str], name: str, default: int, units: bool = True) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    match = _SIZE.match(text)
    if match is None or (match.group(2) and not units):
        example = "e.g. 64MiB or 67108864" if units else "a whole number, e.g. 20000000"
        raise ValueError(f"{name}={text!r} is not a valid limit ({example})")
    value = int(match.group(1).replace("_", "")) * _UNITS[(match.group(2) or "").upper()]
    if value < 1:
        raise ValueError(f"{name}={text!r} must be at least 1")
    return value


def duckdb_literal(path: Path) -> str:
    """`path` as a DuckDB file pattern that matches exactly that file: each glob character becomes a
    one-character class (`[` -> `[[]`), which DuckDB 2.0 matches literally (tested with every one)."""
    return re.sub(r"([\[\]*?{}])", r"[\1]", str(path))


# --- opening a landing file ---------------------------------------------------------------------------


def is_inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
)
# The file is not where, or not what, discovery saw: gone, renamed, or a folder on its path replaced by a
# symlink or a file. Not a defect of any bytes: nothing is recorded, the next run lists the zone again.
_MOVED = {errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EXDEV}


def open_literal(path: Path, root: Path) -> BinaryIO:
    """Open a regular file inside `root` (both resolved) for reading, one path component at a time from an
    open handle on the root: no component may be a symlink (O_NOFOLLOW on each) or hidden, so a folder
    swapped for a link after discovery (to a hidden partial upload, or out of the root) is never followed.
    A FIFO is not waited on (O_NONBLOCK). Raises FileUnavailable when the path no longer leads where it
    did, FileRejected when it leads to something unreadable (permissions, not a regular file)."""
    parts = path.relative_to(root).parts
    if not parts or any(part.startswith(".") for part in parts):
        raise FileRejected("a hidden name on its path (never read)")
    directory = os.open(root, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            inner = _open_step(part, _DIR_FLAGS | getattr(os, "O_NOFOLLOW", 0), directory)
            os.close(directory)
            directory = inner
        fd = _open_step(parts[-1], _FILE_FLAGS, directory)
    finally:
        os.close(directory)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise FileRejected(f"not a regular file when opened ({file_type(mode)})")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_step(name: str, flags: int, directory: int) -> int:
    try:
        return os.open(name, flags, dir_fd=directory)
    except OSError as exc:
        if exc.errno in _MOVED:
            raise FileUnavailable(f"no longer where it was listed ({exc.strerror})") from exc
        raise FileRejected(f"cannot open: {exc.strerror}") from exc


def file_type(mode: int) -> str:
    """A file type in words, for a rejection (`stat.S_IFMT` of an lstat)."""
    for test, name in (
        (stat.S_ISREG, "regular file"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISLNK, "symlink"),
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return name
    return "unknown file type"


class _HashingReader(io.RawIOBase):
    """Every byte read from `raw` goes through the sha256 and the delivered-size limit."""

    def __init__(self, raw: BinaryIO, limits: IngestLimits):
        self.raw, self.limits = raw, limits
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """A wrapper (BufferedReader, TextIOWrapper) closes what it wraps when it is dropped; the hash
        must still see the rest of the file (`drain`), and the caller closes the raw file."""

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer) or 0
        self.digest.update(memoryview(buffer)[:n])
        self.size += n
        if self.size > self.limits.file_bytes:
            raise self.limits.too_many_bytes()
        return n

    def drain(self) -> str:
        """Read what is left (a parser may stop before EOF) and return the sha256 of every byte."""
        while self.read(_BLOCK):
            pass
        return self.digest.hexdigest()

    def digest_of_all(self) -> str | None:
        """`drain()`, or None when the rest is over the delivered-size limit (the file grew while read)."""
        try:
            return self.drain()
        except FileRejected:
            return None


def hash_file(path: Path, root: Path) -> str:
    """sha256 of a landing file (the cheap first look: is this content in the ledger already?)."""
    return hash_and_fingerprint(path, root)[0]


# A file's stat identity is trusted only once it is older than this when it is looked at: a write landing in
# the same clock tick as the one the stat saw (coarse file-system timestamps) could leave it unchanged.
STAT_SETTLE_NS = 2_000_000_000


def stat_fingerprint(info: os.stat_result) -> str:
    """(device, inode, size, mtime_ns, ctime_ns) of a file: any write, truncation, rename onto it,
    replacement or `touch` changes one of them (ctime cannot be set back from user space)."""
    return f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"


def fingerprint_file(path: Path, root: Path) -> str:
    """The stat fingerprint of a landing file, opened literally as a read would open it; no byte is read."""
    with open_literal(path, root) as handle:
        return stat_fingerprint(os.fstat(handle.fileno()))


def hash_and_fingerprint(path: Path, root: Path) -> tuple[str, str | None]:
    """sha256 of a landing file and the stat fingerprint it had while hashed: None when the file changed
    during the hash (the two stats differ) or was too fresh to trust (`STAT_SETTLE_NS`), so a later run
    hashes it again rather than trusting a fingerprint that may not describe these bytes."""
    with open_literal(path, root) as handle:
        looked_at = time.time_ns()
        before = os.fstat(handle.fileno())
        sha256 = sha256_of_handle(handle)
        after = os.fstat(handle.fileno())
    fingerprint = stat_fingerprint(before)
    settled = max(before.st_mtime_ns, before.st_ctime_ns) <= looked_at - STAT_SETTLE_NS
    return sha256, fingerprint if settled and stat_fingerprint(after) == fingerprint else None


# --- staging ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StagedFile:
    path: Path  # the copy the warehouse reads
    sha256: str  # of the landing file's bytes, as read in the same pass
    form: str  # lines | parquet | models
    rows: int  # records counted while staging (the reader must see exactly these)
    columns: tuple[str, ...] = ()  # parquet: the contract's fields the file holds, the only columns read
    batch_rows: int = _BATCH_ROWS  # parquet: rows per batch handed to the warehouse (bounded in bytes)
    text_bytes: int = 0  # the records' bytes as the warehouse will read them: lines; Parquet: decoded columns


@dataclass(frozen=True)
class _Shape:
    rows: int
    columns: tuple[str, ...] = ()
    batch_rows: int = _BATCH_ROWS
    text_bytes: int = 0


def stage_file(
    path: Path, root: Path, fmt: str, staging_dir: Path, limits: IngestLimits, kind: str = "votes"
) -> StagedFile:
    """Read `path` (resolved, inside `root`) once: hash it, check the limits, write its staged copy.

    A FileRejected raised here carries `sha256`: the hash of every byte of the file as this pass read it
    (the rest read after the parser stopped), or None when the rest could not be read as it was (the file
    grew past the size limit meanwhile). The caller records a rejection only under the bytes it is about."""
    staging_dir.mkdir(parents=True, exist_ok=True)
    form = {"parquet": "parquet", "csv": "models"}.get(fmt, "lines")
    suffix = ".parquet" if form == "parquet" else f".{form}.parquet"
    # two copies of the same bytes may be staged at once (core/landing.py's read-ahead): one name each
    token = secrets.token_hex(8)
    partial = staging_dir / f"partial-{token}{suffix}"
    try:
        with open_literal(path, root) as raw:
            source = _HashingReader(raw, limits)
            try:
                shape = _STAGERS[fmt](source, partial, limits, kind)
            except FileRejected as exc:
                exc.sha256 = source.digest_of_all()
                raise
            sha256 = source.drain()
        staged = staging_dir / f"{sha256}-{token}{suffix}"
        os.replace(partial, staged)
    finally:
        partial.unlink(missing_ok=True)
    return StagedFile(staged, sha256, form, shape.rows, shape.columns, shape.batch_rows, shape.text_bytes)


def _stage_jsonl(source: _HashingReader, out: Path, limits: IngestLimits, kind: str) -> _Shape:
    with _LineSink(out) as sink:
        _split_lines(io.BufferedReader(source, _BLOCK), sink, limits)
        return _Shape(sink.rows, text_bytes=sink.text_bytes)


def _stage_jsonl_gz(source: _HashingReader, out: Path, limits: IngestLimits, kind: str) -> _Shape:
    with _LineSink(out) as sink:
        try:
            _split_lines(gzip.GzipFile(fileobj=source, mode="rb"), sink, limits)
        except EOFError as exc:
            raise FileRejected(f"truncated gzip: {exc}") from exc
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise FileRejected("not a readable gzip file") from exc
        return _Shape(sink.rows, text_bytes=sink.text_bytes)


def _stage_json_array(source: _HashingReader, out: Path, limits: IngestLimits, kind: str) -> _Shape:
    with _LineSink(out) as sink:
        batch: list[bytes] = []
        for element in _json_array_elements(io.BufferedReader(source, _BLOCK), limits):
            batch.append(element)
            if len(batch) >= 10_000:
                sink.add(pa.array(batch, pa.binary()))
                batch = []
        sink.add(pa.array(batch, pa.binary()))
        return _Shape(sink.rows, text_bytes=sink.text_bytes)


def _stage_parquet(source: _HashingReader, out: Path, limits: IngestLimits, kind: str) -> _Shape:
    """Copy the bytes, then check the footer before a row is read: rows, uncompressed size, which of the
    contract's fields the file holds (the only columns ever read), their shapes, and the values a list
    column holds per row. Then the decoded size of those columns (a dictionary-encoded column decodes to
    more than the footer says: one 1 MB string repeated a million times is a few KB on disk)."""
    with out.open("wb") as copy:
        while chunk := source.read(_BLOCK):
            copy.write(chunk)
    _check_footer_size(out)
    try:
        parquet = pq.ParquetFile(out)
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected(f"not a Parquet file: {_first_line(str(exc))}") from exc
    with parquet:
        meta = parquet.metadata
        if meta.num_rows > limits.rows:
            raise limits.too_many_rows()
        uncompressed = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if uncompressed > limits.file_bytes:
            raise limits.too_many_bytes("bytes uncompressed")
        columns = _contract_columns(parquet.schema_arrow, kind)
        _check_list_values(meta, parquet.schema_arrow, columns)
    decoded = _decoded_size(out, meta, columns, limits)
    per_row = max(1, decoded // max(1, meta.num_rows))
    return _Shape(meta.num_rows, columns, max(1, min(_BATCH_ROWS, _BATCH_BYTES // per_row)), decoded)


def _check_footer_size(path: Path) -> None:
    """The footer's length, from the file's last 8 bytes, before it is parsed: parsed, it takes ~9 times its
    size in memory and every row group costs time (50,000 one-row groups: a 153 MB footer, 5 GB and 40 s)."""
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - 8))
        tail = handle.read(8)
    if len(tail) < 8 or tail[4:] != b"PAR1":
        raise FileRejected("not a Parquet file: no magic bytes (PAR1) at its end")
    footer = int.from_bytes(tail[:4], "little")
    if footer > MAX_PARQUET_FOOTER_BYTES:
        raise FileRejected(
            f"Parquet footer of {footer} bytes (at most {MAX_PARQUET_FOOTER_BYTES}): too many row groups or "
            "columns; rewrite the file with larger row groups"
        )


def _contract_columns(schema: pa.Schema, kind: str) -> tuple[str, ...]:
    """The columns named exactly as one of the kind's fields (case matters, as in a JSON record), in file
    order. A field named twice, or delivered nested where the contract has one value, rejects the file."""
    fields = PARQUET_FIELDS[kind]
    names = schema.names
    for name in fields:
        if names.count(name) > 1:
            raise FileRejected(f"Parquet column {name} appears {names.count(name)} times")
    chosen = tuple(name for name in names if name in fields)
    for name in chosen:
        kind_of = schema.field(name).type
        if name in PARQUET_LIST_FIELDS and _is_list(kind_of) and not _is_nested(kind_of.value_type):
            continue
        if _is_nested(kind_of):
            shape = "a list of values" if name in PARQUET_LIST_FIELDS else "one value"
            raise FileRejected(
                f"Parquet column {name} is nested ({_nesting(kind_of)}); the contract's {name} is {shape}"
            )
    return chosen


def _check_list_values(meta: pq.FileMetaData, schema: pa.Schema, columns: tuple[str, ...]) -> None:
    """A list column's values per row group, from the footer (the leaf chunk's value count): a few bytes of
    dictionary and run-length encoding can hold millions of values in one row, which decoding would
    materialise whatever the file's size."""
    first = 0
    leaves = {}
    for field in schema:
        if field.name in columns and _is_list(field.type):
            leaves[field.name] = first
        first += _leaf_count(field.type)
    for group_index in range(meta.num_row_groups):
        group = meta.row_group(group_index)
        for name, leaf in leaves.items():
            values = group.column(leaf).num_values
            if values > max(1, group.num_rows) * MAX_LIST_VALUES_PER_ROW:
                raise FileRejected(
                    f"Parquet column {name} holds {values} values in {group.num_rows} rows (row group "
                    f"{group_index + 1}); at most {MAX_LIST_VALUES_PER_ROW} per row are read"
                )


def _decoded_size(path: Path, meta: pq.FileMetaData, columns: tuple[str, ...], limits: IngestLimits) -> int:
    """Decoded bytes of the columns read, batch by batch; string columns are read as dictionaries and
    measured without being expanded, so the check costs what the file holds."""
    if not columns:
        return 0
    try:
        with pq.ParquetFile(path, metadata=meta) as parquet:
            strings = _string_leaves(parquet, columns)
        total = 0
        with pq.ParquetFile(path, metadata=meta, read_dictionary=strings) as parquet:
            for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=list(columns)):
                total += sum(_decoded_bytes(column) for column in batch.columns)
                if total > limits.file_bytes:
                    raise limits.too_many_bytes("bytes decoded")
        return total
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected(f"unreadable Parquet: {_first_line(str(exc))}") from exc


def _string_leaves(parquet: pq.ParquetFile, columns: tuple[str, ...]) -> list[str]:
    first, paths = 0, []
    for field in parquet.schema_arrow:
        count = _leaf_count(field.type)
        if field.name in columns:
            for leaf in range(first, first + count):
                column = parquet.schema.column(leaf)
                if column.physical_type in ("BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"):
                    paths.append(column.path)
        first += count
    return paths


def parquet_records(staged: StagedFile) -> pa.RecordBatchReader:
    """The rows of a staged Parquet copy as (source_row, record): `record` is a struct of the contract's
    fields the file holds, by their exact names, in batches of `staged.batch_rows`. A file holding none
    of them gives empty records (a NULL struct; `lines_from_parquet.sql` writes `{}`)."""
    schema_arrow = pq.read_schema(staged.path)
    fields = [schema_arrow.field(name) for name in staged.columns] or [pa.field("_", pa.null())]
    schema = pa.schema([("source_row", pa.int64()), ("record", pa.struct(fields))])

    def batches() -> Iterator[pa.RecordBatch]:
        first = 1
        with pq.ParquetFile(staged.path) as parquet:
            for batch in _column_batches(parquet, staged):
                if staged.columns:
                    arrays = [batch.column(name) for name in staged.columns]
                    record = pa.StructArray.from_arrays(arrays, fields=fields)
                else:
                    record = pa.StructArray.from_arrays(
                        [pa.nulls(batch)], fields=fields, mask=pa.array([True] * batch)
                    )
                rows = pa.array(np.arange(first, first + len(record), dtype=np.int64))
                first += len(record)
                yield pa.RecordBatch.from_arrays([rows, record], schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def _column_batches(parquet: pq.ParquetFile, staged: StagedFile) -> Iterator:
    """The contract's columns in batches, or (none of them) the row count of each batch."""
    if staged.columns:
        yield from parquet.iter_batches(batch_size=staged.batch_rows, columns=list(staged.columns))
        return
    left = staged.rows
    while left > 0:
        yield min(left, staged.batch_rows)
        left -= staged.batch_rows


def _is_list(kind: pa.DataType) -> bool:
    return pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)


def _is_nested(kind: pa.DataType) -> bool:
    return _is_list(kind) or pa.types.is_struct(kind) or pa.types.is_map(kind) or pa.types.is_union(kind)


def _nesting(kind: pa.DataType) -> str:
    """The kind of nesting in words (never the file's own field names)."""
    if pa.types.is_map(kind):
        return "a map"
    if _is_list(kind):
        return "a list"
    return "a struct" if pa.types.is_struct(kind) else "a union"


def _leaf_count(kind: pa.DataType) -> int:
    """Parquet leaf columns an Arrow field of this type is stored in (depth first, as the footer lists them)."""
    kind = getattr(kind, "storage_type", kind)  # an extension type is stored as its storage type
    if pa.types.is_map(kind):
        return _leaf_count(kind.key_type) + _leaf_count(kind.item_type)
    if _is_list(kind):
        return _leaf_count(kind.value_type)
    if pa.types.is_struct(kind) or pa.types.is_union(kind):
        return sum(_leaf_count(kind.field(i).type) for i in range(kind.num_fields))
    return 1


def _decoded_bytes(chunk: pa.Array) -> int:
    """Bytes `chunk` would take decoded: dictionaries measured through their indices, nested values too."""
    kind = chunk.type
    if pa.types.is_dictionary(kind):
        values = chunk.dictionary
        if pa.types.is_binary(values.type) or pa.types.is_string(values.type):
            return int(pc.sum(pc.take(pc.binary_length(values), chunk.indices)).as_py() or 0)
        return int(chunk.dictionary_decode().nbytes)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return int(chunk.offsets.nbytes) + _decoded_bytes(chunk.flatten())
    if pa.types.is_struct(kind):
        return sum(_decoded_bytes(field) for field in chunk.flatten())
    return int(chunk.nbytes)


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "unreadable"


# --- JSON Lines ---------------------------------------------------------------------------------------


class _LineSink:
    """Records (source_row, line) into a Parquet file in bounded batches; lines must be UTF-8."""

    def __init__(self, path: Path):
        self.writer = pq.ParquetWriter(path, LINES_SCHEMA, **_STAGED_PARQUET)
        self.rows = 0  # records written or pending
        self.text_bytes = 0  # their bytes
        self.pending: list[pa.Array] = []
        self.pending_rows = self.pending_bytes = 0

    def __enter__(self) -> _LineSink:
        return self

    def __exit__(self, *exc) -> None:
        try:
            if exc[0] is None:
                self.flush()
        finally:
            self.writer.close()

    def add(self, lines: pa.Array) -> None:
        try:
            text = lines.cast(pa.large_string())
        except pa.ArrowInvalid as exc:
            bad = next(i for i, line in enumerate(lines.to_pylist()) if not _is_utf8(line))
            raise FileRejected(f"invalid UTF-8 on line {self.rows + bad + 1}") from exc
        self.pending.append(text)
        self.rows += len(text)
        self.text_bytes += text.nbytes
        self.pending_rows += len(text)
        self.pending_bytes += text.nbytes
        if self.pending_rows >= _BATCH_ROWS or self.pending_bytes >= _BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        first = self.rows - self.pending_rows + 1
        rows = pa.array(np.arange(first, first + self.pending_rows, dtype=np.int64))
        text = pa.concat_arrays(self.pending)
        self.writer.write_table(pa.Table.from_arrays([rows, text], schema=LINES_SCHEMA))
        self.pending, self.pending_rows, self.pending_bytes = [], 0, 0


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _split_lines(stream: BinaryIO, sink: _LineSink, limits: IngestLimits) -> None:
    """Physical lines of a decompressed stream into `sink`. LF ends a line; one CR before it is dropped
    (CRLF files); a UTF-8 BOM at the start is dropped. Every block is checked against the limits before
    its lines go anywhere, and the unfinished line as it grows, so no limit waits for the end of a bomb."""
    carry: list[bytes] = []
    carry_len = total = lines_done = 0
    while block := stream.read(_BLOCK):
        total += len(block)
        if total > limits.file_bytes:
            raise limits.too_many_bytes("bytes decompressed")
        cut = block.rfind(b"\n") + 1
        if cut:
            done = b"".join([*carry, block[:cut]]) if carry else block[:cut]
            lines = _lines_of(done, first=lines_done == 0, before=lines_done, limits=limits)
            sink.add(lines)
            lines_done += len(lines)
            carry, carry_len = [], 0
            block = block[cut:]
        if block:
            carry.append(block)
            carry_len += len(block)
        if carry_len > limits.line_bytes + 1:  # + 1: the CR of a CRLF
            raise limits.too_long(f"line {lines_done + 1}")
    if carry:  # a last line without a newline is a line
        last = b"".join([*carry, b"\n"])
        sink.add(_lines_of(last, first=lines_done == 0, before=lines_done, limits=limits))


def _lines_of(data: bytes, first: bool, before: int, limits: IngestLimits) -> pa.Array:
    """The lines of `data` (which ends with LF) as one Arrow array, without their LF, CRLF's CR and a
    leading BOM; numpy finds the line ends, so millions of empty records cost milliseconds, not a Python
    object each. A CR that does not end a line stays in it."""
    if first and data.startswith(_BOM):
        data = data[len(_BOM) :]
    if b"\r\n" in data:
        data = data.replace(b"\r\n", b"\n")
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    if before + len(ends) > limits.rows:
        raise limits.too_many_rows()
    lengths = np.diff(ends, prepend=-1) - 1
    too_long = np.flatnonzero(lengths > limits.line_bytes)
    if len(too_long):
        raise limits.too_long(f"line {before + int(too_long[0]) + 1}")
    offsets = np.zeros(len(ends) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = data.replace(b"\n", b"")
    return pa.Array.from_buffers(
        pa.large_binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(values)]
    )


# --- JSON arrays --------------------------------------------------------------------------------------

_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _json_array_elements(stream: BinaryIO, limits: IngestLimits) -> Iterator[bytes]:
    """The text of each element of a top-level JSON array, as delivered (streamed, never the whole file).

    An element that is not an object is still a record (validation quarantines it); text that is not
    a JSON array, or ends inside one, rejects the file."""
    reader = _TextBuffer(stream, limits)
    # only the element's extent is wanted: numbers stay text, so a 5,000-digit integer (valid JSON) is not
    # converted (Python refuses integers above 4,300 digits) and validation sees it as delivered
    decoder = json.JSONDecoder(parse_int=str, parse_float=str)
    if reader.peek() == "\ufeff":  # a UTF-8 byte order mark
        reader.pos += 1
    reader.skip_space()
    if reader.peek() != "[":
        raise FileRejected("not a JSON array (the first character is not '[')")
    reader.pos += 1
    count = 0
    reader.skip_space()
    if reader.peek() == "]":
        reader.pos += 1
    else:
        while True:
            text = reader.next_value(decoder, count + 1)
            count += 1
            if count > limits.rows:
                raise limits.too_many_rows()
            yield text
            reader.skip_space()
            sep = reader.peek()
            reader.pos += 1
            if sep == "]":
                break
            if sep != ",":
                raise FileRejected(f"invalid JSON array: expected ',' or ']' after element {count}")
            reader.skip_space()
    reader.skip_space()
    if reader.peek() != "":
        raise FileRejected(f"invalid JSON array: text after the closing ']' (element {count})")


class _TextBuffer:
    """UTF-8 text of a byte stream, decoded as it is needed, with a read position."""

    def __init__(self, stream: BinaryIO, limits: IngestLimits):
        self.stream, self.limits = stream, limits
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.buf, self.pos, self.eof, self.total = "", 0, False, 0

    def more(self, at_least: int = 1) -> bool:
        """Append at least `at_least` characters (fewer at EOF); False when nothing was added."""
        chunks, added = [], 0
        while added < at_least and not self.eof:
            block = self.stream.read(_BLOCK)
            self.total += len(block)
            if self.total > self.limits.file_bytes:
                raise self.limits.too_many_bytes()
            try:
                text = self.decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                raise FileRejected(
                    f"invalid UTF-8 (near byte {self.total - len(block) + exc.start})"
                ) from exc
            self.eof = not block
            chunks.append(text)
            added += len(text)
        self.buf = self.buf[self.pos :] + "".join(chunks)
        self.pos = 0
        return added > 0

    def peek(self) -> str:
        if self.pos >= len(self.buf) and not self.more():
            return ""
        return self.buf[self.pos]

    def skip_space(self) -> None:
        while True:
            self.pos = _JSON_SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self.more():
                return

    def next_value(self, decoder: json.JSONDecoder, element: int) -> bytes:
        """The text of the JSON value at the position; reads on while the value may go on."""
        while True:
            try:
                _, end = decoder.raw_decode(self.buf, self.pos)
            except RecursionError as exc:  # valid JSON, but nested deeper than Python's parser goes
                raise FileRejected(f"element {element} is nested too deeply to read") from exc
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos > self.limits.line_bytes:
                    raise self.limits.too_long(f"element {element}") from exc
                if self.more(at_least=max(len(self.buf) - self.pos, _BLOCK)):
                    continue
                raise FileRejected(f"invalid JSON in element {element}: {exc.msg}") from exc
            if end == len(self.buf) and self.more():  # a number at the end of the buffer may go on
                continue
            text = self.buf[self.pos : end].encode("utf-8")
            if len(text) > self.limits.line_bytes:
                raise self.limits.too_long(f"element {element}")
            self.pos = end
            return text


# --- models.csv ---------------------------------------------------------------------------------------


def _stage_models_csv(source: _HashingReader, out: Path, limits: IngestLimits, kind: str) -> _Shape:
    """models.csv with fixed settings, nothing sniffed: comma, double quote (doubled to escape), a header
    naming the five columns and optionally pre_release (any order, case and surrounding spaces ignored;
    others ignored), UTF-8 with or without a BOM, LF or CRLF. A row whose field count differs from the header's rejects the file."""
    lines = _bounded_lines(io.BufferedReader(source, _BLOCK), limits)
    reader = csv.reader(lines, delimiter=",", quotechar='"', doublequote=True, strict=True)
    rows: list[tuple] = []
    try:
        header = next(reader, None)
        index = _model_columns(header)
        for record in reader:
            if not record:
                continue  # a blank line
            if len(record) != len(header):
                raise FileRejected(
                    f"models.csv line {reader.line_num}: {len(record)} fields, the header has {len(header)}"
                )
            rows.append(tuple(None if i is None else record[i] for i in index))
            if len(rows) > limits.rows:
                raise limits.too_many_rows()
    except csv.Error as exc:
        raise FileRejected(f"models.csv line {reader.line_num}: {exc}") from exc
    if not rows:  # an empty registry would mean "no registry": every model counted as registered
        raise FileRejected("models.csv holds no models (a header only)")
    columns = [pa.array(np.arange(1, len(rows) + 1, dtype=np.int64))]
    columns += [pa.array([r[k] for r in rows], pa.string()) for k in range(len(index))]
    pq.write_table(pa.Table.from_arrays(columns, schema=MODELS_SCHEMA), out)
    return _Shape(len(rows))


def _model_columns(header: list[str] | None) -> list[int | None]:
    if not header:
        raise FileRejected("models.csv is empty (no header)")
    names = [h.strip().lower() for h in header]
    repeated = sorted(
        {n for n in names if names.count(n) > 1 and n in (*MODEL_FIELDS, *MODEL_OPTIONAL_FIELDS)}
    )
    if repeated:
        raise FileRejected(f"models.csv header repeats {', '.join(repeated)}")
    missing = [c for c in MODEL_FIELDS if c not in names]
    if missing:
        raise FileRejected(
            f"models.csv header lacks {', '.join(missing)} (expected comma-separated {', '.join(MODEL_FIELDS)})"
        )
    optional = [names.index(c) if c in names else None for c in MODEL_OPTIONAL_FIELDS]  # None: column absent
    return [names.index(c) for c in MODEL_FIELDS] + optional


def _bounded_lines(stream: BinaryIO, limits: IngestLimits) -> Iterator[str]:
    """Physical lines (LF or CRLF), each read with a bound, so a file without newlines cannot fill memory,
    and decoded one by one, so an encoding error names its line. A BOM at the start is dropped."""
    number = 0
    while line := stream.readline(limits.line_bytes + 3):
        number += 1
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        if len(line.rstrip(b"\r\n")) > limits.line_bytes:
            raise limits.too_long(f"line {number}")
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileRejected(f"models.csv is not UTF-8 (line {number})") from exc


_STAGERS = {
    "jsonl": _stage_jsonl,
    "jsonl.gz": _stage_jsonl_gz,
    "json": _stage_json_array,
    "parquet": _stage_parquet,
    "csv": _stage_models_csv,
}
