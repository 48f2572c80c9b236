"""The one way the pipeline takes the sha256 of a file's bytes: the landing ledger's content key, and the
checksums in snapshot and export manifests (and their verification)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

BLOCK = 1 << 20  # bytes hashed per read: memory stays flat whatever the file's size


def sha256_of_handle(handle: BinaryIO) -> str:
    """Hex sha256 of everything left to read in `handle` (opened in binary mode)."""
    digest = hashlib.sha256()
    while chunk := handle.read(BLOCK):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    """Hex sha256 of the file at `path` (a path the pipeline wrote; landing files go through
    `staging.hash_file`, which opens them literally inside the landing root)."""
    with Path(path).open("rb") as handle:
        return sha256_of_handle(handle)
