"""The one penalised-Newton solver and its sandwich (issue 13): every number the boards publish is the
number the separate loops published before, and every fallback is said, never silent."""

from __future__ import annotations

import json
import math

from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline_tests.core import solver_regression

ELO_TOLERANCE = 1e-9
LOGIT_KEYS = {"theta", "se", "shrunk_theta"}


def _differences(old, new, path: str = "") -> list[str]:
    """Where `new` is not `old`: Elo values beyond 1e-9 Elo, logits (ratings and style coefficients)
    beyond 1e-9 Elo once scaled, other numbers beyond a relative 1e-9, anything else when not equal."""
    if isinstance(old, dict):
        if set(old) != set(new):
            return [f"{path}: keys {sorted(set(old) ^ set(new))}"]
        return [d for k in old for d in _differences(old[k], new[k], f"{path}.{k}")]
    if isinstance(old, list):
        if len(old) != len(new):
            return [f"{path}: length {len(old)} -> {len(new)}"]
        return [
            d
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for d in _differences(a, b, f"{path}[{i}]")
        ]
    if isinstance(old, float) and isinstance(new, float):
        key = path.rsplit(".", 1)[-1].split("[")[0]
        if key in solver_regression.ELO_COLUMNS and ".coefficients" not in path or key.endswith("_elo"):
            ok = abs(new - old) <= ELO_TOLERANCE
        elif key in LOGIT_KEYS or key in {"coefficient", "ci_lower", "ci_upper"}:
            ok = abs(new - old) * bt.ELO_SCALE <= ELO_TOLERANCE
        else:
            ok = math.isclose(new, old, rel_tol=1e-9, abs_tol=1e-15)
        return [] if ok else [f"{path}: {old!r} -> {new!r}"]
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


def test_published_numbers_are_those_of_the_separate_loops_to_1e9_elo():
    """Real Arena and LLMFAO boards (sandwich, bootstrap, voter-clustered, segment boards with the
    chosen shrinkage), the two-component Arena cut with one-sided models, a seeded style board and the
    fallback-ridge and shrunk fits: identical to the numbers the pre-rewrite code published
    (fixtures/solver/, written at commit 0b33408 by solver_regression.py) within 1e-9 Elo."""
    before = json.loads(solver_regression.FIXTURE.read_text(encoding="utf-8"))
    after = json.loads(json.dumps(solver_regression.published_numbers(), default=float))
    differences = _differences(before, after)
    assert not differences, f"{len(differences)} published numbers moved, e.g. {differences[:5]}"
