"""The human-readable report (`index.html`) of a snapshot: self-contained (inline CSS, SVG and one
small script; no CDN), readable on a laptop and a phone.

Everything is rendered server-side from `report_template/index.html.j2` (Jinja2, autoescaped: every
value is escaped for the text or the double-quoted attribute it lands in) except the segment explorer,
which `report_template/explorer.js` builds with DOM calls from the data embedded in the page
(`<script type="application/json" id="segment-data">`, escaped by `script_json` so that no value can
close or comment out the script). A Content-Security-Policy allows that one script and that one
stylesheet by their sha256 and nothing else: no inline event handler, no remote source.
`#segment=DIM:VALUE` (VALUE percent-encoded) opens a segment directly."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import unicodedata
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from showdown_pipeline.core.boards import SEGMENT_DIMENSIONS
from showdown_pipeline.core.providers import PRE_RELEASE_MIN_VOTES
from showdown_pipeline.core.run_cut import DEFAULT_ANCHOR_RATING
from showdown_pipeline.core.style_segments import STYLE_TEST_MIN_VOTES

TEMPLATE_DIR = Path(__file__).with_name("report_template")
WINRATE_BUCKETS = 20  # the win-rate matrix colours cells by class (CSP: no style attributes)

# Characters that must never appear raw inside the JSON of a <script> block: `<` and `>` could open
# `</script>` or `<!--`, `&` is escaped for good measure, U+2028/U+2029 end a line in older JavaScript.
_SCRIPT_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_json(value: object) -> str:
    """`value` as JSON that is safe verbatim inside `<script type="application/json">`."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    for raw, escaped in _SCRIPT_JSON_ESCAPES.items():
        text = text.replace(raw, escaped)  # these only occur inside JSON strings, where \\uXXXX is equal
    return text


def csp_source_hash(text: str) -> str:
    """The CSP source expression that allows exactly this inline script or stylesheet."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(script: str, style: str) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {csp_source_hash(script)}",
            f"style-src {csp_source_hash(style)}",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.cache
def static_parts() -> tuple[str, str]:
    """(script, stylesheet) exactly as the page inlines them (their hashes go into the CSP)."""
    script = (TEMPLATE_DIR / "explorer.js").read_text(encoding="utf-8")
    buckets = "\n".join(
        f"table.matrix td.wr{k} {{ background: {_diverging(k / WINRATE_BUCKETS - 0.5, 0.5)}; }}"
        for k in range(WINRATE_BUCKETS + 1)
    )
    style = (TEMPLATE_DIR / "report.css").read_text(encoding="utf-8") + buckets + "\n"
    for name, text, closing in (("explorer.js", script, "</script"), ("report.css", style, "</style")):
        if closing in text.lower():
            raise ValueError(f"{name} must not contain {closing!r}: it would end its element early")
    return script, style


def forest_plot(board: pd.DataFrame, title: str, width: int = 460, row_height: int = 20) -> dict:
    """Geometry of an SVG forest plot: ratings with 95% intervals, one row per model, best first."""
    finite = board[["rating", "ci_lower", "ci_upper"]].apply(pd.to_numeric, errors="coerce")
    finite = finite[finite.map(math.isfinite).all(axis=1)]
    lo = float(finite["ci_lower"].min()) if len(finite) else 0.0
    hi = float(finite["ci_upper"].max()) if len(finite) else 1.0
    span = max(hi - lo, 1.0)
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    label_w, pad = 170, 12
    plot_w = width - label_w - pad
    height = row_height * (len(board) + 2)

    def x(v: float) -> str:
        return f"{label_w + (v - lo) / (hi - lo) * plot_w:.1f}"

    step = _nice_step(hi - lo)
    ticks, tick = [], step * (math.floor(lo / step) + 1)
    while tick < hi:
        ticks.append({"x": x(tick), "label": f"{tick:.0f}"})
        tick += step
    rows = []
    for i, row in enumerate(board.itertuples(index=False)):
        y = row_height * (i + 1)
        values = (row.rating, row.ci_lower, row.ci_upper)
        drawn = all(isinstance(v, int | float) and math.isfinite(v) for v in values)
        rows.append(
            {
                "kind": "provisional" if row.provisional else "solid",
                "model_id": str(row.model_id),
                "summary": f"{row.rating:.1f} [{row.ci_lower:.1f}, {row.ci_upper:.1f}]",
                "text_y": y + 4,
                "y": y,
                "drawn": drawn,
                **(
                    {"x_lower": x(row.ci_lower), "x_upper": x(row.ci_upper), "x_rating": x(row.rating)}
                    if drawn
                    else {}
                ),
            }
        )
    return {
        "title": title,
        "width": width,
        "height": height,
        "label_x": label_w - 6,
        "grid_top": f"{row_height * 0.5:.0f}",
        "grid_bottom": f"{height - row_height:.0f}",
        "tick_y": height - 4,
        "ticks": ticks,
        "rows": rows,
    }


def _nice_step(span: float) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten, at least 5) giving at most 6 ticks."""
    magnitude = 10.0 ** math.floor(math.log10(max(span, 1.0) / 6))
    for multiple in (1, 2, 2.5, 5, 10):
        if span / (multiple * magnitude) <= 6:
            return max(multiple * magnitude, 5.0)
    return max(10 * magnitude, 5.0)


def _overall_rows(board: pd.DataFrame) -> list[dict]:
    """The overall table's rows, with the tier and the simultaneous rank range (blank without them)."""
    rows, previous_tier = [], None
    for r in board.itertuples(index=False):
        tier = _whole(getattr(r, "tier", None))
        rows.append(
            {
                "rank": r.rank,
                "model_id": str(r.model_id),
                "tier": "—" if tier is None else str(tier),
                "tier_start": tier is not None and previous_tier is not None and tier != previous_tier,
                "rank_range": _rank_range(getattr(r, "rank_lower", None), getattr(r, "rank_upper", None)),
                "rating": f"{r.rating:.1f}",
                "ci": f"{r.ci_lower:.1f} – {r.ci_upper:.1f}",
                "p_top1": _share(getattr(r, "p_top1", None)),
                "p_top5": _share(getattr(r, "p_top5", None)),
                "votes": f"{r.votes:,}",
                "users": f"{r.users:,}",
                "provisional": bool(r.provisional),
                "provisional_reason": str(r.provisional_reason),
                "pre_release": _flag(getattr(r, "pre_release_provisional", None)),
            }
        )
        previous_tier = tier
    return rows


def _rank_method(board: pd.DataFrame) -> str:
    """Where a board's rank columns come from (its rows' rank_method; blank before schema 6)."""
    methods = board["rank_method"].dropna().unique() if "rank_method" in board else []
    return "; ".join(str(m) for m in methods)


def _flag(value) -> bool:
    """A boolean column's value; null (NA, None, NaN) is false."""
    return False if value is None or pd.isna(value) else bool(value)


def _whole(value) -> int | None:
    """An integer column's value, or None where it is null (a board without bootstrap replicates)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) else None


def _rank_range(lower, upper) -> str:
    lo, hi = _whole(lower), _whole(upper)
    if lo is None or hi is None:
        return "—"
    return str(lo) if lo == hi else f"{lo}–{hi}"


def _share(value) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(number):
        return "—"
    return "<0.1%" if 0 < number < 0.001 else f"{number:.1%}"


def _plan(plan: pd.DataFrame | None, summary: dict | None, limit: int = 15) -> dict | None:
    """The sampling plan's heaviest pairs and how its weight splits (None: no plan in this snapshot)."""
    if plan is None:
        return None
    summary = summary or {}
    rows = [
        {
            "left": str(r.model_left),
            "right": str(r.model_right),
            "weight": _share(r.weight),
            "reason": str(r.reason),
        }
        for r in plan.head(limit).itertuples(index=False)
    ]
    floor = summary.get("floor_share")
    return {
        "uniform": (summary.get("objective") or {}).get("plan") is None,
        "rows": rows,
        "pairs": f"{len(plan):,}",
        "floor": "" if floor is None else f"{floor:.0%}",
        "above_floor": f"{summary.get('pairs_above_floor', 0):,}",
    }


def _day(value) -> str:
    return "—" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _dated_models(models) -> list[dict]:
    return [
        {
            "model_id": str(m["model_id"]),
            "released": _day(m["released_at"]),
            "deprecated": _day(m["deprecated_at"]),
        }
        for m in (models if models is not None else [])
    ]


def _spelled(name: str) -> str:
    """The characters of `name` outside ASCII, by code point and name: what a look-alike is made of."""
    return ", ".join(
        f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in dict.fromkeys(name) if not c.isascii()
    )


def _ledger(ledger, section: dict | None) -> dict | None:
    """The provider ledger's rows for the report (None: no ledger in this snapshot)."""
    if ledger is None:
        return None
    section = section or {}
    window = section.get("window") or {}
    rows = []
    for r in ledger.to_pylist():
        under = r["models_under_plan"]
        rows.append(
            {
                "provider": str(r["provider"]),
                "looks_like": [str(o) for o in r.get("looks_like") or []],
                "spelled": _spelled(str(r["provider"])),
                "active": _dated_models(r["models_active"]),
                "deprecated": _dated_models(r["models_deprecated"]),
                "battles": _share(r["battle_share"]),
                "votes": _share(r["vote_share"]),
                "licensed": "no export" if r["licensed_sides"] is None else _share(r["licensed_share"]),
                "under": None
                if under is None
                else [f"{u['model_id']}: {u['battles']:,} of {u['asked_battles']:,.0f} asked" for u in under],
            }
        )
    return {
        "rows": rows,
        "start": str(window.get("start_utc") or "the first vote"),
        "end": str(window.get("end_utc", "")),
        "plan": str((section.get("plan_comparison") or {}).get("plan", "")),
        "min_votes": f"{PRE_RELEASE_MIN_VOTES:,}",
        "pre_release": [
            {
                "model_id": str(p["model_id"]),
                "votes": f"{p['votes_since_release']:,}",
                "provisional": bool(p["provisional"]),
            }
            for p in section.get("pre_release", [])
        ],
    }


def _matrix(pairs: pd.DataFrame | None, order: list[str], limit: int = 20) -> dict:
    """Win-rate matrix (row model's score against the column model) with battle counts on hover."""
    if pairs is None or pairs.empty:
        return {"models": [], "rows": []}
    order = order[:limit]
    lookup = {(r.model, r.opponent): (r.win_rate, r.battles) for r in pairs.itertuples(index=False)}
    rows = []
    for a in order:
        cells = []
        for b in order:
            if a == b or (a, b) not in lookup:
                cells.append(None)
                continue
            rate, battles = lookup[(a, b)]
            cells.append(
                {
                    "bucket": f"wr{round(min(max(rate, 0.0), 1.0) * WINRATE_BUCKETS)}",
                    "title": f"{a} vs {b}: {rate:.0%} over {battles:,} battles",
                    "text": f"{rate * 100:.0f}",
                }
            )
        rows.append({"model": a, "cells": cells})
    return {"models": order, "rows": rows}


def _diverging(value: float, scale: float) -> str:
    t = max(-1.0, min(1.0, value / scale if scale else 0.0))
    if t >= 0:
        return f"rgba(46, 125, 50, {0.12 + 0.6 * t:.2f})"
    return f"rgba(198, 40, 40, {0.12 + 0.6 * -t:.2f})"


def _integrity(integrity: dict | None) -> dict | None:
    if not integrity:
        return None
    frag = integrity.get("fragility") or {}
    confirmed = frag.get("votes_to_flip_confirmed") is not None
    return {
        "votes_removed": f"{integrity.get('votes_removed', 0):,}",
        "users_flagged": ", ".join(
            f"{k} {v:,}" for k, v in sorted(integrity.get("users_flagged_by_check", {}).items())
        ),
        "removed_by_check": [
            (k, f"{v:,} votes") for k, v in sorted(integrity.get("removed_by_check", {}).items())
        ],
        "fragility": {
            "confirmed": f"{frag['votes_to_flip_confirmed']:,}",
            "total": f"{frag['total_votes']:,}",
            "estimate": f"{frag['votes_to_flip_estimate']:,}",
            "new_top": str(frag["new_top_model"]),
            "top": str(frag["top_model"]),
            "gap": f"{frag['gap_elo']:.1f}",
        }
        if confirmed
        else None,
        "fragility_note": str(frag.get("note", "fragility not computed")),
        "movement": [
            {
                "model_id": str(m["model_id"]),
                "rank_with": m["rank_with"],
                "rank_without": m["rank_without"],
                "change": f"{m['change_elo']:+.1f}",
            }
            for m in integrity.get("board_movement", [])
        ],
    }


_SEGMENT_COLUMNS = [
    "board",
    "segment_value",
    "model_id",
    "rating",
    "ci_lower",
    "ci_upper",
    "rank",
    "votes",
    "provisional",
    "provisional_reason",
    "rating_unshrunk",
    "diff_vs_overall",
    "differs_from_overall",
    "style_shift_p_value",
    "rank_lower",
    "rank_upper",
    "tier",
    "p_top1",
    "p_top5",
]
_ROUNDED = ("rating", "ci_lower", "ci_upper", "rating_unshrunk", "diff_vs_overall")  # Elo, to 0.01


def segment_payload(board: pd.DataFrame, overall_order: list[str]) -> dict:
    """What the explorer reads: the raw and style segment rows per dimension (each names its board: the
    explorer's toggle), values by volume, the overall order."""
    rows: dict[str, list] = {}
    values: dict[str, list] = {}
    for dim in SEGMENT_DIMENSIONS:
        part = board[board["board"].isin(["raw", "style"]) & (board["segment_dim"] == dim)]
        if part.empty:
            continue
        part = part.reindex(columns=_SEGMENT_COLUMNS).round(dict.fromkeys(_ROUNDED, 2))
        rows[dim] = json.loads(part.to_json(orient="records", double_precision=15))  # NaN, inf: null
        raw = part[part["board"] == "raw"]
        volume = raw.groupby("segment_value")["votes"].sum().sort_values(ascending=False)
        values[dim] = [str(v) for v in volume.index]
        values[dim] += sorted({str(v) for v in part["segment_value"]} - set(values[dim]))
    return {
        "rows": rows,
        "values": values,
        "models": overall_order,
        "style_test_min_votes": STYLE_TEST_MIN_VOTES,
    }


def _accounting(inputs: dict) -> dict:
    quarantine = inputs.get("quarantined", {})
    return {
        "rows_in": f"{inputs.get('rows_in', 0):,}",
        "valid": f"{inputs.get('valid', 0):,}",
        "duplicates": f"{inputs.get('duplicates', 0):,}",
        "quarantined": f"{quarantine.get('total', 0):,}",
    }


def _clustering(clustering: dict | None) -> dict | None:
    if not clustering:
        return None
    return {
        "median": f"{clustering['design_effect_median']:.2f}",
        "max": f"{clustering['design_effect_max']:.2f}",
        "max_model": str(clustering["design_effect_max_model"]),
        "voters": f"{clustering['voters']:,}",
    }


def render_report(
    board: pd.DataFrame,
    manifest: dict,
    pairs: pd.DataFrame | None = None,
    plan: pd.DataFrame | None = None,
    ledger=None,
) -> str:
    """The snapshot's index.html (`plan`: the sampling plan, heaviest pair first; `ledger`: the provider
    ledger, a pyarrow table of core/providers.PROVIDERS_SCHEMA)."""
    raw_all = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")]
    # the anchor's part of the comparison graph is the board; other parts are on scales of their own
    part = raw_all["component"].fillna(1) if "component" in raw_all else pd.Series(1, index=raw_all.index)
    raw, other_parts = raw_all[part == 1], raw_all[part != 1]
    style_board = board[(board["board"] == "style") & (board["segment_dim"] == "overall")]
    params = manifest.get("parameters", {})
    anchor = params.get("anchor", {})
    inputs = manifest.get("input", {})
    cut = manifest.get("data_cut", {})
    order = [str(m) for m in raw["model_id"]]
    script, style = static_parts()
    context = {
        "csp": content_security_policy(script, style),
        "script": Markup(script),  # static, pinned by its hash in the CSP
        "style": Markup(style),
        "segment_json": Markup(script_json(segment_payload(board, order))),
        "title": f"Showdown leaderboard — as of {cut.get('as_of', '')}",
        "snapshot_id": str(manifest.get("snapshot_id", "")),
        "cutoff": str(cut.get("cutoff_utc", "")),
        "anchor_model": str(anchor.get("model_id", "")),
        "anchor_rating": str(anchor.get("rating", DEFAULT_ANCHOR_RATING)),
        "code_version": str(manifest.get("code_version", {}).get("source_sha256", ""))[:12],
        "raw_plot": forest_plot(raw, "Raw ratings with 95% intervals"),
        "style_plot": forest_plot(style_board, "Style-controlled ratings with 95% intervals"),
        "overall_rows": _overall_rows(raw),
        "has_rank_sets": bool("tier" in raw and raw["tier"].notna().any()),
        "style_rows": _overall_rows(style_board),
        "style_rank_method": _rank_method(style_board),
        "raw_rank_method": _rank_method(raw),
        "plan": _plan(plan, manifest.get("sampling_plan")),
        "ledger": _ledger(ledger, manifest.get("providers")),
        "other_parts": [
            {
                "component": int(part),
                "anchor": str(rows["component_anchor"].iloc[0]),
                "plot": forest_plot(rows, f"Part {int(part)} on its own scale"),
                "rows": _overall_rows(rows),
            }
            for part, rows in (other_parts.groupby("component", sort=True) if len(other_parts) else [])
        ],
        "coefficients": [
            {
                "feature": str(c["feature"]),
                "coefficient": f"{c['coefficient']:+.3f}",
                "ci": f"{c['ci_lower']:+.3f} – {c['ci_upper']:+.3f}",
            }
            for c in manifest.get("style", {}).get("coefficients", [])
        ],
        "matrix": _matrix(pairs, order),
        "accounting": _accounting(inputs),
        "quarantine_reasons": [
            (k, f"{v:,}") for k, v in sorted(inputs.get("quarantined", {}).get("by_reason", {}).items())
        ],
        "duplicate_reasons": [
            (k, f"{v:,}") for k, v in sorted(inputs.get("duplicates_by_reason", {}).items())
        ],
        "rejected": [
            {"path": str(f["path"]), "error": str(f["error"])}
            for f in inputs.get("files", [])
            if f.get("status") == "rejected"
        ],
        "integrity": _integrity(manifest.get("integrity")),
        "clustering": _clustering(params.get("voter_clustering")),
    }
    return _environment().get_template("index.html.j2").render(context)
