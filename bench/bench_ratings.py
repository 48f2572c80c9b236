"""`showdown rate` on 10M votes and 200 models: raw board with a 1000-round bootstrap, and the
style-controlled board; compared with LMArena's `arena-rank` when it is installed beside us.

    python bench/bench_ratings.py [--votes 10000000] [--models 200] [--data DIR] [--arena-rank-python PATH]

The vote file is synthetic, drawn like the demo world (ties make E[score] = σ(d) exactly; the style
effects are demo_world.STYLE_COEFFICIENTS), so the true style coefficients are known. `arena-rank`
pins numpy 2.3 and jax, which clash with this project's pins: install it in its own environment
(`uv venv /tmp/arvenv && uv pip install --python /tmp/arvenv/bin/python arena-rank pyarrow`) and
pass its interpreter; without it the comparison is skipped and said so.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure  # noqa: E402

from showdown_pipeline.core import demo_world  # noqa: E402


def write_votes(path: Path, votes: int, models: int, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 0.6, models)
    log_tokens = rng.normal(math.log(380), 0.35, models)
    rates = {k: rng.gamma(2.0, s, models) for k, s in (("headers", 0.8), ("lists", 1.0), ("bold", 1.2))}
    log_latency = rng.normal(math.log(2500), 0.4, models)
    writer = None
    chunk = 2_000_000
    for start in range(0, votes, chunk):
        n = min(chunk, votes - start)
        a = rng.integers(0, models, n)
        b = (a + rng.integers(1, models, n)) % models
        cols = {
            "model_a": np.char.add("model-", a.astype(str)),
            "model_b": np.char.add("model-", b.astype(str)),
        }
        feats = {}
        for side, idx in (("a", a), ("b", b)):
            feats[f"tokens_{side}"] = np.maximum(1, np.exp(rng.normal(log_tokens[idx], 0.5))).astype(np.int64)
            for k, r in rates.items():
                feats[f"{k}_{side}"] = rng.poisson(r[idx])
            feats[f"latency_ms_{side}"] = np.exp(rng.normal(log_latency[idx], 0.4)).astype(np.int64)
        d = strength[a] - strength[b]
        for k, beta in demo_world.STYLE_COEFFICIENTS.items():
            x, y = feats[f"{k}_a"].astype(float), feats[f"{k}_b"].astype(float)
            d += beta * np.divide(x - y, x + y, out=np.zeros(n), where=(x + y) > 0)
        p = 1 / (1 + np.exp(-d))
        t = demo_world.TIE_SCALE * 4 * p * (1 - p)
        q = (p - t / 2) / (1 - t)
        u = rng.random(n)
        winner = np.where(
            u < t,
            np.where(rng.random(n) < 0.5, "tie", "tie (bothbad)"),
            np.where(rng.random(n) < q, "model_a", "model_b"),
        )
        table = pa.table({**cols, "winner": winner, **feats})
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()
    return {"style_coefficients_raw": demo_world.STYLE_COEFFICIENTS}


ARENA_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, pandas as pd
    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.models.contextual_bradley_terry import ContextualBradleyTerry
    from arena_rank.utils.data_utils import PairDataset, ContextualPairDataset
    df = pd.read_parquet(sys.argv[1])
    out = {}
    t = time.perf_counter()
    ds = PairDataset.from_pandas(df)
    model = BradleyTerry(n_competitors=len(ds.competitors))
    res = model.compute_ratings_and_cis(ds, ci_method="sandwich")
    out["bt_sandwich_seconds"] = time.perf_counter() - t
    out["bt_ratings"] = dict(zip([str(c) for c in ds.competitors], np.asarray(res["ratings"]).tolist()))
    feats = []
    for k in ("tokens", "headers", "lists", "bold", "latency_ms"):
        a, b = df[k + "_a"].astype(float), df[k + "_b"].astype(float)
        df["f_" + k] = ((a - b) / (a + b)).fillna(0.0)
        feats.append("f_" + k)
    t = time.perf_counter()
    cds = ContextualPairDataset.from_pandas(df, feature_cols=feats)
    cmodel = ContextualBradleyTerry(n_competitors=len(cds.competitors), n_features=len(feats))
    cres = cmodel.compute_ratings_and_cis(cds, ci_method="sandwich")
    out["cbt_sandwich_seconds"] = time.perf_counter() - t
    out["cbt_coeffs"] = np.asarray(cmodel.params["coeffs"]).tolist()
    print(json.dumps(out))
    """
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=10_000_000)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--data", help="folder to keep the vote file in (reused when present)")
    parser.add_argument("--arena-rank-python", default="/tmp/arvenv/bin/python")
    args = parser.parse_args()
    folder = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="bench-rate-"))
    folder.mkdir(parents=True, exist_ok=True)
    votes_file = folder / f"votes-{args.votes}-{args.models}.parquet"
    if not votes_file.exists():
        t = time.perf_counter()
        write_votes(votes_file, args.votes, args.models)
        print(f"wrote {votes_file} in {time.perf_counter() - t:.0f} s")
    showdown = str(Path(sys.executable).with_name("showdown"))
    raw_out = folder / "raw.parquet"
    seconds, peak, _ = measure(
        [
            showdown,
            "rate",
            str(votes_file),
            "--bootstrap",
            str(args.bootstrap),
            "--out",
            str(raw_out),
            "--top",
            "0",
        ]
    )
    print(
        f"showdown rate, {args.votes:,} votes, {args.models} models, bootstrap {args.bootstrap}: {seconds:.1f} s, peak {peak:.0f} MiB"
    )
    seconds_style, peak_style, style_stdout = measure(
        [showdown, "rate", str(votes_file), "--style", "--top", "0"]
    )
    print(f"showdown rate --style (sandwich interval): {seconds_style:.1f} s, peak {peak_style:.0f} MiB")
    truth = demo_world.STYLE_COEFFICIENTS
    recovered = {}
    for line in style_stdout.splitlines():
        if line.startswith("style "):
            name = line.split()[1]
            recovered[name] = float(line.split("(")[1].split()[0])
    for name, value in recovered.items():
        print(
            f"  {name:<11} recovered {value:+.4f} vs true {truth[name]:+.4f} ({100 * (value / truth[name] - 1):+.1f}%)"
        )

    arena_python = Path(args.arena_rank_python)
    if not arena_python.exists():
        print(
            f"arena-rank comparison skipped: no interpreter at {arena_python} (see this script's docstring)"
        )
        return
    script = folder / "arena_rank_bench.py"
    script.write_text(ARENA_SCRIPT)
    out = subprocess.run([str(arena_python), str(script), str(votes_file)], capture_output=True, text=True)
    if out.returncode != 0:
        print("arena-rank failed:\n" + out.stderr[-3000:])
        return
    result = json.loads(out.stdout.strip().splitlines()[-1])
    ours = pd.read_parquet(raw_out).set_index("model_id")["rating"]
    theirs = pd.Series(result["bt_ratings"]).reindex(ours.index)
    diff = (ours - ours.mean()) - (theirs - theirs.mean())
    print(
        f"arena-rank BradleyTerry sandwich: {result['bt_sandwich_seconds']:.1f} s "
        f"(showdown rate B={args.bootstrap} takes {100 * seconds / result['bt_sandwich_seconds']:.0f}% of it); "
        f"max |Δ rating| after centring {diff.abs().max():.4f} Elo"
    )
    print(
        f"arena-rank ContextualBradleyTerry sandwich: {result['cbt_sandwich_seconds']:.1f} s "
        f"(showdown rate --style takes {100 * seconds_style / result['cbt_sandwich_seconds']:.0f}% of it); "
        f"its coefficients {np.round(result['cbt_coeffs'], 4).tolist()}"
    )


if __name__ == "__main__":
    main()
