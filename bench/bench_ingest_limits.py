"""How fast, and in how much memory, the ingest rejects a bomb, and what it costs on honest and odd files.

    python bench/bench_ingest_limits.py [--cases zeros empty_records ... many_files]

Each case runs the real ingest (`core.landing.ingest_landing`) on generated files in a child process of its
own, which reports its wall time and its own peak RSS (VmHWM: this process image's peak, not the parent's):

- `zeros`: ~1 MB of gzip expanding to 1 GiB of zero bytes, no newline (default limits: the line limit).
- `empty_records`: ~0.3 MB of gzip expanding to 33.5 million `{}` records (default limits: the row limit).
- `empty_under_limit`: ~0.8 MB of gzip holding 19,999,000 `{}` records, just under the row limit: every
  record is read (the attack-12 case: the insert's sort took 13 GB).
- `vote_lines`: ~1.5 MB of gzip expanding to 1.5 GiB of one repeated 1 KB vote line, with
  SHOWDOWN_MAX_FILE_BYTES=1GiB (the byte limit; the default 16 GiB would take ~16x as long).
- `honest`: 500,000 distinct vote lines (~0.5 GB) gzip, ingested (the cost of staging on real data).
- `list_bomb`: an 885-byte Parquet file whose one row holds 12 million zeros in a column the contract
  does not name (never read) and a contributors file holding them as `languages` (rejected from the footer).
- `row_groups`: 50,000 votes in 50,000 one-row row groups (a 153 MB footer: rejected before it is parsed)
  and in 5,000 ten-row groups (a 15 MB footer, just under the limit: read).
- `many_files`: 2,000 files of 10 votes each (the cost per file).
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
CASES = (
    "zeros",
    "empty_records",
    "empty_under_limit",
    "vote_lines",
    "honest",
    "list_bomb",
    "row_groups",
    "many_files",
)


def build(case: str, landing: Path) -> dict[str, str]:
    """Write the case's files under `landing/`; returns the environment the case runs with."""
    if case in _BUILDERS:
        _BUILDERS[case](landing)
        return {}
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
        "empty_under_limit": (b"{}\n" * 1_000, 19_999, {}),
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


def _list_bomb(landing: Path) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 12_000_000
    offsets = pa.array([0, n], pa.int32())
    for kind, name, values in (
        ("votes", "pad", pa.array(np.zeros(n, dtype=np.int64))),
        ("contributors", "languages", pa.array(["en"] * n).dictionary_encode()),
    ):
        (landing / kind).mkdir(parents=True)
        table = pa.table(
            {
                "user_id" if kind == "contributors" else "vote_id": ["x"],
                name: pa.ListArray.from_arrays(offsets, values),
            }
        )
        pq.write_table(table, landing / kind / "bomb.parquet", compression="zstd")


def _row_groups(landing: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (landing / "votes").mkdir(parents=True)
    table = pa.Table.from_pylist([_vote(i) for i in range(50_000)])
    pq.write_table(table, landing / "votes" / "one_row_groups.parquet", row_group_size=1)
    pq.write_table(table, landing / "votes" / "ten_row_groups.parquet", row_group_size=10)


def _many_files(landing: Path) -> None:
    for f in range(2_000):
        path = landing / "votes" / f"d{f // 100:02d}" / f"f{f:05d}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(_vote(f * 10 + k)) + "\n" for k in range(10)))


_BUILDERS = {"list_bomb": _list_bomb, "row_groups": _row_groups, "many_files": _many_files}


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
import sys, time
from collections import Counter
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
peak = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]) / 1024
status = ",".join(f"{k}:{v}" for k, v in sorted(Counter(o.status for o in outcomes).items()))
rows = sum(o.rows_in for o in outcomes if o.status == "ingested")
errors = "; ".join(sorted({o.error for o in outcomes if o.error}))
print(f"{seconds:.2f}\\t{peak:.0f}\\t{status}\\t{rows}\\t{errors}")
"""


def run(case: str) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        landing = Path(tmp) / "landing"
        env = {**os.environ, **build(case, landing)}
        size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
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
            f"{case:>17} {size / 2**20:9.2f} {seconds:>9} {total:9.2f} {peak:>9} {status:>20} {rows:>9}  {error}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    args = parser.parse_args()
    print(
        f"{'case':>17} {'MiB in':>9} {'ingest s':>9} {'process s':>9} {'peak MiB':>9} {'files':>20} {'rows_in':>9}  error"
    )
    for case in args.cases:
        run(case)


if __name__ == "__main__":
    main()
