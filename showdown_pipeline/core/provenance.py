"""What code produced a number: package version, git commit (when in a checkout) and a hash of the
package source and SQL, so a snapshot can be reproduced from the landing zone and its manifest."""

from __future__ import annotations

import functools
import hashlib
import subprocess
from pathlib import Path

from showdown_pipeline import __version__

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
# everything in the package that decides a number or its presentation: code, SQL, templates, reference data
SOURCE_SUFFIXES = (".py", ".sql", ".j2", ".js", ".css", ".csv")


@functools.cache
def code_version() -> dict[str, str | None]:
    digest = hashlib.sha256()
    files = sorted(
        p for p in PACKAGE_ROOT.rglob("*") if p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts
    )
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
