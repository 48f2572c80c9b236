"""Reader API for downstream jobs: find, load and verify published snapshots.

from showdown_pipeline import snapshots
snap = snapshots.latest("data")            # home folder (holds snapshots/)
board = snap.leaderboard()                 # pandas DataFrame
assert not snap.verify()                   # every file matches its manifest sha256
"""

from __future__ import annotations

from pathlib import Path

from showdown_pipeline import settings
from showdown_pipeline.core.snapshots import (
    Snapshot,
    SnapshotError,
    latest_snapshot,
    list_snapshots,
    snapshot_by_id,
)

__all__ = ["Snapshot", "SnapshotError", "by_id", "latest", "list_all", "verify"]


def latest(home: str | Path = settings.DEFAULT_HOME) -> Snapshot:
    return latest_snapshot(settings.snapshots_dir(Path(home)))


def by_id(snapshot_id: str, home: str | Path = settings.DEFAULT_HOME) -> Snapshot:
    return snapshot_by_id(settings.snapshots_dir(Path(home)), snapshot_id)


def list_all(home: str | Path = settings.DEFAULT_HOME) -> list[Snapshot]:
    return list_snapshots(settings.snapshots_dir(Path(home)))


def verify(home: str | Path = settings.DEFAULT_HOME) -> dict[str, list[str]]:
    """Problems per snapshot id (an empty list: the snapshot verifies)."""
    return {s.snapshot_id: s.verify() for s in list_all(home)}
