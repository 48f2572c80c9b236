"""How fast, and in how much memory, the ingest rejects a gzip bomb, and what it costs on honest files.

    python bench/bench_ingest_limits.py [--cases zeros empty_records vote_lines honest]

Each case runs the real ingest (`core.landing.ingest_landing`) on one generated file in a child process of
its own, which reports its wall time and its own peak RSS (ru_maxrss of RUSAGE_SELF, so one case's peak
is not another's):

- `zeros`: ~1 MB of gzip expanding to 1 GiB of zero bytes, no newline (default limits: the line limit).
- `empty_records`: ~0.3 MB of gzip expanding to 33.5 million `{}` records (default limits: the row limit).
- `vote_lines`: ~1.5 MB of gzip expanding to 1.5 GiB of one repeated 1 KB vote line, with
  SHOWDOWN_MAX_FILE_BYTES=1GiB (the byte limit; the default 16 GiB would take ~16x as long).
- `honest`: 500,000 distinct vote lines (~0.5 GB) gzip, ingested (the cost of staging on real data).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("zeros", "empty_records", "vote_lines", "honest")


def build(case: str, landing: Path) -> dict[str, str]:
    """Write the case's file under `landing/votes/`; returns the environment the case runs with."""
    path = landing / "votes" / f"{case}.jsonl.gz"
    path.parent.mkdir(parents=True)
    if case == "honest":
        with gzip.open(path, "wt", compresslevel=6) as handle:
            for i in range(500_000):
                handle.write(json.dumps(_vote(i)) + "\n")
        return {}
    member, repeats, env = {
        "zeros": (bytes(16 << 20), 64, {}),
        "empty_records": (b"{}\n" * (1 << 22), 8, {}),
        "vote_lines": (
            (json.dumps(_vote(0)) + "\n").encode() * 16_000,
            96,
            {"SHOWDOWN_MAX_FILE_BYTES": "1GiB"},
        ),
    }[case]
    packed = gzip.compress(member, compresslevel=9)
    with path.open("wb") as handle:
        for _ in range(repeats):
            handle.write(packed)
    return env


def _vote(i: int) -> dict:
    return {
        "vote_id": f"v-{i}",
        "battle_id": f"b-{i}",
        "user_id": f"u-{i % 5000}",
        "voted_at": f"2026-03-01T{i % 24:02d}:00:00+00:00",
        "model_left": f"m-{i % 7}",
        "model_right": f"m-{(i + 1) % 7}",
        "winner": ("left", "right", "both_good", "both_bad")[i % 4],
        "prompt_hash": f"{i * 2654435761 % 2**64:016x}",
        "category": "x" * 700,
    }


CHILD = """
import resource, sys, time
from pathlib import Path
from showdown_pipeline.core import landing
from showdown_pipeline.core.staging import IngestLimits
from showdown_pipeline.core.warehouse import duckdb_session
root, home = Path(sys.argv[1]), Path(sys.argv[2])
home.mkdir()
place = landing.IngestPlace(root, home / ".staging" / "ingest", IngestLimits.from_env())
start = time.perf_counter()
with duckdb_session(home / "warehouse.duckdb") as session:
    outcomes, _ = landing.ingest_landing(session, landing.discover_landing_files(root), "bench", place)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
o = outcomes[0]
print(f"{seconds:.2f}\\t{peak:.0f}\\t{o.status}\\t{o.rows_in}\\t{o.error or ''}")
"""


def run(case: str) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        landing = Path(tmp) / "landing"
        env = {**os.environ, **build(case, landing)}
        size = (landing / "votes" / f"{case}.jsonl.gz").stat().st_size
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(landing), str(Path(tmp) / "home")],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
        )
        total = time.perf_counter() - start
        seconds, peak, status, rows, error = out.stdout.rstrip("\n").split("\t", 4)
        print(
            f"{case:>14} {size / 2**20:9.1f} {seconds:>9} {total:9.2f} {peak:>9} {status:>9} {rows:>9}  {error}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    args = parser.parse_args()
    print(
        f"{'case':>14} {'gz MiB':>9} {'ingest s':>9} {'process s':>9} {'peak MiB':>9} {'status':>9} {'rows_in':>9}  error"
    )
    for case in args.cases:
        run(case)


if __name__ == "__main__":
    main()
