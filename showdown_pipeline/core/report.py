"""The human-readable report (`index.html`) of a snapshot: self-contained, no scripts from a CDN."""

from __future__ import annotations

import html

import pandas as pd


def forest_plot_svg(board: pd.DataFrame, width: int = 720, row_height: int = 22) -> str:
    """Ratings with 95% intervals as an inline SVG forest plot (one row per model, best first)."""
    if board.empty:
        return "<p>No rated models.</p>"
    lo = float(board["ci_lower"].min())
    hi = float(board["ci_upper"].max())
    span = max(hi - lo, 1.0)
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    label_w, pad = 230, 20
    plot_w = width - label_w - pad
    height = row_height * (len(board) + 2)

    def x(v: float) -> float:
        return label_w + (v - lo) / (hi - lo) * plot_w

    parts = [
        f'<svg class="forest" role="img" aria-label="Ratings with 95% intervals" viewBox="0 0 {width} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg">'
    ]
    step = _nice_step(hi - lo)
    tick = step * (int(lo // step) + 1)
    while tick < hi:
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{row_height * 0.5:.0f}" y2="{height - row_height:.0f}" class="grid"/>'
            f'<text x="{x(tick):.1f}" y="{height - 4}" class="tick">{tick:.0f}</text>'
        )
        tick += step
    for i, row in enumerate(board.itertuples(index=False)):
        y = row_height * (i + 1)
        cls = "provisional" if row.provisional else "solid"
        parts.append(
            f'<g class="row {cls}"><title>{html.escape(str(row.model_id))}: {row.rating:.1f} '
            f"[{row.ci_lower:.1f}, {row.ci_upper:.1f}]</title>"
            f'<text x="{label_w - 8}" y="{y + 4}" class="label">{html.escape(str(row.model_id))}</text>'
            f'<line x1="{x(row.ci_lower):.1f}" x2="{x(row.ci_upper):.1f}" y1="{y}" y2="{y}" class="ci"/>'
            f'<circle cx="{x(row.rating):.1f}" cy="{y}" r="4" class="point"/></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _nice_step(span: float) -> float:
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if span / step <= 8:
            return float(step)
    return 10000.0


def _table(board: pd.DataFrame) -> str:
    head = "<tr><th>Rank</th><th>Model</th><th>Rating</th><th>95% CI</th><th>Votes</th><th>Users</th><th></th></tr>"
    rows = []
    for r in board.itertuples(index=False):
        flag = (
            f'<span class="badge" title="{html.escape(str(r.provisional_reason))}">provisional</span>'
            if r.provisional
            else ""
        )
        rows.append(
            f"<tr><td>{r.rank}</td><td>{html.escape(str(r.model_id))}</td><td>{r.rating:.1f}</td>"
            f"<td>{r.ci_lower:.1f} – {r.ci_upper:.1f}</td><td>{r.votes:,}</td><td>{r.users:,}</td><td>{flag}</td></tr>"
        )
    return f'<table class="board"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def render_report(board: pd.DataFrame, manifest: dict) -> str:
    """The snapshot's index.html."""
    overall = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")]
    params = manifest.get("parameters", {})
    anchor = params.get("anchor", {})
    inputs = manifest.get("input", {})
    quarantine = inputs.get("quarantined", {})
    reasons = "".join(
        f"<li><code>{html.escape(k)}</code>: {v:,}</li>"
        for k, v in sorted(quarantine.get("by_reason", {}).items())
    )
    cut = manifest.get("data_cut", {})
    title = f"Showdown leaderboard — as of {html.escape(str(cut.get('as_of', '')))}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 15px/1.45 system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 0 auto; max-width: 980px; padding: 1rem; color: #1d2330; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #dde; }}
table.board {{ border-collapse: collapse; width: 100%; }}
table.board th, table.board td {{ padding: .3rem .5rem; border-bottom: 1px solid #eef; text-align: left; }}
table.board td:nth-child(n+3) {{ font-variant-numeric: tabular-nums; }}
.badge {{ background: #fff3cd; border: 1px solid #e6c96b; border-radius: 3px; padding: 0 .3rem; font-size: .8rem; }}
svg.forest .label {{ font-size: 12px; text-anchor: end; }} svg.forest .tick {{ font-size: 11px; text-anchor: middle; fill: #667; }}
svg.forest .grid {{ stroke: #eef; }} svg.forest .ci {{ stroke: #3a5fcd; stroke-width: 2; }}
svg.forest .point {{ fill: #1d2330; }} svg.forest .provisional .ci {{ stroke: #c9a227; stroke-dasharray: 3 2; }}
.meta {{ color: #556; font-size: .9rem; }}
@media (max-width: 600px) {{ table.board th:nth-child(6), table.board td:nth-child(6) {{ display: none; }} }}
</style></head>
<body>
<h1>{title}</h1>
<p class="meta">Snapshot <code>{html.escape(str(manifest.get("snapshot_id", "")))}</code> ·
data cut {html.escape(str(cut.get("cutoff_utc", "")))} · anchor {html.escape(str(anchor.get("model_id", "")))}
= {anchor.get("rating", "")} · code {html.escape(str(manifest.get("code_version", {}).get("source_sha256", ""))[:12])}</p>
<h2>Overall board (raw Bradley-Terry)</h2>
<div id="forest">{forest_plot_svg(overall)}</div>
{_table(overall)}
<h2>Input accounting</h2>
<p>{inputs.get("rows_in", 0):,} rows read · {inputs.get("valid", 0):,} counted · {inputs.get("duplicates", 0):,} duplicates ·
{quarantine.get("total", 0):,} quarantined.</p>
<ul>{reasons}</ul>
<h2>Method</h2>
<p>Each vote compares two anonymous responses. A win counts 1, a loss 0 and a tie (both good or both bad) ½.
Ratings are a Bradley-Terry fit, rating = {anchor.get("rating", 1000)} + 400/ln 10 · θ with
{html.escape(str(anchor.get("model_id", "")))} pinned. Intervals are 95% sandwich intervals; the rank of a
model is 1 + the number of models whose whole interval lies above its interval. Rows marked provisional have too
few votes or voters, or one voter with too large a share of their votes.</p>
</body></html>
"""
