"""The human-readable report (`index.html`) of a snapshot: self-contained (inline CSS, SVG and a
small script; no CDN), readable on a laptop and a phone.

Everything is rendered server-side except the segment explorer, which renders from the data embedded
in the page (`<script type="application/json" id="segment-data">`). `#segment=DIM:VALUE` in the URL
opens a segment directly (the browser test uses it)."""

from __future__ import annotations

import html
import json
import math

import pandas as pd

from showdown_pipeline.core.boards import SEGMENT_DIMENSIONS


def forest_plot_svg(board: pd.DataFrame, title: str, width: int = 460, row_height: int = 20) -> str:
    """Ratings with 95% intervals as an inline SVG forest plot (one row per model, best first)."""
    if board.empty:
        return f'<p class="meta">{html.escape(title)}: no rated models.</p>'
    lo = float(board["ci_lower"].min())
    hi = float(board["ci_upper"].max())
    span = max(hi - lo, 1.0)
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    label_w, pad = 170, 12
    plot_w = width - label_w - pad
    height = row_height * (len(board) + 2)

    def x(v: float) -> float:
        return label_w + (v - lo) / (hi - lo) * plot_w

    parts = [
        f'<svg class="forest" role="img" aria-label="{html.escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg">'
    ]
    step = _nice_step(hi - lo)
    tick = step * (math.floor(lo / step) + 1)
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
            f'<text x="{label_w - 6}" y="{y + 4}" class="label">{html.escape(str(row.model_id))}</text>'
            f'<line x1="{x(row.ci_lower):.1f}" x2="{x(row.ci_upper):.1f}" y1="{y}" y2="{y}" class="ci"/>'
            f'<circle cx="{x(row.rating):.1f}" cy="{y}" r="3.5" class="point"/></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _nice_step(span: float) -> float:
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if span / step <= 6:
            return float(step)
    return 10000.0


def _table(board: pd.DataFrame, table_id: str) -> str:
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
    return f'<table class="board" id="{table_id}"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _matrix(pairs: pd.DataFrame, order: list[str], limit: int = 20) -> str:
    """Win-rate matrix (row model's score against the column model) with battle counts on hover."""
    if pairs is None or pairs.empty:
        return '<p class="meta">No pairwise data.</p>'
    order = order[:limit]
    lookup = {(r.model, r.opponent): (r.win_rate, r.battles) for r in pairs.itertuples(index=False)}
    head = "".join(f'<th class="rot"><span>{html.escape(m)}</span></th>' for m in order)
    rows = []
    for a in order:
        cells = []
        for b in order:
            if a == b or (a, b) not in lookup:
                cells.append("<td></td>")
                continue
            rate, battles = lookup[(a, b)]
            colour = _diverging(rate - 0.5, 0.5)
            cells.append(
                f'<td style="background:{colour}" title="{html.escape(a)} vs {html.escape(b)}: '
                f'{rate:.0%} over {battles:,} battles">{rate * 100:.0f}</td>'
            )
        rows.append(f"<tr><th>{html.escape(a)}</th>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table class="matrix" id="winrate-matrix"><tr><th></th>{head}</tr>{"".join(rows)}</table></div>'


def _diverging(value: float, scale: float) -> str:
    t = max(-1.0, min(1.0, value / scale if scale else 0.0))
    if t >= 0:
        return f"rgba(46, 125, 50, {0.12 + 0.6 * t:.2f})"
    return f"rgba(198, 40, 40, {0.12 + 0.6 * -t:.2f})"


_SCRIPT = """
(function () {
  const data = JSON.parse(document.getElementById('segment-data').textContent);
  const dimSel = document.getElementById('segment-dim');
  const valSel = document.getElementById('segment-value');
  const table = document.getElementById('segment-table');
  const heat = document.getElementById('segment-heatmap');
  const caption = document.getElementById('segment-caption');
  const dims = Object.keys(data.rows);
  function fmt(x) { return x === null || x === undefined ? '' : Number(x).toFixed(1); }
  function esc(s) { const d = document.createElement('span'); d.textContent = s; return d.innerHTML; }
  function fillDims() {
    dimSel.innerHTML = dims.map(d => '<option value="' + d + '">' + d.replace('_', ' ') + '</option>').join('');
  }
  function fillValues() {
    const values = data.values[dimSel.value] || [];
    valSel.innerHTML = values.map(v => '<option value="' + esc(v) + '">' + esc(v) + '</option>').join('');
  }
  function renderTable() {
    const rows = (data.rows[dimSel.value] || []).filter(r => r.segment_value === valSel.value);
    caption.textContent = dimSel.value.replace('_', ' ') + ' = ' + valSel.value + ': ' + rows.length + ' models';
    table.tBodies[0].innerHTML = rows.map(r =>
      '<tr><td>' + r.rank + '</td><td>' + esc(r.model_id) + '</td><td>' + fmt(r.rating) + '</td><td>' +
      fmt(r.ci_lower) + ' – ' + fmt(r.ci_upper) + '</td><td>' + (r.rating_unshrunk === null ? '–' : fmt(r.rating_unshrunk)) +
      '</td><td class="' + (r.differs_from_overall ? (r.diff_vs_overall > 0 ? 'up' : 'down') : '') + '">' +
      (r.diff_vs_overall > 0 ? '+' : '') + fmt(r.diff_vs_overall) + (r.differs_from_overall ? ' *' : '') +
      '</td><td>' + r.votes + '</td><td>' + (r.provisional ? '<span class="badge" title="' + esc(r.provisional_reason || '') + '">provisional</span>' : '') + '</td></tr>'
    ).join('');
  }
  function renderHeatmap() {
    const dim = dimSel.value;
    const values = (data.values[dim] || []).slice(0, 16);
    const models = data.models.slice(0, 15);
    const cell = {};
    (data.rows[dim] || []).forEach(r => { cell[r.model_id + '\\u0000' + r.segment_value] = r; });
    let h = '<tr><th></th>' + values.map(v => '<th class="rot"><span>' + esc(v) + '</span></th>').join('') + '</tr>';
    models.forEach(m => {
      h += '<tr><th>' + esc(m) + '</th>' + values.map(v => {
        const r = cell[m + '\\u0000' + v];
        if (!r) return '<td></td>';
        const t = Math.max(-1, Math.min(1, r.diff_vs_overall / 40));
        const colour = t >= 0 ? 'rgba(46,125,50,' + (0.1 + 0.7 * t) + ')' : 'rgba(198,40,40,' + (0.1 - 0.7 * t) + ')';
        return '<td style="background:' + colour + '" title="' + esc(m) + ' in ' + esc(v) + ': ' + fmt(r.diff_vs_overall) +
          ' vs overall">' + (r.differs_from_overall ? '*' : '') + '</td>';
      }).join('') + '</tr>';
    });
    heat.innerHTML = h;
  }
  function selectFromHash() {
    const m = /segment=([^:&]+):([^&]+)/.exec(decodeURIComponent(location.hash));
    if (m && dims.includes(m[1])) { dimSel.value = m[1]; fillValues(); valSel.value = m[2]; }
  }
  if (!dims.length) { caption.textContent = 'No segment boards in this snapshot.'; return; }
  fillDims(); fillValues(); selectFromHash(); renderTable(); renderHeatmap();
  dimSel.addEventListener('change', () => { fillValues(); renderTable(); renderHeatmap(); });
  valSel.addEventListener('change', renderTable);
  window.addEventListener('hashchange', () => { selectFromHash(); renderTable(); renderHeatmap(); });
  document.body.setAttribute('data-ready', 'true');
})();
"""


def _integrity_html(integrity: dict) -> str:
    removed = (
        "".join(
            f"<li><code>{html.escape(k)}</code>: {v:,} votes</li>"
            for k, v in sorted(integrity.get("removed_by_check", {}).items())
        )
        or "<li>none</li>"
    )
    users = ", ".join(
        f"{html.escape(k)} {v:,}" for k, v in sorted(integrity.get("users_flagged_by_check", {}).items())
    )
    moves = "".join(
        f"<tr><td>{html.escape(m['model_id'])}</td><td>{m['rank_with']}</td><td>{m['rank_without']}</td>"
        f"<td>{m['change_elo']:+.1f}</td></tr>"
        for m in integrity.get("board_movement", [])
    )
    frag = integrity.get("fragility") or {}
    if frag.get("votes_to_flip_confirmed") is not None:
        frag_html = (
            f"<p id='fragility'>Removing <b>{frag['votes_to_flip_confirmed']:,}</b> of {frag['total_votes']:,} votes "
            f"(influence estimate {frag['votes_to_flip_estimate']:,}; confirmed by refitting) makes "
            f"{html.escape(frag['new_top_model'])} #1 instead of {html.escape(frag['top_model'])} "
            f"(gap {frag['gap_elo']:.1f} Elo).</p>"
        )
    else:
        frag_html = f"<p id='fragility' class='meta'>{html.escape(str(frag.get('note', 'fragility not computed')))}</p>"
    return (
        f"<p>{integrity.get('votes_removed', 0):,} votes removed; voters flagged: {users or 'none'}.</p><ul>{removed}</ul>"
        f"<h3>Fragility of #1</h3>{frag_html}"
        f"<h3>The board with and without the exclusions</h3><table class='board' id='integrity-movement'>"
        f"<tr><th>Model</th><th>Rank with</th><th>Rank without</th><th>Change (Elo)</th></tr>{moves}</table>"
    )


def _segment_payload(board: pd.DataFrame, overall_order: list[str]) -> str:
    rows: dict[str, list] = {}
    values: dict[str, list] = {}
    columns = [
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
    ]
    for dim in SEGMENT_DIMENSIONS:
        part = board[(board["board"] == "raw") & (board["segment_dim"] == dim)]
        if part.empty:
            continue
        part = part[columns].round(2)
        rows[dim] = json.loads(part.to_json(orient="records"))
        volume = part.groupby("segment_value")["votes"].sum().sort_values(ascending=False)
        values[dim] = [str(v) for v in volume.index]
    payload = json.dumps({"rows": rows, "values": values, "models": overall_order}, separators=(",", ":"))
    return payload.replace("</", "<\\/")


def render_report(board: pd.DataFrame, manifest: dict, pairs: pd.DataFrame | None = None) -> str:
    """The snapshot's index.html."""
    raw = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")]
    style = board[(board["board"] == "style") & (board["segment_dim"] == "overall")]
    params = manifest.get("parameters", {})
    anchor = params.get("anchor", {})
    inputs = manifest.get("input", {})
    quarantine = inputs.get("quarantined", {})
    reasons = "".join(
        f"<li><code>{html.escape(k)}</code>: {v:,}</li>"
        for k, v in sorted(quarantine.get("by_reason", {}).items())
    )
    duplicates = "".join(
        f"<li><code>{html.escape(k)}</code>: {v:,}</li>"
        for k, v in sorted(inputs.get("duplicates_by_reason", {}).items())
    )
    rejected = [f for f in inputs.get("files", []) if f.get("status") == "rejected"]
    rejected_html = "".join(
        f"<li><code>{html.escape(f['path'])}</code>: {html.escape(str(f['error']))}</li>" for f in rejected
    )
    coefficients = manifest.get("style", {}).get("coefficients", [])
    coef_rows = "".join(
        f"<tr><td>{html.escape(c['feature'])}</td><td>{c['coefficient']:+.3f}</td>"
        f"<td>{c['ci_lower']:+.3f} – {c['ci_upper']:+.3f}</td></tr>"
        for c in coefficients
    )
    integrity = manifest.get("integrity")
    integrity_html = (
        _integrity_html(integrity)
        if integrity
        else '<p class="meta">No fraud or collusion checks ran for this snapshot: every valid, deduplicated vote counts.</p>'
    )
    clustering = params.get("voter_clustering")
    clustering_html = (
        " These intervals treat votes as independent. Summing each voter's votes first (the voter-clustered"
        " sandwich, <code>cluster_lower</code>/<code>cluster_upper</code> in leaderboard.parquet) multiplies"
        f" the raw board's variance by {clustering['design_effect_median']:.2f} for the median model and by"
        f" at most {clustering['design_effect_max']:.2f} ({html.escape(clustering['design_effect_max_model'])}),"
        f" over {clustering['voters']:,} voters."
        if clustering
        else ""
    )
    cut = manifest.get("data_cut", {})
    title = f"Showdown leaderboard — as of {html.escape(str(cut.get('as_of', '')))}"
    order = [str(m) for m in raw["model_id"]]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 15px/1.45 system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem; color: #1d2330; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #dde; }}
table {{ border-collapse: collapse; }} table.board {{ width: 100%; }}
table.board th, table.board td {{ padding: .3rem .5rem; border-bottom: 1px solid #eef; text-align: left; }}
table.board td {{ font-variant-numeric: tabular-nums; }}
.badge {{ background: #fff3cd; border: 1px solid #e6c96b; border-radius: 3px; padding: 0 .3rem; font-size: .8rem; }}
.grid2 {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }}
@media (max-width: 760px) {{ .grid2 {{ grid-template-columns: 1fr; }} table.board th:nth-child(6), table.board td:nth-child(6) {{ display: none; }} }}
svg.forest .label {{ font-size: 11px; text-anchor: end; }} svg.forest .tick {{ font-size: 10px; text-anchor: middle; fill: #667; }}
svg.forest .grid {{ stroke: #eef; }} svg.forest .ci {{ stroke: #3a5fcd; stroke-width: 2; }}
svg.forest .point {{ fill: #1d2330; }} svg.forest .provisional .ci {{ stroke: #c9a227; stroke-dasharray: 3 2; }}
.scroll {{ overflow-x: auto; }} table.matrix td, table.matrix th {{ font-size: 11px; padding: 2px 4px; text-align: center; border: 1px solid #f3f3f6; }}
table.matrix th {{ text-align: right; white-space: nowrap; }} th.rot {{ height: 110px; vertical-align: bottom; }}
th.rot span {{ writing-mode: vertical-rl; transform: rotate(180deg); }}
td.up {{ color: #2e7d32; font-weight: 600; }} td.down {{ color: #c62828; font-weight: 600; }}
.meta {{ color: #556; font-size: .9rem; }} select {{ font-size: 1rem; margin-right: .5rem; }}
</style></head>
<body>
<h1>{title}</h1>
<p class="meta">Snapshot <code>{html.escape(str(manifest.get("snapshot_id", "")))}</code> ·
data cut {html.escape(str(cut.get("cutoff_utc", "")))} · anchor {html.escape(str(anchor.get("model_id", "")))}
= {anchor.get("rating", "")} · code {html.escape(str(manifest.get("code_version", {}).get("source_sha256", ""))[:12])}</p>

<h2>Overall boards</h2>
<div class="grid2">
<section id="raw-board"><h3>Raw</h3>{forest_plot_svg(raw, "Raw ratings with 95% intervals")}</section>
<section id="style-board"><h3>Style-controlled</h3>{forest_plot_svg(style, "Style-controlled ratings with 95% intervals")}</section>
</div>
{_table(raw, "overall-table")}
<h3>Style coefficients</h3>
<table class="board" id="style-coefficients"><tr><th>feature ((L−R)/(L+R), per sd)</th><th>coefficient</th><th>95% CI</th></tr>{coef_rows}</table>

<h2>Segments</h2>
<p><label>Dimension <select id="segment-dim" aria-label="segment dimension"></select></label>
<label>Value <select id="segment-value" aria-label="segment value"></select></label></p>
<p id="segment-caption" class="meta"></p>
<table class="board" id="segment-table"><thead><tr><th>Rank</th><th>Model</th><th>Rating (shrunk)</th><th>95% CI</th>
<th>Unshrunk</th><th>Δ vs overall</th><th>Votes</th><th></th></tr></thead><tbody></tbody></table>
<p class="meta">* significantly different from the model's overall rating (95% interval of the difference excludes 0).</p>
<h3>Models × segment values (difference from overall; * significant)</h3>
<div class="scroll"><table class="matrix" id="segment-heatmap"></table></div>

<h2>Head to head</h2>
<p class="meta">Row model's win rate (ties count ½) against the column model; hover for battle counts.</p>
{_matrix(pairs, order)}

<h2>What was left out</h2>
<p>{inputs.get("rows_in", 0):,} rows read · {inputs.get("valid", 0):,} counted · {inputs.get("duplicates", 0):,} duplicates ·
{quarantine.get("total", 0):,} quarantined · {len(rejected)} files rejected.</p>
<h3>Quarantined, by reason</h3><ul>{reasons or "<li>none</li>"}</ul>
<h3>Duplicates, by reason</h3><ul>{duplicates or "<li>none</li>"}</ul>
<h3>Rejected files</h3><ul>{rejected_html or "<li>none</li>"}</ul>
<h3>Integrity checks</h3>{integrity_html}

<h2>Method</h2>
<p>Each vote compares two anonymous responses. A win counts 1, a loss 0 and a tie (both good or both bad) ½.
Ratings are a Bradley-Terry fit, rating = {anchor.get("rating", 1000)} + 400/ln 10 · θ with
{html.escape(str(anchor.get("model_id", "")))} pinned. The raw board's intervals are 95% percentile bootstrap
intervals (each vote counted a Poisson(1) number of times in each of the seeded rounds); the style-controlled board holds response length, markdown and
loading time equal and uses sandwich intervals.{clustering_html} The rank of a model is 1 + the number of models whose whole
interval lies above its interval. Segment boards borrow strength from the overall board (shrinkage chosen by
held-out likelihood); the unshrunk estimate is shown beside it. Rows marked provisional have too few votes or
voters, or one voter with too large a share of their votes.</p>
<script type="application/json" id="segment-data">{_segment_payload(board, order)}</script>
<script>{_SCRIPT}</script>
</body></html>
"""
