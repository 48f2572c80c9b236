"""What code produced a number: package version, git commit (when in a checkout) and a hash of the
package source and SQL, so a snapshot can be reproduced from the landing zone and its manifest."""

from __future__ import annotations

import functools
import hashlib
import subprocess
from pathlib import Path

from showdown_pipeline import __version__
from showdown_pipeline.core.sql import SQL_ROOT

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def code_version() -> dict[str, str | None]:
    digest = hashlib.sha256()
    files = sorted(PACKAGE_ROOT.rglob("*.py")) + sorted(SQL_ROOT.rglob("*.sql"))
    for path in files:
        digest.update(path.relative_to(PACKAGE_ROOT.parent).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return {"package": __version__, "git_commit": _git_commit(), "source_sha256": digest.hexdigest()}


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PACKAGE_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
