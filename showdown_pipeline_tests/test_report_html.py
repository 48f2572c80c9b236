"""The report's HTML without a browser: every value that reaches `index.html` is escaped for its
context (text, attribute, the JSON inside `<script>`), and the Content-Security-Policy pins the page's
one script and one stylesheet by hash."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import pandas as pd

from showdown_pipeline.core import report
from showdown_pipeline.core.boards import SEGMENT_DIMENSIONS

PWN = "document.body.dataset.pwned=1"
HOSTILE = [
    f'"><img src=x onerror={PWN}>',
    f"' onmouseover='{PWN}' x='",
    f"</script><script>{PWN}</script>",
    "<!--<script>",
    "]]>",
    "a\u2028b\u2029c",
    "&amp;&lt;&#34;",
    f"<svg onload={PWN}>",
    f"javascript:{PWN}",
    "\u202egnp.exe\u200b",
]
# The tags and attributes the report writes; anything else in the parsed page came from data.
TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "code", "b", "div",
    "section", "svg", "line", "text", "g", "circle", "table", "thead", "tbody", "tr", "th", "td",
    "span", "select", "label", "ul", "li", "script", "input",
}  # fmt: skip
ATTRIBUTES = {
    "lang", "charset", "http-equiv", "content", "name", "class", "id", "role", "aria-label", "viewbox",
    "width", "xmlns", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "title", "type",
}  # fmt: skip


def hostile_board() -> pd.DataFrame:
    rows = []
    models = HOSTILE[:4]
    for board in ("raw", "style"):
        for dim, values in [("overall", ["all"]), *((d, HOSTILE) for d in SEGMENT_DIMENSIONS)]:
            for value in values:  # the style segment rows feed the explorer's toggle
                for rank, model in enumerate(models, start=1):
                    rows.append(
                        {
                            "board": board,
                            "segment_dim": dim,
                            "segment_value": value,
                            "model_id": model,
                            "rating": 1100.0 - 50 * rank,
                            "ci_lower": 1080.0 - 50 * rank,
                            "ci_upper": 1120.0 - 50 * rank,
                            "rank": rank,
                            "votes": 400,
                            "users": 60,
                            "provisional": rank % 2 == 0,
                            "provisional_reason": HOSTILE[rank],
                            "rating_unshrunk": None,
                            "diff_vs_overall": 3.0 * rank,
                            "differs_from_overall": rank == 1,
                            "style_shift_p_value": 1e-7 if board == "style" and dim != "overall" else None,
                        }
                    )
    return pd.DataFrame(rows)


def hostile_manifest() -> dict:
    h = HOSTILE
    return {
        "snapshot_id": h[0],
        "data_cut": {"as_of": h[1], "cutoff_utc": h[2]},
        "code_version": {"source_sha256": h[3]},
        "parameters": {
            "anchor": {"model_id": h[0], "rating": h[7]},
            "voter_clustering": {
                "design_effect_median": 1.02,
                "design_effect_max": 1.1,
                "design_effect_max_model": h[5],
                "voters": 60,
            },
        },
        "style": {
            "coefficients": [{"feature": f, "coefficient": 0.1, "ci_lower": 0.0, "ci_upper": 0.2} for f in h]
        },
        "input": {
            "rows_in": 10,
            "valid": 5,
            "duplicates": 1,
            "duplicates_by_reason": {h[6]: 1},
            "quarantined": {"total": 4, "by_reason": {v: 1 for v in h[:4]}},
            "files": [{"path": v, "status": "rejected", "error": h[-1 - k]} for k, v in enumerate(h)],
        },
        "integrity": {
            "votes_removed": 3,
            "removed_by_check": {v: 1 for v in h},
            "users_flagged_by_check": {v: 1 for v in h},
            "board_movement": [
                {"model_id": v, "rank_with": 1, "rank_without": 2, "change_elo": 1.5} for v in h
            ],
            "fragility": {
                "votes_to_flip_confirmed": 5,
                "total_votes": 400,
                "votes_to_flip_estimate": 4,
                "new_top_model": h[7],
                "top_model": h[8],
                "gap_elo": 3.0,
            },
        },
    }


def hostile_pairs() -> pd.DataFrame:
    models = HOSTILE[:4]
    return pd.DataFrame(
        [
            {"model": a, "opponent": b, "win_rate": 0.25 + 0.1 * i, "battles": 10}
            for i, a in enumerate(models)
            for b in models
            if a != b
        ]
    )


class Page(HTMLParser):
    """Every tag, attribute, text run and script body, as a browser's tokenizer would see them."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.texts: list[str] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        else:
            self.texts.append(data)

    def handle_comment(self, data):
        raise AssertionError(f"a comment in the page: {data!r}")

    def attribute_values(self) -> list[str]:
        return [v for _, attrs in self.tags for _, v in attrs if v is not None]


def render() -> tuple[str, Page]:
    html = report.render_report(hostile_board(), hostile_manifest(), hostile_pairs())
    return html, Page(html)


def test_hostile_values_are_text_and_attribute_values_never_markup():
    """Quotes, tags, comments, entities and bidi characters in every field: the parsed page holds only
    the report's own tags and attributes, and each hostile value survives whole as text or as an
    attribute value (escaped, not dropped or mangled)."""
    html, page = render()
    assert {tag for tag, _ in page.tags} <= TAGS
    assert {name for _, attrs in page.tags for name, _ in attrs} <= ATTRIBUTES
    text = "".join(page.texts)
    values = page.attribute_values()
    for value in HOSTILE:
        assert value in text, value
    assert any(HOSTILE[1] in v for v in values) and any(HOSTILE[0] in v for v in values)
    assert "style=" not in html  # the CSP allows no style attribute


def test_script_json_cannot_close_or_comment_out_the_script():
    """The embedded JSON holds no `<`, `>`, `&`, U+2028 or U+2029, and parses back to every value."""
    _, page = render()
    assert [attrs.get("type") for attrs, _ in page.scripts] == ["application/json", None]
    data = page.scripts[0][1]
    assert not set(data) & set("<>&\u2028\u2029")
    payload = json.loads(data)
    for dim in SEGMENT_DIMENSIONS:
        assert payload["values"][dim] and set(payload["values"][dim]) == set(HOSTILE)
    assert payload["models"] == HOSTILE[:4]
    for value in [*HOSTILE, {"k": HOSTILE}, "x" * 5 + "</SCRIPT>"]:
        escaped = report.script_json(value)
        assert json.loads(escaped) == value and not set(escaped) & set("<>&\u2028\u2029")


def test_csp_allows_only_the_page_script_and_stylesheet_by_hash():
    """default-src 'none'; the inline script and stylesheet are allowed by their sha256 (so no inline
    handler, injected script or style attribute runs); no remote source, base or form target."""
    html, page = render()
    metas = [dict(a) for t, a in page.tags if t == "meta" and dict(a).get("http-equiv")]
    assert [m["http-equiv"] for m in metas] == ["Content-Security-Policy"]
    assert html.index("Content-Security-Policy") < html.index("<style>") < html.index("<script")
    policy = dict(d.strip().split(" ", 1) for d in metas[0]["content"].split(";"))
    script = page.scripts[1][1]
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)

    def sha(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert policy == {
        "default-src": "'none'",
        "script-src": sha(script),
        "style-src": sha(style),
        "img-src": "data:",
        "base-uri": "'none'",
        "form-action": "'none'",
    }
    assert script == report.static_parts()[0] and "innerHTML" not in script


def test_empty_board_renders_without_rows():
    """A snapshot with no rated model still renders a complete, inert page."""
    empty = hostile_board().iloc[0:0]
    html = report.render_report(empty, {"parameters": {}}, None)
    page = Page(html)
    assert "no rated models" in html and "No pairwise data." in html
    assert {tag for tag, _ in page.tags} <= TAGS


def test_forest_plot_survives_absurd_and_missing_values():
    """A huge but finite interval gets a handful of ticks (the old fixed step list would loop ~1e11
    times), and a row whose rating or bound is NaN or infinite is listed but not drawn."""
    board = pd.DataFrame(
        {
            "model_id": ["a", "b", "c"],
            "rating": [1000.0, float("nan"), 990.0],
            "ci_lower": [-1e15, 900.0, float("-inf")],
            "ci_upper": [1e15, 1100.0, 1000.0],
            "provisional": [False, True, False],
        }
    )
    plot = report.forest_plot(board, "t")
    assert 1 <= len(plot["ticks"]) <= 6
    assert [r["drawn"] for r in plot["rows"]] == [True, False, False]
    steps = {50: 10.0, 100: 20.0, 300: 50.0, 1.1: 5.0, 2400: 500.0}
    assert {span: report._nice_step(span) for span in steps} == steps
