"""The landing zone: which files are there, what kind they are, and how each one is ingested.

Layout (DESIGN §2): `votes/` (*.jsonl, *.jsonl.gz, *.parquet), `contributors/` (same formats),
`models.csv`, `arena/` (*.json arrays, *.jsonl, *.jsonl.gz). Files are keyed by the sha256 of their
bytes, so a re-delivery is a no-op. A file that cannot be read completely is rejected whole, with
the error, and the rest of the run goes on. Hidden files (a leading dot) are partial uploads by
convention and are not looked at.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from showdown_pipeline.core.sql import run_sql

UNIT_SEPARATOR = "\x1f"

_FORMATS_BY_KIND: dict[str, tuple[str, ...]] = {
    "votes": ("jsonl.gz", "jsonl", "parquet"),
    "contributors": ("jsonl.gz", "jsonl", "parquet"),
    "arena": ("jsonl.gz", "jsonl", "json"),
}

_LINES_SQL_BY_FORMAT = {
    "jsonl": "ingest/lines_from_text",
    "jsonl.gz": "ingest/lines_from_text",
    "parquet": "ingest/lines_from_parquet",
}


@dataclass(frozen=True)
class LandingFile:
    path: Path  # absolute
    rel_path: str  # relative to the landing root, with forward slashes
    kind: str  # votes | contributors | models | arena
    format: str | None  # None when the extension is not one we read
    size_bytes: int
    landed_at: datetime

    @property
    def supported(self) -> bool:
        return self.format is not None


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _format_of(name: str, kind: str) -> str | None:
    lowered = name.lower()
    for fmt in _FORMATS_BY_KIND[kind]:
        if lowered.endswith("." + fmt):
            return fmt
    return None


def discover_landing_files(landing_root: Path) -> list[LandingFile]:
    """Every file of the landing zone the pipeline reads, in a stable order (kind, then path)."""
    landing_root = Path(landing_root)
    found: list[LandingFile] = []
    models_csv = landing_root / "models.csv"
    if models_csv.is_file():
        found.append(_landing_file(landing_root, models_csv, "models", "csv"))
    for kind in ("contributors", "votes", "arena"):
        folder = landing_root / kind
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or any(part.startswith(".") for part in path.relative_to(folder).parts):
                continue
            found.append(_landing_file(landing_root, path, kind, _format_of(path.name, kind)))
    return found


def _landing_file(root: Path, path: Path, kind: str, fmt: str | None) -> LandingFile:
    stat = path.stat()
    return LandingFile(
        path=path.resolve(),
        rel_path=path.relative_to(root).as_posix(),
        kind=kind,
        format=fmt,
        size_bytes=stat.st_size,
        landed_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
    )


def landing_fingerprint(landing_root: Path) -> str:
    """A cheap digest of (path, size, mtime) of every landing file: changes when a file lands."""
    digest = hashlib.sha256()
    for lf in discover_landing_files(landing_root):
        digest.update(f"{lf.rel_path}\0{lf.size_bytes}\0{lf.landed_at.timestamp()}\n".encode())
    return digest.hexdigest()


def create_ingest_tables(conn: duckdb.DuckDBPyConnection) -> None:
    for name in ("create_landing_files", "create_raw_votes", "create_raw_contributors", "create_raw_models"):
        run_sql(conn, f"ingest/{name}")


@dataclass(frozen=True)
class IngestOutcome:
    rel_path: str
    sha256: str
    kind: str
    status: str  # ingested | rejected | unchanged
    rows_in: int
    error: str | None


def ingest_file(conn: duckdb.DuckDBPyConnection, lf: LandingFile, run_id: str) -> IngestOutcome:
    """Ingest one landing file in one transaction; a file whose bytes were seen before is a no-op."""
    sha256 = file_sha256(lf.path)
    rows = run_sql(conn, "ingest/landing_file_status", {"sha256": sha256}).fetchall()
    seen = rows[0] if rows else None
    if seen is not None:
        return IngestOutcome(lf.rel_path, sha256, lf.kind, "unchanged", seen[1], seen[2])

    status, rows_in, blank_lines, error = "ingested", 0, 0, None
    if not lf.supported:
        status, error = "rejected", f"unsupported file type for {lf.kind}/: {lf.path.name}"
    else:
        conn.execute("BEGIN TRANSACTION")
        try:
            rows_in, blank_lines = _load_rows(conn, lf, sha256)
            conn.execute("COMMIT")
        except duckdb.Error as exc:
            conn.execute("ROLLBACK")
            status, rows_in, blank_lines = "rejected", 0, 0
            error = f"{type(exc).__name__}: {_first_line(str(exc))}"
    run_sql(
        conn,
        "ingest/landing_file_record",
        {
            "sha256": sha256,
            "path": lf.rel_path,
            "kind": lf.kind,
            "format": lf.format or lf.path.suffix.lstrip(".") or "unknown",
            "size_bytes": lf.size_bytes,
            "landed_at": lf.landed_at,
            "status": status,
            "rows_in": rows_in,
            "blank_lines": blank_lines,
            "error": error,
            "run_id": run_id,
        },
    )
    return IngestOutcome(lf.rel_path, sha256, lf.kind, status, rows_in, error)


_NOISE = re.compile(r"^(original line|possible solution|line \d+:|\^|to solve this)", re.IGNORECASE)


def _first_line(message: str) -> str:
    """The reader's error in one line, without the offending line's text: it may hold contributor ids."""
    kept = [
        line.strip()
        for line in message.strip().splitlines()
        if line.strip() and not _NOISE.match(line.strip())
    ]
    return " — ".join(kept[:2]) if kept else "unreadable file"


def _load_rows(conn: duckdb.DuckDBPyConnection, lf: LandingFile, sha256: str) -> tuple[int, int]:
    """Insert the rows of one file into its raw table; returns (rows_in, blank_lines)."""
    path = str(lf.path)
    if lf.kind == "models":
        before = conn.execute("SELECT count(*) FROM raw_models").fetchall()[0][0]
        run_sql(conn, "ingest/raw_models_insert", {"path": path, "sha256": sha256})
        after = conn.execute("SELECT count(*) FROM raw_models").fetchall()[0][0]
        return after - before, 0

    if lf.format == "json":
        run_sql(conn, "ingest/lines_from_json_array", {"path": path})
    elif lf.format == "parquet":
        run_sql(conn, _LINES_SQL_BY_FORMAT["parquet"], {"path": path})
    else:
        run_sql(conn, _LINES_SQL_BY_FORMAT[lf.format], {"path": path, "delimiter": UNIT_SEPARATOR})
    rows_in, blank_lines = conn.execute(
        "SELECT count(*) FILTER (WHERE NOT is_blank), count(*) FILTER (WHERE is_blank) FROM landing_lines"
    ).fetchall()[0]
    insert = {
        "votes": "ingest/raw_votes_insert",
        "arena": "ingest/raw_arena_votes_insert",
        "contributors": "ingest/raw_contributors_insert",
    }[lf.kind]
    run_sql(conn, insert, {"sha256": sha256})
    conn.execute("DROP TABLE IF EXISTS landing_lines")
    return int(rows_in), int(blank_lines)
