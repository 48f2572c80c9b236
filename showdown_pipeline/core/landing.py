"""The landing zone: which files are there, what kind they are, and how each one is ingested.

Layout (DESIGN §2): `votes/` (*.jsonl, *.jsonl.gz, *.parquet), `contributors/` (same formats),
`models.csv`, `arena/` (*.json arrays, *.jsonl, *.jsonl.gz). Files are keyed by the sha256 of their
bytes, so a re-delivery is a no-op. A file that cannot be read completely is rejected whole, with
the error, and the rest of the run goes on.

What is read, and what is not (the README's "Landing files" says the same for operators):
- Hidden files and folders (any path component starting with `.`) are partial uploads by convention:
  never read, never listed.
- Only regular files inside the landing root are read, each by its literal path through a staged copy
  (`core/staging.py`): a symlink is followed only when its target, resolved, is a regular file inside
  the root and not hidden; symlinked directories are never followed; FIFOs, sockets and devices are never
  opened. Each of those is recorded as rejected with its reason, without a byte of it being read, so
  its ledger key cannot be a content hash: it is `unread:<sha256 of (reason, path, link target, file
  type, size, mtime)>` — the same entry is recognised on the next run and recorded once.
- One transaction per file holds its rows and its ledger row; `recover_ingest` clears what a killed
  run may have left (raw rows whose file has no ledger row, staged copies).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from showdown_pipeline.core import staging
from showdown_pipeline.core.staging import FileRejected, IngestLimits
from showdown_pipeline.core.warehouse import WarehouseError, WarehouseSession

KINDS = ("contributors", "votes", "arena")
UNREAD_PREFIX = "unread:"

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
    with os.scandir(folder) as entries:
        ordered = sorted(entries, key=lambda e: e.name)
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
    base = {
        "path": path,
        "rel_path": _rel(path, real_root),
        "kind": kind,
        "format": _format_of(path.name, kind),
        "size_bytes": info.st_size,
        "landed_at": datetime.fromtimestamp(info.st_mtime, tz=UTC),
    }
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


def create_ingest_tables(session: WarehouseSession) -> None:
    for name in (
        "create_landing_files",
        "create_raw_votes",
        "add_raw_votes_json_types",
        "create_raw_contributors",
        "create_raw_models",
        "add_raw_models_pre_release",
    ):
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
    sha256: str
    kind: str
    status: str  # ingested | rejected | unchanged
    rows_in: int
    error: str | None


@dataclass(frozen=True)
class IngestPlace:
    """Where an ingest reads and stages, and its limits."""

    landing_root: Path
    staging_dir: Path
    limits: IngestLimits


Progress = Callable[[str, str], None]  # (event, rel_path): hashing | staging | loading | committing | done


def ingest_landing(
    session: WarehouseSession,
    files: list[LandingFile],
    run_id: str,
    place: IngestPlace,
    progress: Progress | None = None,
) -> tuple[list[IngestOutcome], dict[str, int]]:
    """Recover, then ingest `files` one transaction each; returns the outcomes and what recovery removed."""
    create_ingest_tables(session)
    recovered = recover_ingest(session, place.staging_dir)
    outcomes = [ingest_file(session, lf, run_id, place, progress) for lf in files]
    return outcomes, recovered


def ingest_file(
    session: WarehouseSession,
    lf: LandingFile,
    run_id: str,
    place: IngestPlace,
    progress: Progress | None = None,
) -> IngestOutcome:
    """Ingest one landing file: its rows and its ledger row in one transaction; known bytes are a no-op."""
    note = progress or (lambda event, path: None)
    if lf.unread_reason or lf.target is None:
        return _record_unread(session, lf, run_id, lf.unread_reason or "not readable")
    if lf.size_bytes > place.limits.file_bytes:
        return _record_unread(session, lf, run_id, str(place.limits.too_many_bytes()))
    note("hashing", lf.rel_path)
    root = Path(os.path.realpath(place.landing_root))
    try:
        sha256 = staging.hash_file(lf.target, root)
    except FileRejected as exc:  # it changed into something else since discovery
        return _record_unread(session, lf, run_id, str(exc))
    seen = _ledger_row(session, sha256)
    if seen is not None and not _retry(seen):
        return IngestOutcome(lf.rel_path, sha256, lf.kind, "unchanged", seen["rows_in"], seen["error"])
    if not lf.supported:
        error = f"unsupported file type for {lf.kind}/: {lf.path.name}"
        return _record(session, lf, run_id, sha256, "rejected", 0, 0, error)
    note("staging", lf.rel_path)
    try:
        staged = staging.stage_file(lf.target, root, lf.format, place.staging_dir, place.limits)
    except FileRejected as exc:  # the bytes were not all read: keyed by the first look's hash
        if seen is not None:  # still over a limit: the earlier rejection stands
            return IngestOutcome(lf.rel_path, sha256, lf.kind, "unchanged", seen["rows_in"], seen["error"])
        return _record(session, lf, run_id, sha256, "rejected", 0, 0, str(exc))
    try:
        return _commit_staged(session, lf, run_id, staged, place.limits, note)
    finally:
        staged.path.unlink(missing_ok=True)


def _ledger_row(session: WarehouseSession, sha256: str) -> dict | None:
    """status, rows_in, error of the ledger row of `sha256`, if the ledger has one."""
    rows = session.rows("ingest/landing_file_status", {"sha256": sha256})
    return rows[0] if rows else None


def _retry(seen: dict) -> bool:
    """A file rejected for a limit is tried again: the limit may have been raised since."""
    return seen["status"] == "rejected" and (seen["error"] or "").startswith(staging.LIMIT_PREFIX)


def _commit_staged(
    session: WarehouseSession, lf: LandingFile, run_id: str, staged, limits: IngestLimits, note: Progress
):
    """One transaction: the staged rows into the raw table and the file's ledger row, or neither."""
    seen = _ledger_row(session, staged.sha256)  # the bytes read may differ from the first look's
    if seen is not None and not _retry(seen):
        return IngestOutcome(lf.rel_path, staged.sha256, lf.kind, "unchanged", seen["rows_in"], seen["error"])
    note("loading", lf.rel_path)
    try:
        with session.transaction():
            session.run("ingest/landing_file_forget", {"sha256": staged.sha256})
            rows_in, blank_lines = _load_rows(session, lf, staged, limits)
            outcome = _record(session, lf, run_id, staged.sha256, "ingested", rows_in, blank_lines, None)
            note("committing", lf.rel_path)
    except (WarehouseError, FileRejected) as exc:
        if seen is not None:
            return IngestOutcome(
                lf.rel_path, staged.sha256, lf.kind, "unchanged", seen["rows_in"], seen["error"]
            )
        error = str(exc) if isinstance(exc, FileRejected) else f"{exc.kind}: {_first_line(exc.detail)}"
        outcome = _record(session, lf, run_id, staged.sha256, "rejected", 0, 0, error)
    note("done", lf.rel_path)
    return outcome


def _record_unread(session: WarehouseSession, lf: LandingFile, run_id: str, reason: str) -> IngestOutcome:
    key = unread_key(lf, reason)
    seen = _ledger_row(session, key)
    if seen is not None:
        return IngestOutcome(lf.rel_path, key, lf.kind, "unchanged", seen["rows_in"], seen["error"])
    return _record(session, lf, run_id, key, "rejected", 0, 0, reason)


_ABSOLUTE_DIRS = re.compile(r"(?<![\w.~])/(?:[^/\s'\"]+/)+")


def public_error(message: str | None) -> str | None:
    """An error as it may be published: the folders of absolute paths (the server's landing root, the
    home's staging area) are cut, the file's own name is kept."""
    return None if message is None else _ABSOLUTE_DIRS.sub("", message)


def _record(
    session: WarehouseSession,
    lf: LandingFile,
    run_id: str,
    key: str,
    status: str,
    rows_in: int,
    blank: int,
    error,
):
    error = public_error(error)
    session.run(
        "ingest/landing_file_record",
        {
            "sha256": key,
            "path": lf.rel_path,
            "kind": lf.kind,
            "format": lf.format or lf.path.suffix.lstrip(".") or "unknown",
            "size_bytes": lf.size_bytes,
            "landed_at": lf.landed_at,
            "status": status,
            "rows_in": rows_in,
            "blank_lines": blank,
            "error": error,
            "run_id": run_id,
        },
    )
    return IngestOutcome(lf.rel_path, key, lf.kind, status, rows_in, error)


_NOISE = re.compile(r"^(original line|possible solution|line \d+:|\^|to solve this)", re.IGNORECASE)


def _first_line(message: str) -> str:
    """The reader's error in one line, without the offending line's text: it may hold contributor ids."""
    kept = [
        line.strip()
        for line in message.strip().splitlines()
        if line.strip() and not _NOISE.match(line.strip())
    ]
    return " — ".join(kept[:2]) if kept else "unreadable file"


def _load_rows(session: WarehouseSession, lf: LandingFile, staged, limits: IngestLimits) -> tuple[int, int]:
    """Insert the staged rows of one file into its raw table; returns (rows_in, blank_lines). The reader
    must see exactly the records staging counted: anything else rejects the file (nothing dropped)."""
    path = staging.duckdb_literal(staged.path)
    if lf.kind == "models":
        session.run("ingest/raw_models_insert", {"path": path, "sha256": staged.sha256})
        read = session.one("ingest/raw_models_count", {"sha256": staged.sha256})["rows"]
        _same_count(read, staged.rows)
        return staged.rows, 0
    lines_sql = "ingest/lines_from_parquet" if staged.form == "parquet" else "ingest/lines_from_staged"
    session.run(lines_sql, {"path": path})
    summary = session.one("ingest/landing_lines_summary")
    total, blank_lines = summary["lines"], summary["blank_lines"]
    _same_count(total, staged.rows)
    if (summary["longest"] or 0) > limits.line_bytes:  # a Parquet row, as JSON
        raise limits.too_long(f"row {summary['longest_row']}")
    session.run(_INSERT_SQL[lf.kind], {"sha256": staged.sha256})
    session.run("ingest/drop_landing_lines")
    return int(total - blank_lines), int(blank_lines)


def _same_count(read: int, staged: int) -> None:
    if read != staged:
        raise FileRejected(f"the warehouse read {read} records where staging counted {staged}")
