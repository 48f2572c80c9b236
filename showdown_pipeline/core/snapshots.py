"""Published snapshots (DESIGN §6): written whole or not at all, never rewritten, verifiable.

Layout: `<home>/snapshots/<snapshot_id>/{leaderboard.parquet, leaderboard.json, sampling_plan.parquet,
providers.parquet, manifest.json, index.html}` and `<home>/snapshots/LATEST` naming the complete snapshot with the latest data
cut (the last published among equal cuts). A snapshot is built in a hidden temporary folder and renamed
into place, so a crash leaves no half snapshot; LATEST is replaced atomically only after the rename.

A snapshot whose cut is earlier than LATEST's (a backfill, or a mistyped --as-of) is published in its
own folder and never moves LATEST back: its manifest's `latest` section says so. The circuit breakers
compare a run with `baseline_snapshot`, the newest snapshot at or before its own cut.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from showdown_pipeline.core.boards import LEADERBOARD_SCHEMA
from showdown_pipeline.core.digest import sha256_of
from showdown_pipeline.core.sampling_plan import PLAN_SCHEMA

# 2: cluster_lower, cluster_upper added to the leaderboard (additive).
# 3: component, component_anchor added (additive): a model not connected to the anchor is now rated on
#    its component's own scale instead of being left out, and `rank` counts within (board, segment,
#    component); a reader that ignores `component` must keep rows with component != 1 apart.
# 4: rank_lower, rank_upper, p_top1, p_top5, tier added to the leaderboard (additive; null where a board has
#    no bootstrap replicates), and sampling_plan.parquet (sampling_plan.PLAN_SCHEMA) in every snapshot.
# 5: style_shift_p_value and pre_release_provisional added (additive); board = 'style' rows for every segment
#    dimension (the style segment boards, core/style_segments.py); providers.parquet (the provider ledger,
#    providers.PROVIDERS_SCHEMA) in every snapshot.
# 6: rank_method added (additive); rank_lower, rank_upper, p_top1, p_top5 and tier on every board (the style
#    boards and boards without bootstrap rounds from normal draws with their fit's sandwich covariance), and the
#    max-t critical value studentised leave-one-out (core/rank_uncertainty.py).
SCHEMA_VERSION = 6  # of the snapshot; the leaderboard rows: boards.LEADERBOARD_SCHEMA
LATEST_FILE = "LATEST"
DATA_FILES = (
    "leaderboard.parquet",
    "leaderboard.json",
    "sampling_plan.parquet",
    "providers.parquet",
    "index.html",
)
# The files a snapshot of each schema version must list in its manifest (the verifier checks them all).
REQUIRED_FILES = {
    1: ("leaderboard.parquet", "leaderboard.json", "index.html"),
    4: ("leaderboard.parquet", "leaderboard.json", "sampling_plan.parquet", "index.html"),
    5: DATA_FILES,
    6: DATA_FILES,
}
TMP_PREFIX = ".tmp-"


class SnapshotError(RuntimeError):
    pass


def new_snapshot_id(as_of: str, created_at: datetime, run_id: str) -> str:
    """`<as-of>_<UTC creation time>_<run id prefix>`: sortable by data cut, then creation."""
    return f"{as_of}_{created_at.strftime('%Y%m%dT%H%M%SZ')}_{run_id[:8]}"


def latest_decision(snapshots_root: Path, as_of: str) -> dict:
    """Whether a snapshot cut as of `as_of` becomes LATEST: yes unless LATEST's cut is later (then it is
    published beside it, and LATEST stays). The manifest's `latest` section."""
    try:
        current = latest_snapshot(snapshots_root)
    except SnapshotError:
        return {"moved": True, "reason": "no snapshot was LATEST"}
    current_as_of = str(current.manifest.get("data_cut", {}).get("as_of"))
    if as_of < current_as_of:
        return {
            "moved": False,
            "stays": current.snapshot_id,
            "reason": f"this snapshot's cut {as_of} is earlier than LATEST's ({current_as_of}, "
            f"{current.snapshot_id}): published beside it, LATEST never moves back to an earlier cut",
        }
    return {"moved": True, "replaced": current.snapshot_id, "reason": f"LATEST's cut was {current_as_of}"}


def baseline_snapshot(snapshots_root: Path, as_of: str) -> Snapshot | None:
    """The snapshot a run cut as of `as_of` is compared with (circuit breakers): the newest complete one
    whose cut is not later than `as_of` (LATEST, unless this run backfills an earlier cut); None if none."""
    candidates = []
    for snap in list_snapshots(snapshots_root):
        try:
            cut = str(snap.manifest.get("data_cut", {}).get("as_of"))
        except (OSError, ValueError):
            continue  # a snapshot whose manifest cannot be read is no baseline
        if cut <= as_of:
            candidates.append((cut, snap.manifest.get("created_at", ""), snap.snapshot_id, snap))
    return max(candidates, key=lambda c: c[:3])[3] if candidates else None


def write_snapshot(
    snapshots_root: Path,
    snapshot_id: str,
    leaderboard: pd.DataFrame,
    manifest: dict,
    report_html: str,
    sampling_plan: pd.DataFrame,
    providers: pa.Table,
) -> Path:
    """Write a complete snapshot atomically and move LATEST to it unless LATEST holds a later cut (the
    manifest's `latest` section says which); returns its folder. `sampling_plan`: the rows of
    core/sampling_plan (PLAN_SCHEMA); `providers`: the ledger (core/providers.PROVIDERS_SCHEMA)."""
    snapshots_root = Path(snapshots_root)
    snapshots_root.mkdir(parents=True, exist_ok=True)
    final = snapshots_root / snapshot_id
    if final.exists():
        raise SnapshotError(f"snapshot {snapshot_id} already exists; snapshots are never rewritten")
    decision = latest_decision(snapshots_root, str(manifest.get("data_cut", {}).get("as_of")))
    tmp = snapshots_root / f"{TMP_PREFIX}{snapshot_id}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        table = pa.Table.from_pandas(
            leaderboard[LEADERBOARD_SCHEMA.names].reset_index(drop=True),
            schema=LEADERBOARD_SCHEMA,
            preserve_index=False,
        )
        pq.write_table(table, tmp / "leaderboard.parquet")
        rows = json.loads(
            leaderboard[LEADERBOARD_SCHEMA.names].to_json(orient="records", double_precision=15)
        )
        _write_json(
            tmp / "leaderboard.json",
            {
                "schema_version": SCHEMA_VERSION,
                "snapshot_id": snapshot_id,
                "data_cut": manifest.get("data_cut"),
                "anchor": manifest.get("parameters", {}).get("anchor"),
                "columns": LEADERBOARD_SCHEMA.names,
                "rows": rows,
            },
        )
        plan = pa.Table.from_pandas(
            sampling_plan[PLAN_SCHEMA.names].reset_index(drop=True), schema=PLAN_SCHEMA, preserve_index=False
        )
        pq.write_table(plan, tmp / "sampling_plan.parquet")
        pq.write_table(providers, tmp / "providers.parquet")
        (tmp / "index.html").write_text(report_html, encoding="utf-8")
        manifest = {
            **manifest,
            "schema_version": SCHEMA_VERSION,
            "snapshot_id": snapshot_id,
            "latest": decision,
            "files": {
                name: {"sha256": sha256_of(tmp / name), "bytes": (tmp / name).stat().st_size}
                for name in DATA_FILES
            },
        }
        _write_json(tmp / "manifest.json", manifest)
        _fsync_dir(tmp)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if decision["moved"]:
        point_latest(snapshots_root, snapshot_id)
    return final


def point_latest(snapshots_root: Path, snapshot_id: str) -> None:
    tmp = Path(snapshots_root) / f"{TMP_PREFIX}{LATEST_FILE}-{uuid.uuid4().hex[:8]}"
    tmp.write_text(snapshot_id + "\n", encoding="utf-8")
    os.replace(tmp, Path(snapshots_root) / LATEST_FILE)


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")


def _fsync_dir(folder: Path) -> None:
    for child in folder.iterdir():
        with child.open("rb") as handle:
            os.fsync(handle.fileno())


@dataclass(frozen=True)
class Snapshot:
    """A published snapshot, for downstream readers."""

    path: Path

    @property
    def snapshot_id(self) -> str:
        return self.path.name

    @property
    def manifest(self) -> dict:
        return json.loads((self.path / "manifest.json").read_text(encoding="utf-8"))

    def leaderboard(self) -> pd.DataFrame:
        return pq.read_table(self.path / "leaderboard.parquet").to_pandas()

    def sampling_plan(self) -> pd.DataFrame:
        """Which model pairs need votes next (schema 4 on): model_left, model_right, weight, reason."""
        return pq.read_table(self.path / "sampling_plan.parquet").to_pandas()

    def providers(self) -> pd.DataFrame:
        """The provider transparency ledger (schema 5 on), one row per provider (core/providers.py)."""
        return pq.read_table(self.path / "providers.parquet").to_pandas()

    def verify(self) -> list[str]:
        """Problems found (empty when the schema version is one this code knows, every file it requires is
        listed in the manifest, and every file of the folder is listed, a regular file inside it, and matches
        its manifest hash). A manifest this code cannot read is a problem, never an exception or a pass."""
        manifest_path = self.path / "manifest.json"
        if not manifest_path.is_file():
            return [f"{self.snapshot_id}: manifest.json missing"]
        try:
            manifest = self.manifest
        except (ValueError, UnicodeDecodeError) as exc:
            return [f"{self.snapshot_id}: manifest.json is not JSON ({type(exc).__name__})"]
        files = manifest.get("files") if isinstance(manifest, dict) else None
        if not isinstance(files, dict):
            return [f"{self.snapshot_id}: manifest.json lists no files"]
        version = manifest.get("schema_version", 1)
        if type(version) is not int or version < min(REQUIRED_FILES):
            # a version in quotes, a boolean or 0 used to require no file at all
            return [f"{self.snapshot_id}: schema_version {version!r} is not a snapshot schema version"]
        problems = [
            f"{self.snapshot_id}: {name} is not listed in the manifest"
            for name in REQUIRED_FILES[max(v for v in REQUIRED_FILES if v <= version)]
            if name not in files
        ]
        for name, entry in files.items():
            problems += self._file_problems(name, entry)
        listed = {*files, "manifest.json"}
        problems += [
            f"{self.snapshot_id}: {p.name} is in the folder but not listed in the manifest"
            for p in sorted(self.path.iterdir())
            if p.name not in listed
        ]
        return problems

    def _file_problems(self, name: str, entry: object) -> list[str]:
        """Problems of one listed file: a plain name, a regular file (no link), its sha256."""
        if Path(name).name != name or name in ("", ".", ".."):
            return [f"{self.snapshot_id}: {name!r} is not a file name inside the snapshot"]
        target = self.path / name
        if target.is_symlink():
            return [f"{self.snapshot_id}: {name} is a symbolic link, not a file of the snapshot"]
        if not target.is_file():
            return [f"{self.snapshot_id}: {name} missing"]
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            return [f"{self.snapshot_id}: {name} has no sha256 in the manifest"]
        if sha256_of(target) != entry["sha256"]:
            return [f"{self.snapshot_id}: {name} does not match its sha256"]
        return []


def list_snapshots(snapshots_root: Path) -> list[Snapshot]:
    """Complete snapshots, oldest first (temporary folders of unfinished writes are not listed)."""
    root = Path(snapshots_root)
    if not root.is_dir():
        return []
    return [
        Snapshot(p)
        for p in sorted(root.iterdir())
        if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").is_file()
    ]


def latest_snapshot(snapshots_root: Path) -> Snapshot:
    pointer = Path(snapshots_root) / LATEST_FILE
    if not pointer.is_file():
        raise SnapshotError(f"no snapshot published yet under {snapshots_root} (no {LATEST_FILE})")
    return snapshot_by_id(snapshots_root, pointer.read_text(encoding="utf-8").strip())


def snapshot_by_id(snapshots_root: Path, snapshot_id: str) -> Snapshot:
    path = Path(snapshots_root) / snapshot_id
    if snapshot_id.startswith(".") or "/" in snapshot_id or not (path / "manifest.json").is_file():
        raise SnapshotError(f"no complete snapshot {snapshot_id!r} under {snapshots_root}")
    return Snapshot(path)
