"""The landing zone: which files are there, what kind they are, and how each one is ingested.

Layout (DESIGN §2): `votes/` (*.jsonl, *.jsonl.gz, *.parquet), `contributors/` (same formats),
`models.csv`, `arena/` (*.json arrays, *.jsonl, *.jsonl.gz). The ledger (`landing_files`) holds one row
per *read*: some bytes (their sha256) read as one kind and format. The same bytes delivered again, under
any name, are a no-op; the same bytes under another kind or format (a vote file moved out of
`contributors/`, `day.json` renamed `day.jsonl`) are another read, and are read. The first read of some
bytes is keyed by their sha256 (so every ledger made before reads were told apart stays valid), a later
read of them by `read_key` (`r` + a sha256: never a content hash, so no file can take another read's key).
A file that cannot be read completely is rejected whole, with the error, and the rest of the run goes on.

What is read, and what is not (the README's "Landing files" says the same for operators):
- Hidden files and folders (any path component starting with `.`) are partial uploads by convention:
  never read, never listed.
- Only regular files inside the landing root are read, each by its literal path through a staged copy
  (`core/staging.py`), opened one folder at a time from the root without following any link, so a folder
  swapped for a link after discovery is not followed: a symlink is followed only when its target,
  resolved, is a regular file inside the root and not hidden; symlinked directories are never followed;
  FIFOs, sockets and devices are never opened. Each of those, a name that is not UTF-8 and an extension
  the kind does not take are recorded as rejected with the reason, without a byte being read, so the
  ledger key cannot be a content hash: it is `unread:<sha256 of (reason, path, link target, size,
  mtime)>` — the same entry is recognised on the next run and recorded once.
- A rejection is recorded only for a defect of the bytes read (checked to be the bytes first hashed) or of
  the entry itself. A file that vanished or changed while read is skipped and not recorded; an error of the
  warehouse (out of memory, I/O) records nothing and fails the run (`IngestFailed`) after the other files:
  the next run reads those files again.
- Known by stat: a file whose stat fingerprint (device, inode, size, mtime_ns, ctime_ns) at its path is the one
  recorded when its bytes were last hashed there is unchanged without being read (`_known_by_stat`); any
  difference, a new path, or no fingerprint (too fresh, changed while hashed) makes it hashed. The trust
  trade-off (the kernel's ctime) is in the README; `SHOWDOWN_INGEST_TRUST_STAT=0` hashes every file.
- One transaction holds a file's rows and its ledger row (with the other files of its batch on DuckDB, see
  `_Batch`); `recover_ingest` clears what a killed run may have left (raw rows whose file has no ledger row,
  staged copies).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from showdown_pipeline.core import staging
from showdown_pipeline.core.staging import FileRejected, FileUnavailable, IngestLimits
from showdown_pipeline.core.warehouse import WarehouseError, WarehouseSession

KINDS = ("contributors", "votes", "arena")
UNREAD_PREFIX = "unread:"
READ_KEY_PREFIX = "r"  # a later read of some bytes (read_key): a content hash is lowercase hex

_FORMATS_BY_KIND: dict[str, tuple[str, ...]] = {
    "votes": ("jsonl.gz", "jsonl", "parquet"),
    "contributors": ("jsonl.gz", "jsonl", "parquet"),
    "arena": ("jsonl.gz", "jsonl", "json"),
    "models": ("csv",),
}
_INSERT_SQL = {
    "votes": "ingest/raw_votes_insert",
    "arena": "ingest/raw_arena_votes_insert",
    "contributors": "ingest/raw_contributors_insert",
}


@dataclass(frozen=True)
class LandingFile:
    path: Path  # where it sits in the landing zone (a symlink stays the link)
    rel_path: str  # relative to the landing root, with forward slashes
    kind: str  # votes | contributors | models | arena
    format: str | None  # None when the extension is not one we read
    size_bytes: int
    landed_at: datetime
    target: Path | None = None  # the regular file to read (symlinks resolved, inside the root)
    unread_reason: str | None = None  # why it is rejected without being read
    unread_detail: str = ""  # what identifies it without its bytes (link target, file type)

    @property
    def supported(self) -> bool:
        return self.format is not None


def _format_of(name: str, kind: str) -> str | None:
    lowered = name.lower()
    for fmt in _FORMATS_BY_KIND[kind]:
        if lowered.endswith("." + fmt):
            return fmt
    return None


def discover_landing_files(landing_root: Path) -> list[LandingFile]:
    """Every entry of the landing zone the pipeline reads or rejects, in a stable order (kind, then path)."""
    root = Path(landing_root)
    try:
        real_root = root.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        return []
    entries: list[tuple[Path, str]] = [(root / "models.csv", "models")]
    for kind in KINDS:
        folder = root / kind
        if os.path.isdir(folder) and not os.path.islink(folder):
            entries.extend((path, kind) for path in _walk(folder))
        else:
            entries.append((folder, kind))
    found = []
    for path, kind in entries:
        try:
            found.append(_classify(real_root, path, kind))
        except FileNotFoundError:  # not there, or gone since it was listed: nothing to read or record
            continue
    return found


def _walk(folder: Path) -> Iterator[Path]:
    """Non-directory entries and symlinks under `folder`, depth first by name; hidden names skipped,
    symlinked directories not entered (they are classified, and rejected, like any other link)."""
    try:
        with os.scandir(folder) as entries:
            ordered = sorted(entries, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):  # gone (or replaced) since its parent was listed
        return
    for entry in ordered:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path))
        else:
            yield Path(entry.path)


def _classify(real_root: Path, path: Path, kind: str) -> LandingFile:
    """A landing entry: readable (target set) or rejected unread, with the reason."""
    info = os.lstat(path)
    rel_path = _rel(path, real_root)
    base = {
        "path": path,
        "rel_path": printable_name(rel_path),
        "kind": kind,
        "format": _format_of(path.name, kind),
        "size_bytes": info.st_size,
        "landed_at": datetime.fromtimestamp(info.st_mtime, tz=UTC),
    }
    if base["rel_path"] != rel_path:
        return LandingFile(**base, unread_reason=NAME_NOT_UTF8)
    mode, detail, link = info.st_mode, staging.file_type(info.st_mode), ""
    if stat.S_ISLNK(mode):
        link = os.readlink(path)
        target = Path(os.path.realpath(path))
        detail = f"symlink to {link}"
        if not os.path.lexists(target):
            return LandingFile(
                **base, unread_reason="symlink whose target does not exist", unread_detail=detail
            )
        if not staging.is_inside(target, real_root):
            return LandingFile(
                **base, unread_reason="symlink to outside the landing root", unread_detail=detail
            )
        if any(part.startswith(".") for part in target.relative_to(real_root).parts):
            return LandingFile(**base, unread_reason="symlink to a hidden file", unread_detail=detail)
        info = os.stat(target)
        base.update(size_bytes=info.st_size, landed_at=datetime.fromtimestamp(info.st_mtime, tz=UTC))
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            return LandingFile(
                **base, unread_reason="symlinked directory (not followed)", unread_detail=detail
            )
    else:
        target = Path(os.path.realpath(path))
    if not stat.S_ISREG(mode):
        kind_of = staging.file_type(mode)
        return LandingFile(**base, unread_reason=f"not a regular file ({kind_of})", unread_detail=detail)
    return LandingFile(**base, target=target, unread_detail=link)


NAME_NOT_UTF8 = "file name is not valid UTF-8 (its bytes shown as \\x escapes); rename it to have it read"


def printable_name(name: str) -> str:
    """`name` as it may be stored and shown: a name holding bytes that are not UTF-8 (os.fsdecode keeps them
    as lone surrogates, which no database or log can encode) gets them as `\\xNN` escapes."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
    return name


def _rel(path: Path, real_root: Path) -> str:
    """`path` relative to the landing root: its folder is resolved (the root may be reached through a
    symlink), its own name is kept as it is (a symlink stays the link)."""
    parent = Path(os.path.realpath(path.parent))
    return (parent / path.name).relative_to(real_root).as_posix()


def landing_fingerprint(landing_root: Path) -> str:
    """A cheap digest of (path, size, mtime) of every landing file: changes when a file lands."""
    digest = hashlib.sha256()
    for lf in discover_landing_files(landing_root):
        digest.update(f"{lf.rel_path}\0{lf.size_bytes}\0{lf.landed_at.timestamp()}\n".encode())
    return digest.hexdigest()


def unread_key(lf: LandingFile, reason: str) -> str:
    """The ledger key of an entry rejected without reading its bytes (see the module docstring)."""
    identity = "\0".join(
        (reason, lf.rel_path, lf.unread_detail, str(lf.size_bytes), repr(lf.landed_at.timestamp()))
    )
    return UNREAD_PREFIX + hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()


_TABLES_AND_MIGRATIONS = (
    "create_landing_files",
    "add_landing_files_content_sha256",
    "add_landing_files_seen_seq",
    "fill_landing_files_content_sha256",
    "add_landing_files_stat_fingerprint",
    "create_raw_votes",
    "add_raw_votes_json_types",
    "create_raw_contributors",
    "create_raw_models",
    "add_raw_models_pre_release",
)


def create_ingest_tables(session: WarehouseSession) -> None:
    """The ledger and the raw tables; a warehouse made by an earlier version gets the columns it lacks."""
    for name in _TABLES_AND_MIGRATIONS:
        session.run(f"ingest/{name}")


def recover_ingest(session: WarehouseSession, staging_dir: Path) -> dict[str, int]:
    """Undo what a killed run may have left: raw rows of a file with no ledger row (a run of the code
    before the one-transaction ingest could commit them alone), staged copies, the staging table.
    Returns what was removed. Safe on a clean warehouse (removes nothing)."""
    removed = {}
    for table in ("raw_votes", "raw_contributors", "raw_models"):
        removed[table] = session.query(f"ingest/recover_{table}").num_rows
    session.run("ingest/drop_landing_lines")
    staged = list(staging_dir.iterdir()) if staging_dir.is_dir() else []
    for path in staged:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    removed["staged_files"] = len(staged)
    return removed


@dataclass(frozen=True)
class IngestOutcome:
    rel_path: str
    sha256: str  # the ledger key ("" for a skipped file: nothing recorded)
    kind: str
    status: str  # ingested | rejected | unchanged | skipped (not recorded: it changed while read)
    rows_in: int
    error: str | None


@dataclass(frozen=True)
class IngestPlace:
    """Where an ingest reads and stages, and its limits."""

    landing_root: Path
    staging_dir: Path
    limits: IngestLimits
    trust_stat: bool = True  # skip reading a file whose stat fingerprint is unchanged (see _known_by_stat)


ENV_TRUST_STAT = "SHOWDOWN_INGEST_TRUST_STAT"


def trust_stat_from_env(environ: dict[str, str] | None = None) -> bool:
    """`SHOWDOWN_INGEST_TRUST_STAT` (default on): 0/off/false makes every run hash every landing file, for a
    file system whose ctime cannot be trusted (some network or FUSE mounts)."""
    value = (os.environ if environ is None else environ).get(ENV_TRUST_STAT, "").strip().lower()
    if value in ("", "1", "on", "true", "yes"):
        return True
    if value in ("0", "off", "false", "no"):
        return False
    raise ValueError(f"{ENV_TRUST_STAT}={value!r} is not a switch (use 1 or 0)")


# (event, rel_path), in this order for a file read: hashing | staging | loading | loaded (its rows are in,
# its ledger row not yet) | committing | done; recovering and recovered (rel_path "-") before the first.
Progress = Callable[[str, str], None]


def _quiet(event: str, rel_path: str) -> None:
    """No progress report."""


class IngestFailed(RuntimeError):
    """Files could not be loaded for a reason that is not in their bytes: the warehouse failed (out of
    memory, an I/O error, interrupted) or the disk did. They are not recorded, so the next run reads them
    again. Raised after every other file of the run was ingested: the run must fail rather than publish
    without them."""

    def __init__(self, failures: list[tuple[str, str]]):
        self.failures = failures
        listed = "; ".join(f"{path} ({why})" for path, why in failures)
        super().__init__(
            f"{len(failures)} landing file(s) not loaded, for a fault of the warehouse or the disk, not of the "
            f"file; not recorded, read again by the next run: {listed}"
        )


class _NotTheBytes(Exception):
    """Loading one file failed for a reason outside its bytes (see IngestFailed)."""

    def __init__(self, rel_path: str, why: str):
        super().__init__(why)
        self.rel_path, self.why = rel_path, why


def ingest_landing(
    session: WarehouseSession,
    files: list[LandingFile],
    run_id: str,
    place: IngestPlace,
    progress: Progress | None = None,
) -> tuple[list[IngestOutcome], dict[str, int]]:
    """Recover, then ingest `files` one transaction each; returns the outcomes and what recovery removed.
    Raises IngestFailed, after the other files, when the warehouse failed on some (see there)."""
    note = progress or _quiet
    create_ingest_tables(session)
    note("recovering", "-")
    recovered = recover_ingest(session, place.staging_dir)
    note("recovered", "-")
    results, failures = [], []
    root = Path(os.path.realpath(place.landing_root))
    with _ReadAhead(place, root) as ahead, _Batch(session, run_id, place.limits, note) as batch:
        for at, lf in enumerate(files):
            ahead.after(lambda at=at: _next_to_stage(session, files[at + 1 :], root, place))
            try:
                results.append(ingest_file(session, lf, run_id, place, ahead, note, batch))
            except _NotTheBytes as fault:
                failures.append((fault.rel_path, fault.why))
        batch.flush()
    outcomes = [r.outcome if isinstance(r, _Pending) else r for r in results]
    failures += batch.failures
    if failures:
        raise IngestFailed(failures)
    return [o for o in outcomes if o is not None], recovered


def _unread_why(lf: LandingFile, place: IngestPlace) -> str | None:
    """Why `lf` is recorded without a byte read (its entry, its name or its size), or None: it is read."""
    if lf.unread_reason or lf.target is None:
        return lf.unread_reason or "not readable"
    if not lf.supported:  # a defect of the name, not of the bytes: renamed, it is read
        return f"unsupported file type for {lf.kind}/: {lf.path.name}"
    if lf.size_bytes > place.limits.file_bytes:
        return str(place.limits.too_many_bytes())
    return None


def _next_to_stage(
    session: WarehouseSession, files: list[LandingFile], root: Path, place: IngestPlace
) -> LandingFile | None:
    """The next of `files` ingest_file will stage (read whole): readable, supported, within the size limit
    and not known by stat. A file known only by content (renamed) is staged for nothing: it stays correct."""
    for lf in files:
        if _unread_why(lf, place) is not None:
            continue
        try:
            if _stat_content(session, lf, root, place) is None:
                return lf
        except (FileUnavailable, FileRejected, OSError):
            return None  # ingest_file meets it in turn and says why
    return None


class _ReadAhead:
    """Stages one file ahead, in a thread, while the warehouse loads the current one: staging is Python
    reading, gunzipping and splitting lines (the GIL is released in zlib, hashlib, numpy and Arrow), the load is
    DuckDB (which releases it too), so the two overlap on two cores. Only the staged copy is made ahead: every
    decision (known by stat or content, the ledger, the transaction) is still taken in order, by ingest_file,
    and a copy ingest_file does not take (the file turned out known) is deleted."""

    def __init__(self, place: IngestPlace, root: Path):
        self.place, self.root = place, root
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-read-ahead")
        self.ahead: tuple[LandingFile, Future] | None = None
        self.choose: Callable[[], LandingFile | None] | None = None

    def __enter__(self) -> _ReadAhead:
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._discard()
        finally:  # interrupted again while awaiting it: once the thread is joined, the copy is there to delete
            self.pool.shutdown(wait=True)
            self._discard()

    def after(self, choose: Callable[[], LandingFile | None]) -> None:
        """How to find the file to stage ahead once the current one is staged (called then, on this thread)."""
        self.choose = choose

    def stage(self, lf: LandingFile, content: str) -> staging.StagedFile:
        """`lf` staged: the copy made ahead when it is this file and holds the bytes hashed since
        (`content`), else staged now; then the next file is started. Raises what staging raises, as
        staging it now would. Only a failure ingest_file goes on after (a defect of the file, a vanished
        file, an I/O error) starts the next read: after any other (out of memory, an interrupted run) the
        run stops, reading nothing more; a copy made ahead stays in self.ahead until it is handed over, so
        an interrupt while it is awaited leaves it to __exit__."""
        taken = self.ahead is not None and self.ahead[0] is lf
        if not taken:
            self._discard()
        try:
            staged = self._taken(lf, content) if taken else self._stage(lf)
        except (FileUnavailable, FileRejected, OSError):
            self.ahead = None
            self._start_next()
            raise
        self.ahead = None
        try:
            self._start_next()
        except BaseException:  # interrupted while looking for the next file: the copy is not handed over
            staged.path.unlink(missing_ok=True)
            raise
        return staged

    def _taken(self, lf: LandingFile, content: str) -> staging.StagedFile:
        """The copy of `lf` made ahead, when its bytes are the ones hashed after it was made. A file that
        changed in between (rewritten, replaced, gone and back) is staged again now, after its hash, as
        without the read-ahead: the copy committed is never older than the first look, so bytes known to
        be superseded are not recorded (then read again next run). A rejection of the bytes hashed stands."""
        try:
            staged = self.ahead[1].result()
        except FileRejected as exc:
            if getattr(exc, "sha256", None) == content:
                raise
            staged = None
        except FileUnavailable:
            staged = None
        if staged is not None and staged.sha256 == content:
            return staged
        if staged is not None:
            staged.path.unlink(missing_ok=True)
        self.ahead = None
        return self._stage(lf)

    def _stage(self, lf: LandingFile) -> staging.StagedFile:
        return staging.stage_file(
            lf.target, self.root, lf.format, self.place.staging_dir, self.place.limits, lf.kind
        )

    def _start_next(self) -> None:
        following = self.choose() if self.choose is not None else None
        self.choose = None
        if following is not None:
            self.ahead = (following, self.pool.submit(self._stage, following))

    def _discard(self) -> None:
        """Drop a copy made ahead that will not be taken (waiting for it: it is being written). It is
        forgotten only once deleted: a run interrupted while it waits leaves it to __exit__."""
        if self.ahead is None:
            return
        future = self.ahead[1]
        if future.exception() is None:  # its failure belongs to a read that will not happen now
            with contextlib.suppress(OSError):
                future.result().path.unlink(missing_ok=True)
        self.ahead = None


# When a batch of staged files is loaded (DuckDB; Spark loads each file alone): once it holds this many
# records, or records of this many bytes (as read: lines, Parquet's columns decoded; `StagedFile.text_bytes`).
# One INSERT over several files fills whole row groups (122,880 rows), which DuckDB parses on both cores and
# writes while inserting, so the commit writes almost nothing; a file alone (~110k records a day at 10M votes:
# less than a row group) was parsed on one core and written again by its commit, ~0.4-0.6 s a file
# (bench/bench_ingest_batch.py). The bounds keep what a crash makes the next run read again, and the staged
# lines the warehouse holds at once, to a few files' worth.
BATCH_RECORDS = 300_000
BATCH_BYTES = 256 * 2**20


@dataclass
class _Pending:
    """A staged file waiting in a batch; `outcome` is set once the batch is loaded (None: the warehouse
    failed on it, see _Batch.failures)."""

    lf: LandingFile
    staged: staging.StagedFile
    read: _Read
    fingerprint: str | None = None
    outcome: IngestOutcome | None = None


class _Batch:
    """Staged files of one kind (new reads whose copy holds the bytes hashed: JSON Lines, JSON arrays or
    Parquet), loaded together in one transaction: each file's rows under its own ledger key, and its ledger
    row. The ledger is written in the files' order: ingest_file loads the batch before anything else
    writes the ledger, and before judging bytes the batch holds. A batch the warehouse refuses (a file
    rejected, an error of the warehouse) is rolled back and each of its files committed alone, as without
    batches, so each file's fate is its own. A run killed meanwhile committed none of the batch: the next
    run reads its files again."""

    def __init__(self, session: WarehouseSession, run_id: str, limits: IngestLimits, note: Progress):
        self.session, self.run_id, self.limits, self.note = session, run_id, limits, note
        self.batched = session.engine == "duckdb"
        self.pending: list[_Pending] = []
        self.records = self.bytes = 0  # of the pending files' records
        self.failures: list[tuple[str, str]] = []  # files the warehouse failed on, when loaded alone

    def __enter__(self) -> _Batch:
        return self

    def __exit__(self, *exc) -> None:  # left by an error or an interrupt: the copies never loaded go
        for p in self.pending:
            p.staged.path.unlink(missing_ok=True)
        self.pending = []

    def takes(self, lf: LandingFile, staged: staging.StagedFile, read: _Read) -> bool:
        return (
            self.batched
            and staged.form in ("lines", "parquet")
            and lf.kind in _INSERT_SQL
            and read.seen is None  # a limit's rejection tried again is replaced in a transaction of its own
            and staged.sha256 == read.content
        )

    def holds(self, content: str) -> bool:
        return any(p.read.content == content for p in self.pending)

    def add(self, pending: _Pending) -> _Pending:
        if self.pending and self.pending[0].lf.kind != pending.lf.kind:
            try:
                self.flush()
            except BaseException:  # an interrupt, a failed run: the copy neither loaded nor pending goes too
                pending.staged.path.unlink(missing_ok=True)
                raise
        self.pending.append(pending)
        self.records += pending.staged.rows
        self.bytes += pending.staged.text_bytes
        if self.records >= BATCH_RECORDS or self.bytes >= BATCH_BYTES:
            self.flush()
        return pending

    def flush(self) -> None:
        """Load the batch: one transaction, or each file alone when the warehouse refuses it."""
        batch, self.pending, self.records, self.bytes = self.pending, [], 0, 0
        if not batch:
            return
        try:
            try:
                self._load(batch)
            except (FileRejected, WarehouseError):
                # the COMMIT failed after the batch was written (say, its checkpoint): the run stops on the
                # warehouse's error; its files are in the ledger, not read again
                if self._written(batch):
                    raise
                for p in batch:
                    p.outcome = None
                    try:
                        p.outcome = _commit_staged(
                            self.session, p.lf, self.run_id, p.staged, p.read, self.limits, self.note
                        )
                    except _NotTheBytes as fault:
                        self.failures.append((fault.rel_path, fault.why))
        finally:
            for p in batch:
                p.staged.path.unlink(missing_ok=True)
        for p in batch:
            if p.fingerprint is not None and p.outcome is not None and p.outcome.sha256:
                _remember_stat(self.session, p.lf, p.outcome.sha256, p.read.content, p.fingerprint)

    def _written(self, batch: list[_Pending]) -> bool:
        return bool(self.session.rows("ingest/landing_file_status", {"sha256": batch[0].read.key}))

    def _load(self, batch: list[_Pending]) -> None:
        for p in batch:
            self.note("loading", p.lf.rel_path)
        with self.session.transaction():
            counts = _load_lines(
                self.session, batch[0].lf.kind, [(p.staged, p.read.key) for p in batch], self.limits
            )
            for p, (rows_in, blank_lines) in zip(batch, counts, strict=True):
                self.note("loaded", p.lf.rel_path)
                p.outcome = _record(
                    self.session, p.lf, self.run_id, p.read, "ingested", rows_in, blank_lines, None
                )
            self.note("committing", batch[-1].lf.rel_path)
        for p in batch:
            self.note("done", p.lf.rel_path)


def ingest_file(
    session: WarehouseSession,
    lf: LandingFile,
    run_id: str,
    place: IngestPlace,
    ahead: _ReadAhead,
    progress: Progress | None,
    batch: _Batch,
) -> IngestOutcome | _Pending:
    """Ingest one landing file: its rows and its ledger row in one transaction (with the other files of its
    `batch`, when it joins one: then its outcome is the _Pending's once the batch is loaded); a read already
    in the ledger (same bytes, kind and format) is a no-op. A rejection is recorded only for a defect of the
    bytes read (or of the entry, unread); a file that changed while read is skipped, unrecorded. Whatever
    writes the ledger here loads the batch first, so the ledger is written in the files' order."""
    note = progress or _quiet
    if (why := _unread_why(lf, place)) is not None:
        batch.flush()
        return _record_unread(session, lf, run_id, why)
    note("hashing", lf.rel_path)
    root = ahead.root  # the landing root, resolved once per ingest
    try:
        known = _known_by_stat(session, lf, root, place)
        if known is not None:
            return known
        content, fingerprint = staging.hash_and_fingerprint(lf.target, root)
    except FileUnavailable as exc:
        return _skipped(lf, str(exc))
    except FileRejected as exc:  # it changed into something unreadable since discovery
        batch.flush()
        return _record_unread(session, lf, run_id, str(exc))
    except OSError as exc:  # reading failed (a disk, a network mount): no defect of the bytes
        raise _NotTheBytes(lf.rel_path, f"I/O error: {exc.strerror or exc}") from exc
    if batch.holds(content):  # the same bytes again: judged against the ledger once those are in it
        batch.flush()
    read = _find_read(session, lf, content)
    outcome = _read_hashed(session, lf, run_id, place, read, note, ahead, batch, fingerprint)
    if not isinstance(outcome, _Pending) and fingerprint is not None and outcome.sha256:
        _remember_stat(session, lf, outcome.sha256, content, fingerprint)  # a batched file's: by the batch
    return outcome


def _read_hashed(
    session: WarehouseSession,
    lf: LandingFile,
    run_id: str,
    place: IngestPlace,
    read,
    note,
    ahead,
    batch,
    fingerprint: str | None,
) -> IngestOutcome | _Pending:
    """A hashed file: unchanged when its read is in the ledger, else staged, then committed alone or added
    to the batch with the stat fingerprint it had when hashed (see ingest_file)."""
    if read.seen is not None and not _retry(read.seen):
        return _unchanged(session, lf, read)
    note("staging", lf.rel_path)
    try:
        staged = ahead.stage(lf, read.content)
    except FileUnavailable as exc:
        return _skipped(lf, str(exc))
    except FileRejected as exc:
        batch.flush()
        return _rejected_while_staging(session, lf, run_id, read, exc)
    except OSError as exc:  # reading the file or writing its copy failed (a disk, a mount): not the bytes
        raise _NotTheBytes(lf.rel_path, f"I/O error: {exc.strerror or exc}") from exc
    if batch.takes(lf, staged, read):
        return batch.add(_Pending(lf, staged, read, fingerprint))
    try:
        batch.flush()
        return _commit_staged(session, lf, run_id, staged, read, place.limits, note)
    finally:
        staged.path.unlink(missing_ok=True)


def _known_by_stat(
    session: WarehouseSession, lf: LandingFile, root: Path, place: IngestPlace
) -> IngestOutcome | None:
    """Known by stat: the file at this path has the stat fingerprint it had when its bytes were last hashed
    here, and that read is in the ledger (not a limit rejection, which is retried): unchanged, without a
    byte read. Anything else (a new path, any change of device, inode, size, mtime or ctime, a fingerprint
    never recorded because the file was too fresh or changed while hashed) returns None: it is hashed."""
    read = _stat_content(session, lf, root, place)
    return None if read is None else _unchanged(session, lf, read)


def _stat_content(session: WarehouseSession, lf: LandingFile, root: Path, place: IngestPlace) -> _Read | None:
    """The ledger's read of `lf` when it is known by stat (see _known_by_stat), else None; writes nothing."""
    if not place.trust_stat:
        return None
    fingerprint = staging.fingerprint_file(lf.target, root)
    rows = session.rows(
        "ingest/landing_content_by_stat",
        {"path": lf.rel_path, "kind": lf.kind, "format": lf.format, "stat_fingerprint": fingerprint},
    )
    if not rows:
        return None
    read = _find_read(session, lf, rows[0]["content_sha256"])
    return None if read.seen is None or _retry(read.seen) else read


def _remember_stat(
    session: WarehouseSession, lf: LandingFile, key: str, content: str, fingerprint: str
) -> None:
    """Record the fingerprint the file had while `content` was hashed, on its ledger row when that row is the
    read of those bytes at this path (the statement matches nothing otherwise: another file's bytes were
    staged, or the bytes were first delivered under another name)."""
    session.run(
        "ingest/landing_file_stat_seen",
        {"stat_fingerprint": fingerprint, "sha256": key, "path": lf.rel_path, "content_sha256": content},
    )


@dataclass(frozen=True)
class _Read:
    """One way of reading some bytes: its ledger key, and its ledger row (status, rows_in, error) if any."""

    key: str
    content: str
    seen: dict | None


def read_key(content: str, kind: str, fmt: str | None) -> str:
    """The ledger key of the read of `content` as `kind`/`fmt` when its first key is taken: `r` and the
    sha256 of ('read', kind, format, content). Never the sha256 of any file, which is lowercase hex: keyed
    by that hash alone, a file whose bytes are that tuple (a few dozen bytes anyone can write) took the
    key of another file's later read, and every run after failed on the ledger's key."""
    return READ_KEY_PREFIX + hashlib.sha256(f"read\0{kind}\0{fmt}\0{content}".encode()).hexdigest()


def _find_read(session: WarehouseSession, lf: LandingFile, content: str) -> _Read:
    """The read of `content` as `lf`'s kind and format: its ledger row when there is one; else a new key,
    the content's sha256 for the first read of those bytes, `read_key` for a later one or when that hash is
    already another read's key (a ledger from before `read_key`'s prefix holds later reads' keys in hex)."""
    rows = session.rows("ingest/landing_reads_of_content", {"content_sha256": content})
    for row in rows:
        if row["kind"] == lf.kind and row["format"] == lf.format:
            return _Read(row["sha256"], content, row)
    if rows or session.rows("ingest/landing_file_status", {"sha256": content}):
        return _Read(read_key(content, lf.kind, lf.format), content, None)
    return _Read(content, content, None)


def _retry(seen: dict) -> bool:
    """A file rejected for a limit is tried again: the limit may have been raised since."""
    return seen["status"] == "rejected" and (seen["error"] or "").startswith(staging.LIMIT_PREFIX)


def _unchanged(session: WarehouseSession, lf: LandingFile, read: _Read) -> IngestOutcome:
    _sighted(session, lf, read.key)
    return IngestOutcome(
        lf.rel_path, read.key, lf.kind, "unchanged", read.seen["rows_in"], read.seen["error"]
    )


def _sighted(session: WarehouseSession, lf: LandingFile, key: str) -> None:
    """A models.csv found again: the registry in force is the one the landing zone holds now (core/registry.py),
    even when its bytes were seen before (a revert)."""
    if lf.kind == "models":
        session.run("ingest/landing_file_seen", {"sha256": key})


def _skipped(lf: LandingFile, why: str) -> IngestOutcome:
    return IngestOutcome(lf.rel_path, "", lf.kind, "skipped", 0, f"{why}; not recorded, read again next run")


def _rejected_while_staging(
    session: WarehouseSession, lf: LandingFile, run_id: str, read: _Read, exc: FileRejected
) -> IngestOutcome:
    """Staging found a defect: recorded only when the bytes it read are the bytes first hashed."""
    if getattr(exc, "sha256", None) != read.content:
        return _skipped(lf, "changed while being read")
    return _record_rejection(session, lf, run_id, read, str(exc))


def _record_rejection(session: WarehouseSession, lf: LandingFile, run_id: str, read: _Read, error: str):
    """Record a rejection of `read`; one already recorded (a limit, tried again) is replaced only when the
    reason changed, so a file still over the same limit changes nothing."""
    if read.seen is None:
        return _record(session, lf, run_id, read, "rejected", 0, 0, error)
    if read.seen["error"] == public_error(error):
        return _unchanged(session, lf, read)
    with session.transaction():
        session.run("ingest/landing_file_forget", {"sha256": read.key})
        return _record(session, lf, run_id, read, "rejected", 0, 0, error)


# Errors of the warehouse itself, not of the values it was given (`WarehouseError.kind`, the engine's name):
# a file they interrupt is not recorded (the run fails and the next one reads it again). Any other engine
# error while loading a file's rows (a conversion, an unsupported type, invalid input) is deterministic for
# those bytes: a rejection.
WAREHOUSE_FAULTS = frozenset(
    {
        "OutOfMemoryException",
        "IOException",
        "InterruptException",
        "FatalException",
        "InternalException",
        "TransactionException",
        "ConnectionException",
        "PermissionException",
        "ConstraintException",
        "CatalogException",
        "ParserException",
        "BinderException",
        "SerializationException",
        "HTTPException",
        "WarehouseError",  # the session's own (a statement that returned what it must not)
    }
)


def _commit_staged(
    session: WarehouseSession, lf: LandingFile, run_id: str, staged, read: _Read, limits: IngestLimits, note
):
    """One transaction: the staged rows into the raw table and the file's ledger row, or neither."""
    if staged.sha256 != read.content:  # the file changed since the first look: judge the bytes read
        read = _find_read(session, lf, staged.sha256)
        if read.seen is not None and not _retry(read.seen):
            return _unchanged(session, lf, read)
    note("loading", lf.rel_path)
    try:
        with session.transaction():
            if read.seen is not None:  # a rejection for a limit, tried again: replaced in this transaction
                session.run("ingest/landing_file_forget", {"sha256": read.key})
            rows_in, blank_lines = _load_rows(session, lf, staged, read.key, limits)
            note("loaded", lf.rel_path)
            outcome = _record(session, lf, run_id, read, "ingested", rows_in, blank_lines, None)
            note("committing", lf.rel_path)
    except FileRejected as exc:
        outcome = _record_rejection(session, lf, run_id, read, str(exc))
    except WarehouseError as exc:
        why = f"{exc.kind}: {_first_line(exc.detail)}"
        if exc.kind in WAREHOUSE_FAULTS:
            raise _NotTheBytes(lf.rel_path, public_error(why)) from exc
        outcome = _record_rejection(session, lf, run_id, read, why)
    note("done", lf.rel_path)
    return outcome


def _record_unread(session: WarehouseSession, lf: LandingFile, run_id: str, reason: str) -> IngestOutcome:
    key = unread_key(lf, reason)
    rows = session.rows("ingest/landing_file_status", {"sha256": key})
    read = _Read(key, "", rows[0] if rows else None)
    if read.seen is not None:
        return _unchanged(session, lf, read)
    return _record(session, lf, run_id, read, "rejected", 0, 0, reason)


_ABSOLUTE_DIRS = re.compile(r"(?<![\w.~])/(?:[^/\s'\"]+/)+")


def public_error(message: str | None) -> str | None:
    """An error as it may be published: the folders of absolute paths (the server's landing root, the
    home's staging area) are cut, the file's own name is kept."""
    return None if message is None else _ABSOLUTE_DIRS.sub("", message)


def _record(
    session: WarehouseSession,
    lf: LandingFile,
    run_id: str,
    read: _Read,
    status: str,
    rows_in: int,
    blank: int,
    error,
):
    error = public_error(error)
    session.run(
        "ingest/landing_file_record",
        {
            "sha256": read.key,
            "content_sha256": read.content or None,
            "path": lf.rel_path,
            "kind": lf.kind,
            "format": lf.format or PurePosixPath(lf.rel_path).suffix.lstrip(".") or "unknown",
            "size_bytes": lf.size_bytes,
            "landed_at": lf.landed_at,
            "status": status,
            "rows_in": rows_in,
            "blank_lines": blank,
            "error": error,
            "run_id": run_id,
        },
    )
    return IngestOutcome(lf.rel_path, read.key, lf.kind, status, rows_in, error)


_NOISE = re.compile(r"^(original line|possible solution|line \d+:|\^|to solve this)", re.IGNORECASE)


def _first_line(message: str) -> str:
    """The reader's error in one line, without the offending line's text: it may hold contributor ids."""
    kept = [
        line.strip()
        for line in message.strip().splitlines()
        if line.strip() and not _NOISE.match(line.strip())
    ]
    return " — ".join(kept[:2]) if kept else "unreadable file"


def _load_rows(
    session: WarehouseSession, lf: LandingFile, staged, key: str, limits: IngestLimits
) -> tuple[int, int]:
    """Insert the staged rows of one file into its raw table, under its ledger key; returns (rows_in,
    blank_lines). The reader must see exactly the records staging counted: anything else rejects the file."""
    if lf.kind == "models":
        path = staging.duckdb_literal(staged.path)
        session.run("ingest/raw_models_insert", {"path": path, "sha256": key})
        read = session.one("ingest/raw_models_count", {"sha256": key})["rows"]
        _same_count(read, staged.rows)
        return staged.rows, 0
    return _load_lines(session, lf.kind, [(staged, key)], limits)[0]


def _load_lines(
    session: WarehouseSession, kind: str, files: list[tuple[staging.StagedFile, str]], limits: IngestLimits
) -> list[tuple[int, int]]:
    """Insert the staged records of `files` (staged copy, ledger key; JSON Lines, JSON arrays or Parquet, all
    of `kind`) into their raw table in one statement; (rows_in, blank_lines) of each. See _load_rows."""
    for at, (staged, key) in enumerate(files):
        if staged.form == "parquet":
            with session.registered("parquet_records", staging.parquet_records(staged)):
                session.run(
                    "ingest/lines_from_parquet_add" if at else "ingest/lines_from_parquet", {"sha256": key}
                )
        else:
            session.run(
                "ingest/lines_from_staged_add" if at else "ingest/lines_from_staged",
                {"path": staging.duckdb_literal(staged.path), "sha256": key},
            )
    summary = {row["source_sha256"]: row for row in session.rows("ingest/landing_lines_summary")}
    counts = []
    for staged, key in files:
        row = summary.get(key, {"lines": 0, "blank_lines": 0, "longest": None, "longest_row": None})
        _same_count(row["lines"], staged.rows)
        if (row["longest"] or 0) > limits.line_bytes:  # a Parquet row, as JSON
            raise limits.too_long(f"row {row['longest_row']}")
        counts.append((int(row["lines"] - row["blank_lines"]), int(row["blank_lines"])))
    session.run(_INSERT_SQL[kind])
    session.run("ingest/drop_landing_lines")
    return counts


def _same_count(read: int, staged: int) -> None:
    if read != staged:
        raise FileRejected(f"the warehouse read {read} records where staging counted {staged}")
