"""Small, disconnected vote logs cut deterministically from the real 2023 Chatbot Arena file."""

from __future__ import annotations

import json
from pathlib import Path

# Two disjoint groups of models of the real file; no battle between the groups is kept, so the
# comparison graph has exactly two connected components.
GROUP_A = ("gpt-4", "claude-v1", "gpt-3.5-turbo", "vicuna-13b", "koala-13b", "alpaca-13b", "chatglm-6b")
GROUP_B = ("palm-2", "mpt-7b-chat", "dolly-v2-12b", "vicuna-7b", "llama-13b", "stablelm-tuned-alpha-7b")


def two_group_arena_log(arena_file: Path, out: Path) -> list[dict]:
    """Write (and return) the within-group battles of GROUP_A and GROUP_B, in file order (`num`), keeping
    for each pair its first 2, 3 or 4 battles (cycling over the sorted pairs): 108 real votes,
    13 to 20 per model, few enough that some models never lose or never win in a bootstrap resample."""
    group = {m: "a" for m in GROUP_A} | {m: "b" for m in GROUP_B}
    rows = [json.loads(line) for line in Path(arena_file).read_text(encoding="utf-8").splitlines()]
    rows.sort(key=lambda r: r["num"])
    within = [r for r in rows if group.get(r["model_a"], "?") == group.get(r["model_b"], "!")]
    pairs = sorted({tuple(sorted((r["model_a"], r["model_b"]))) for r in within})
    cap = {pair: 2 + i % 3 for i, pair in enumerate(pairs)}
    seen: dict[tuple[str, str], int] = {}
    kept = []
    for r in within:
        pair = tuple(sorted((r["model_a"], r["model_b"])))
        seen[pair] = seen.get(pair, 0) + 1
        if seen[pair] <= cap[pair]:
            kept.append(r)
    out.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    return kept
