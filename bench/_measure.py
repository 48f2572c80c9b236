"""Run a command in a child process and report its wall time and peak resident memory."""

from __future__ import annotations

import resource
import subprocess
import sys
import time


def measure(argv: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB of the child, its stdout) for one command."""
    start = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"benchmark command failed: {' '.join(argv)}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak_kib / 1024.0, out.stdout
