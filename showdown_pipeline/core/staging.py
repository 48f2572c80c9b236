"""Stage one landing file for the warehouse: read it once, by its literal path, and write a private copy.

Why a copy. DuckDB's readers take glob patterns: a landing name holding `[`, `*` or `?` reads other
files (or several, hidden partial uploads included) and its own rows are never read. And a file that
upstream rewrites between hashing and reading would be recorded under bytes nobody read. So each landing
file is opened once, without following a final symlink and without blocking on a FIFO, after the caller
resolved it inside the landing root; the same pass feeds its bytes to the sha256, to the limits and to the
parser, and the warehouse reads only the staged copy `<home>/.staging/ingest/<sha256>.<form>.parquet`
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
import gzip
import hashlib
import io
import json
import os
import re
import secrets
import stat
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
from showdown_pipeline.core.vote_schema import MODEL_FIELDS, MODEL_OPTIONAL_FIELDS

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
_BOM = b"\xef\xbb\xbf"
# Staged copies live for one transaction: fast to write beats small (dictionaries and statistics cost
# 3x the time on millions of short lines; lz4 still halves JSON text).
_STAGED_PARQUET = {"use_dictionary": False, "compression": "lz4", "write_statistics": False}
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}
_SIZE = re.compile(r"^\s*(\d[\d_]*)\s*([KMGT]I?B|B)?\s*$", re.IGNORECASE)


class FileRejected(Exception):
    """Why a landing file is rejected whole: one line, never the file's text."""


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


def open_literal(path: Path, root: Path) -> BinaryIO:
    """Open a regular file inside `root` for reading: a final symlink is not followed, a FIFO is not
    waited on (O_NONBLOCK), and where /proc shows what was opened it must lie inside the root."""
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise FileRejected(f"cannot open: {exc.strerror}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise FileRejected(f"not a regular file when opened ({file_type(mode)})")
        proc = Path(f"/proc/self/fd/{fd}")
        if proc.is_symlink() and not is_inside(Path(os.readlink(proc)), root):
            raise FileRejected("the opened file lies outside the landing root")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


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


def hash_file(path: Path, root: Path) -> str:
    """sha256 of a landing file (the cheap first look: is this content in the ledger already?)."""
    with open_literal(path, root) as handle:
        return sha256_of_handle(handle)


# --- staging ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StagedFile:
    path: Path  # the copy the warehouse reads
    sha256: str  # of the landing file's bytes, as read in the same pass
    form: str  # lines | parquet | models
    rows: int  # records counted while staging (the reader must see exactly these)


def stage_file(path: Path, root: Path, fmt: str, staging_dir: Path, limits: IngestLimits) -> StagedFile:
    """Read `path` (resolved, inside `root`) once: hash it, check the limits, write its staged copy."""
    staging_dir.mkdir(parents=True, exist_ok=True)
    form = {"parquet": "parquet", "csv": "models"}.get(fmt, "lines")
    suffix = ".parquet" if form == "parquet" else f".{form}.parquet"
    partial = staging_dir / f"partial-{secrets.token_hex(8)}{suffix}"
    try:
        with open_literal(path, root) as raw:
            source = _HashingReader(raw, limits)
            rows = _STAGERS[fmt](source, partial, limits)
            sha256 = source.drain()
        staged = staging_dir / f"{sha256}{suffix}"
        os.replace(partial, staged)
    finally:
        partial.unlink(missing_ok=True)
    return StagedFile(staged, sha256, form, rows)


def _stage_jsonl(source: _HashingReader, out: Path, limits: IngestLimits) -> int:
    with _LineSink(out) as sink:
        _split_lines(io.BufferedReader(source, _BLOCK), sink, limits)
        return sink.rows


def _stage_jsonl_gz(source: _HashingReader, out: Path, limits: IngestLimits) -> int:
    with _LineSink(out) as sink:
        try:
            _split_lines(gzip.GzipFile(fileobj=source, mode="rb"), sink, limits)
        except EOFError as exc:
            raise FileRejected(f"truncated gzip: {exc}") from exc
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise FileRejected("not a readable gzip file") from exc
        return sink.rows


def _stage_json_array(source: _HashingReader, out: Path, limits: IngestLimits) -> int:
    with _LineSink(out) as sink:
        batch: list[bytes] = []
        for element in _json_array_elements(io.BufferedReader(source, _BLOCK), limits):
            batch.append(element)
            if len(batch) >= 10_000:
                sink.add(pa.array(batch, pa.binary()))
                batch = []
        sink.add(pa.array(batch, pa.binary()))
        return sink.rows


def _stage_parquet(source: _HashingReader, out: Path, limits: IngestLimits) -> int:
    """Copy the bytes, then check rows and uncompressed size in the footer before anything reads a row,
    and the decoded size column by column (a dictionary-encoded column decodes to more than the footer
    says: one 1 MB string repeated a million times is a few KB on disk)."""
    with out.open("wb") as copy:
        while chunk := source.read(_BLOCK):
            copy.write(chunk)
    try:
        meta = pq.read_metadata(out)
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected(f"not a Parquet file: {_first_line(str(exc))}") from exc
    if meta.num_rows > limits.rows:
        raise limits.too_many_rows()
    uncompressed = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if uncompressed > limits.file_bytes:
        raise limits.too_many_bytes("bytes uncompressed")
    _check_decoded_size(out, limits)
    return meta.num_rows


def _check_decoded_size(path: Path, limits: IngestLimits) -> None:
    """Decoded bytes of every column, one (row group, column) at a time; string columns are read as
    dictionaries and measured without being expanded, so the check costs what the file holds."""
    try:
        schema = pq.ParquetFile(path).schema
        names = pq.read_schema(path).names
        leaves = [schema.column(i) for i in range(len(schema))]
        strings = [c.path for c in leaves if c.physical_type in ("BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY")]
        parquet = pq.ParquetFile(path, read_dictionary=strings)
        total = 0
        for group in range(parquet.num_row_groups):
            for name in names:
                for chunk in parquet.read_row_group(group, columns=[name]).column(0).chunks:
                    total += _decoded_bytes(chunk)
                    if total > limits.file_bytes:
                        raise limits.too_many_bytes("bytes decoded")
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected(f"unreadable Parquet: {_first_line(str(exc))}") from exc


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
    decoder = json.JSONDecoder()
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


def _stage_models_csv(source: _HashingReader, out: Path, limits: IngestLimits) -> int:
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
    return len(rows)


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
