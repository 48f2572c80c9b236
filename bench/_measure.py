"""Run a command in a child process and report its wall time and peak resident memory."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
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


def _tree_rss_kib(root: int) -> int:
    """Resident memory of `root` and every descendant now (from /proc: a JVM a child started counts too)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * PAGE_KIB
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    tree, frontier = {root}, [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier and pid not in tree]
        tree.update(frontier)
    return sum(rss.get(pid, 0) for pid in tree)


PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def measure_tree(argv: list[str], every: float = 0.5) -> tuple[float, float, str]:
    """(seconds, peak MiB of the summed RSS of the child's whole process tree, sampled every `every` s, its
    stdout): for commands whose memory is in a grandchild (Spark's JVM), which no rusage of ours counts."""

    def wait(child: subprocess.Popen) -> float:
        peak = 0
        while child.poll() is None:
            peak = max(peak, _tree_rss_kib(child.pid))
            time.sleep(every)
        return peak / 1024.0

    return _captured(argv, None, wait)


def measure_child(argv: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB of this child and its descendants, stdout): `wait4` gives this child's own
    rusage, so one measurement's peak never carries over to the next."""

    def wait(child: subprocess.Popen) -> float:
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        return usage.ru_maxrss / 1024.0

    return _captured(argv, env, wait)


def _captured(argv: list[str], env: dict | None, wait) -> tuple[float, float, str]:
    """Run `argv` with its output in temporary files; `wait(child)` waits for it and returns its peak MiB."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        peak = wait(child)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if child.returncode != 0:
        sys.stderr.write(stderr[-4000:])
        raise SystemExit(f"benchmark command failed ({child.returncode}): {' '.join(argv)}")
    return elapsed, peak, stdout
