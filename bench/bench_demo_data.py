"""Generation throughput and peak memory of `showdown demo-data` (1M and 10M votes by default).

    python bench/bench_demo_data.py [--votes 1000000 10000000] [--keep DIR]

Each size runs in its own child process, so the peak RSS is that run's alone (ru_maxrss of the
children is a high-water mark: sizes run from small to large).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--keep", help="keep the generated landing zones under this folder")
    args = parser.parse_args()
    showdown = str(Path(sys.executable).with_name("showdown"))
    print(f"{'votes':>12} {'seconds':>9} {'votes/s':>10} {'peak MiB':>9} {'MiB on disk':>12}")
    for votes in sorted(args.votes):
        root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-demo-"))
        out = root / f"landing-{votes}"
        seconds, peak, _ = measure(
            [
                showdown,
                "demo-data",
                "--quiet",
                "--out",
                str(out),
                "--votes",
                str(votes),
                "--days",
                str(args.days),
                "--truth",
                str(root / f"truth-{votes}"),
            ]
        )
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
        print(
            f"{votes:>12,} {seconds:>9.1f} {votes / seconds:>10,.0f} {peak:>9.0f} {size:>12.0f}", flush=True
        )
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
