"""The report in a real browser (Debian's headless Chromium): the board, the plots and the segment
selector, and the same page fed hostile values in every field that reaches it.

Chromium is required: without it these tests fail (`make test` installs it through
`.ci/install-test-deps.sh`), they never skip."""

from __future__ import annotations

import csv
import gzip
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

from showdown_pipeline import snapshots
from showdown_pipeline.core import normalise, report
from showdown_pipeline_tests.conftest import materialize_pipeline
from showdown_pipeline_tests.landing_builder import (
    BASE_TIME,
    build_messy_landing,
    random_valid_votes,
    write_jsonl,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# What an injected handler would do if it ever ran: mark the page (the DOM dump would show it).
PWN = "document.body.dataset.pwned=1"


@dataclass
class Rendered:
    dom: str  # the DOM after the page's script ran
    console: list[str]  # every console message Chromium logged (script errors, CSP violations)


def render(url: str, tmp_path: Path) -> Rendered:
    """Load `url` in headless Chromium; the DOM after the page's script ran, and the console."""
    if CHROMIUM is None:
        pytest.fail("Debian's chromium is not installed: run `make test` or `bash .ci/install-test-deps.sh`")
    out = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    console = [line for line in out.stderr.splitlines() if ":CONSOLE" in line]
    return Rendered(out.stdout, console)


class Node:
    def __init__(self, tag: str, attrs: list[tuple[str, str | None]]):
        self.tag, self.attrs, self.children = tag, attrs, []

    def attr(self, name: str) -> str | None:
        return dict(self.attrs).get(name)

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def by_id(self, element_id: str) -> Node:
        found = [n for n in self.iter() if n.attr("id") == element_id]
        assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
        return found[0]

    def all(self, tag: str) -> list[Node]:
        return [n for n in self.iter() if n.tag == tag]


class DomTree(HTMLParser):
    """Chromium's serialised DOM as a tree (it writes every non-void end tag)."""

    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", [])
        self.stack = [self.root]
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs)
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, attrs))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(dom: str) -> Node:
    return DomTree(dom).root


def assert_inert(page: Rendered) -> Node:
    """Whatever reached the page is text: no handler attribute, no foreign element or script, the
    explorer's script ran to its end, and Chromium logged no script error and no CSP violation."""
    tree = parse(page.dom)
    handlers = [(n.tag, name) for n in tree.iter() for name, _ in n.attrs if name.lower().startswith("on")]
    assert not handlers, f"event-handler attributes in the DOM: {handlers}"
    assert tree.all("body")[0].attr("data-ready") == "true", "the explorer's script did not finish"
    assert tree.all("body")[0].attr("data-pwned") is None, "an injected handler ran"
    scripts = tree.all("script")
    assert [s.attr("type") for s in scripts] == ["application/json", None], "a script that is not ours"
    assert scripts[0].attr("id") == "segment-data"
    assert scripts[1].text() == report.static_parts()[0] and scripts[1].attr("src") is None
    foreign = {n.tag for n in tree.iter()} & {"img", "iframe", "object", "embed", "a", "form", "base", "link"}
    assert not foreign, f"elements the report never writes: {foreign}"
    bad = [m for m in page.console if re.search(r"Uncaught|Content Security Policy|Error", m)]
    assert not bad, bad
    return tree


def segment_rows(tree: Node) -> list[list[str]]:
    body = tree.by_id("segment-table").all("tbody")[0]
    return [[td.text() for td in tr.all("td")] for tr in body.all("tr")]


def segment_cells(tree: Node) -> list[dict[str, str]]:
    """The explorer's rows as {column heading: cell text}."""
    head = [th.text() for th in tree.by_id("segment-table").all("th")]
    return [dict(zip(head, row, strict=True)) for row in segment_rows(tree)]


def shown_range(low, high) -> str:
    low, high = int(low), int(high)
    return str(low) if low == high else f"{low}–{high}"


def shown_share(value: float) -> str:
    return "<0.1%" if 0 < value < 0.001 else f"{value:.1%}"


# --- the messy landing zone of the other tests ---------------------------------------------------


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    landing = build_messy_landing(root / "landing")
    assert materialize_pipeline(landing.root, root / "home", as_of="2026-06-01", segment_bootstrap=20).success
    return snapshots.latest(root / "home").path / "index.html"


def test_board_plots_and_selector_render(report_page, tmp_path):
    page = render(report_page.as_uri(), tmp_path)
    tree = assert_inert(page)
    dom = page.dom
    assert re.search(r'<section id="raw-board">.*?<svg class="forest"', dom, re.S)
    assert re.search(r'<section id="style-board">.*?<svg class="forest"', dom, re.S)
    assert dom.count('class="row ') >= 6  # 3 models on each forest plot
    assert "m-a" in tree.by_id("overall-table").text()
    options = [o.attr("value") for o in tree.by_id("segment-dim").all("option")]
    assert options == ["country", "age_band", "education", "language", "profession"]
    matrix = tree.by_id("winrate-matrix")
    assert all(td.attr("class").startswith("wr") for td in matrix.all("td") if td.text())
    assert "Quarantined, by reason" in dom and "invalid_winner" in dom


def test_segment_selector_switches_segments(report_page, tmp_path):
    br = parse(render(report_page.as_uri() + "#segment=country:BR", tmp_path).dom)  # FR has 1 voter: withheld
    assert br.by_id("segment-caption").text().startswith("country = BR: 3 models")
    age = parse(render(report_page.as_uri() + "#segment=age_band:25-34", tmp_path).dom)
    assert age.by_id("segment-caption").text().startswith("age band = 25-34: 3 models")
    rows = segment_rows(age)
    assert len(rows) == 3 and "m-a" in [r[1] for r in rows]
    assert "25-34" in [th.text() for th in age.by_id("segment-heatmap").all("th")]


# --- hostile values in every field that reaches the report ------------------------------------------

# Model ids and display names/providers (models.csv, and the votes naming them); the first is the anchor.
HOSTILE_MODELS = [
    f'm"><img src=x onerror={PWN}>',
    f"m' onmouseover='{PWN}' x='",
    "m&amp;<b>bold</b>&#34;",
]
# Professions are free text; the first is selected through #segment= (it has ':' and '&' too).
HOSTILE_PROFESSIONS = [
    f"a&b:c\"d'e<img src=x onerror={PWN}>",
    f'" autofocus onfocus="{PWN}',
    f"</script><script>{PWN}</script>",
]
HOSTILE_LANGUAGE = f'"><svg onload={PWN}>'
# Enumerated demographics: today's validation (and the stricter one coming) quarantines these; the page
# must be inert whatever gets through.
HOSTILE_DEMOGRAPHICS = {
    "country": f'"><img src=x onerror={PWN}>',
    "age_band": f'25-34" onclick="{PWN}',
    "education": f"master' onclick='{PWN}",
}
HOSTILE_FILE_NAMES = [
    f"x\"'><img src=x onerror={PWN}>.txt",  # unknown extension: rejected, its name in the error
    f'y"><svg onload={PWN}>.jsonl.gz',  # not gzip: rejected with the reader's error
]
# Values that break a naive JSON-in-<script>: they could comment out, close or end the script.
SCRIPT_BREAKERS = ["<!--<script>", "</script><!--", "]]>", "a\u2028b\u2029c", "<!-- x -->", "<script>"]


def write_models_csv(path: Path, rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(["model_id", "display_name", "provider", "released_at", "deprecated_at"])
        writer.writerows(rows)


# Providers of the hostile models, in order: markup with both quotes, a Greek-Alpha look-alike of OpenAI (a
# provider of its own, shown as exactly what it is), and OpenAI in fullwidth letters (NFKC: OpenAI).
HOSTILE_PROVIDERS = [
    f'" onclick="{PWN}\' <img src=x onerror={PWN}>',
    "Open\u0391I",
    "\uff2f\uff50\uff45\uff4e\uff21\uff29",
]


def build_hostile_landing(root: Path, models: list[str], professions: list[str], language: str) -> Path:
    """A canonical landing zone whose model ids, names, providers and segment values are the given values."""
    write_models_csv(
        root / "models.csv",
        [
            (m, f"<script>{PWN}</script>", HOSTILE_PROVIDERS[k % len(HOSTILE_PROVIDERS)], "2025-01-01", "")
            for k, m in enumerate(models)
        ],
    )
    votes = random_valid_votes(0, 450, models, seed=4)
    for k, v in enumerate(votes):
        v["language"] = language if k % 4 == 0 else "en"
    write_jsonl(root / "votes" / "2026-03-01" / "votes.jsonl", votes)
    contributors = [
        {
            "user_id": f"u-{k}",
            "country": "BR" if k % 2 else "DE",
            "age_band": "25-34",
            "education": "master",
            "profession": professions[k % len(professions)],
            "languages": ["en"],
            "verified": True,
            "verified_at": "2026-01-01T00:00:00Z",
        }
        for k in range(60)
    ]
    write_jsonl(root / "contributors" / "contributors.jsonl", contributors)
    return root


def add_hostile_demographics_and_files(root: Path) -> None:
    """Hostile enumerated demographics (a later record of voters u-0, u-1, u-2: it wins wherever
    validation lets it through) and hostile file names."""
    first = json.loads((root / "contributors" / "contributors.jsonl").read_text().splitlines()[0])
    records = [
        {**first, "user_id": f"u-{k}", "verified_at": "2026-02-01T00:00:00Z", dim: value}
        for k, (dim, value) in enumerate(HOSTILE_DEMOGRAPHICS.items())
    ]
    write_jsonl(root / "contributors" / "more.jsonl", records)
    bad = root / "votes" / "2026-03-02"
    bad.mkdir(parents=True)
    (bad / HOSTILE_FILE_NAMES[0]).write_text("not a vote file\n")
    (bad / HOSTILE_FILE_NAMES[1]).write_bytes(b"not gzip at all")


def build_hostile_arena(root: Path) -> Path:
    """An LMArena log (no registry: the votes alone name the models) with hostile ids and languages."""
    models = [f"arena{m}" for m in HOSTILE_MODELS]
    rows = []
    for v in random_valid_votes(0, 450, models, seed=5):
        winner = {"left": "model_a", "right": "model_b"}.get(v["winner"], "tie")
        rows.append(
            {
                "model_a": v["model_left"],
                "model_b": v["model_right"],
                "winner": winner,
                "judge": v["user_id"],
                "anony": True,
                "language": [HOSTILE_LANGUAGE, "<!--<script>", "en", "en"][len(rows) % 4],
                "tstamp": (BASE_TIME + timedelta(minutes=len(rows))).timestamp(),
            }
        )
    path = root / "arena" / "battles.jsonl.gz"
    path.parent.mkdir(parents=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows)
    return root


def publish(landing: Path, home: Path, anchor: str | None = None) -> snapshots.Snapshot:
    result = materialize_pipeline(landing, home, as_of="2026-06-01", segment_bootstrap=0, anchor=anchor)
    assert result.success
    return snapshots.latest(home)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> snapshots.Snapshot:
    root = tmp_path_factory.mktemp("hostile")
    landing = build_hostile_landing(root / "landing", HOSTILE_MODELS, HOSTILE_PROFESSIONS, HOSTILE_LANGUAGE)
    add_hostile_demographics_and_files(landing)
    return publish(landing, root / "home")


def reached(snap: snapshots.Snapshot, dim: str) -> set[str]:
    board = snap.leaderboard()
    column = "model_id" if dim == "model_id" else "segment_value"
    rows = board if dim == "model_id" else board[board["segment_dim"] == dim]
    return set(rows[column].astype(str))


def pick(snap: snapshots.Snapshot, dim: str) -> str:
    """A hostile value of `dim` that reached the board, else (validation kept them all out) any value."""
    values = sorted(reached(snap, dim))
    return next((v for v in values if re.search(r"[<>\"']", v)), values[0])


def test_hostile_values_reach_the_page_only_as_text(hostile, tmp_path):
    """Hostile model ids (the anchor among them), display names, segment values, file names and
    reader errors: nothing they carry becomes markup, a handler or a script, and each one is shown
    as the exact text it is (the page neither runs nor mangles them)."""
    models, professions = reached(hostile, "model_id"), reached(hostile, "profession")
    assert models == set(HOSTILE_MODELS) and set(HOSTILE_PROFESSIONS) <= professions  # they reach it
    assert hostile.manifest["parameters"]["anchor"]["model_id"] == HOSTILE_MODELS[0]
    tree = assert_inert(render(hostile.path.joinpath("index.html").as_uri(), tmp_path))
    assert {tr.all("td")[1].text() for tr in tree.by_id("overall-table").all("tr")[1:]} == models
    assert {n.text() for n in tree.iter() if n.attr("class") == "label"} == models  # forest plot
    assert HOSTILE_MODELS[0] in tree.all("p")[0].text()  # the anchor in the header
    rejected = tree.by_id("rejected-files").text()
    assert all(name in rejected for name in HOSTILE_FILE_NAMES)
    assert {o.attr("value") for o in tree.by_id("segment-value").all("option")} == reached(hostile, "country")


def test_tiers_rank_ranges_and_the_sampling_plan_show_hostile_ids_as_text(hostile, tmp_path):
    """The overall table's tier and rank-range columns and the sampling plan's pairs and reasons, with
    hostile model ids in them: each cell is the exact text of the snapshot's own row, and nothing runs."""
    tree = assert_inert(render(hostile.path.joinpath("index.html").as_uri(), tmp_path))
    board = hostile.leaderboard()
    raw = board[(board["board"] == "raw") & (board["segment_dim"] == "overall") & (board["component"] == 1)]
    head = [th.text() for th in tree.by_id("overall-table").all("th")]
    assert head[:4] == ["Rank", "Model", "Tier", "Rank range"]
    cells = {tr.all("td")[1].text(): tr.all("td") for tr in tree.by_id("overall-table").all("tr")[1:]}
    for r in raw.itertuples(index=False):
        low, high = int(r.rank_lower), int(r.rank_upper)
        assert cells[r.model_id][2].text() == str(int(r.tier))
        assert cells[r.model_id][3].text() == (str(low) if low == high else f"{low}–{high}")
    plan = hostile.sampling_plan()
    shown = [[td.text() for td in tr.all("td")] for tr in tree.by_id("sampling-plan").all("tr")[1:]]
    assert [row[0] for row in shown] == [
        f"{a} vs {b}" for a, b in zip(plan["model_left"], plan["model_right"], strict=True)
    ][:15]
    assert [row[2] for row in shown] == list(plan["reason"][:15])
    assert any(re.search(r"[<>\"']", row[0]) for row in shown)  # hostile ids did reach the plan


def test_the_provider_ledger_shows_hostile_and_look_alike_providers_as_text(hostile, tmp_path):
    """Providers with markup and quotes, a Greek-Alpha look-alike of `OpenAI` and a fullwidth `OpenAI`: the
    ledger table lists each provider of providers.parquet as its exact text (the look-alike stays a provider
    of its own, the fullwidth spelling is NFKC `OpenAI`), with its models and shares, and nothing runs."""
    tree = assert_inert(render(hostile.path.joinpath("index.html").as_uri(), tmp_path))
    ledger = hostile.providers()
    assert set(ledger["provider"]) == {HOSTILE_PROVIDERS[0], "Open\u0391I", "OpenAI"}
    rows = {tr.all("td")[0].text(): tr.all("td") for tr in tree.by_id("provider-ledger").all("tr")[1:]}
    assert set(rows) == set(ledger["provider"])
    for r in ledger.itertuples(index=False):
        cells = rows[r.provider]
        assert [m["model_id"] for m in r.models_active] == [
            HOSTILE_MODELS[
                HOSTILE_PROVIDERS.index({"OpenAI": HOSTILE_PROVIDERS[2]}.get(r.provider, r.provider))
            ]
        ]
        assert cells[1].text().startswith(r.models_active[0]["model_id"] + " (2025-01-01 – ")
        assert cells[3].text() == f"{r.battle_share:.1%}" and cells[5].text() == "no export"
    assert ledger["battle_share"].sum() == pytest.approx(1.0, abs=1e-12)


def test_the_provider_ledger_says_which_providers_read_like_another_and_spells_the_look_alike(
    hostile, tmp_path
):
    """The Greek-Alpha `OpenΑI` renders exactly like `OpenAI`: two ledger rows a reader takes for one provider
    (one provider could split its share so). Each of them names the other in providers.parquet's `looks_like`
    and in the report's "Name reads like" cell, which spells the look-alike's letter by code point; the markup
    provider reads like no other. The manifest lists the group."""
    tree = assert_inert(render(hostile.path.joinpath("index.html").as_uri(), tmp_path))
    ledger = hostile.providers().set_index("provider")
    assert list(ledger.loc["Open\u0391I", "looks_like"]) == ["OpenAI"]
    assert list(ledger.loc["OpenAI", "looks_like"]) == ["Open\u0391I"]
    assert list(ledger.loc[HOSTILE_PROVIDERS[0], "looks_like"]) == []
    assert hostile.manifest["providers"]["look_alike_providers"] == [sorted(["OpenAI", "Open\u0391I"])]
    rows = {tr.all("td")[0].text(): tr.all("td") for tr in tree.by_id("provider-ledger").all("tr")[1:]}
    assert (
        rows["Open\u0391I"][-1].text()
        == "OpenAI (this row: Open\u0391I, with U+0391 GREEK CAPITAL LETTER ALPHA)"
    )
    assert rows["OpenAI"][-1].text() == "Open\u0391I (this row: OpenAI)"
    assert rows[HOSTILE_PROVIDERS[0]][-1].text() == "no other provider"


@pytest.mark.parametrize("dim", ["profession", "language", "country", "age_band", "education"])
def test_explorer_selects_a_hostile_segment_value_from_the_url(hostile, dim, tmp_path):
    """`#segment=DIM:VALUE` with the value percent-encoded opens that segment: caption, rows and
    heatmap show the hostile value and the hostile model ids as text, and the page stays inert."""
    value = pick(hostile, dim)
    if dim == "profession":  # free text: hostile professions certainly reach the page
        assert value in HOSTILE_PROFESSIONS
    page = render(
        f"{hostile.path.joinpath('index.html').as_uri()}#segment={dim}:{quote(value, safe='')}", tmp_path
    )
    tree = assert_inert(page)
    label = dim.replace("_", " ")
    board = hostile.leaderboard()
    expected = board[
        (board["board"] == "raw") & (board["segment_dim"] == dim) & (board["segment_value"] == value)
    ]
    assert tree.by_id("segment-caption").text() == f"{label} = {value}: {len(expected)} models"
    rows = segment_rows(tree)
    assert sorted(r[1] for r in rows) == sorted(expected["model_id"]) and rows
    heat = tree.by_id("segment-heatmap")
    assert value in [th.text() for th in heat.all("th")]
    assert set(HOSTILE_MODELS) <= {th.text() for th in heat.all("th")}


def test_a_profession_with_a_colon_and_ampersand_survives_the_url(hostile, tmp_path):
    """The value is split from its dimension at the first ':' and decoded after: a value holding
    ':' and '&' (HOSTILE_PROFESSIONS[0]) is selected whole, not cut at either character."""
    value = HOSTILE_PROFESSIONS[0]
    url = f"{hostile.path.joinpath('index.html').as_uri()}#segment=profession%3A{quote(value, safe='')}"
    tree = assert_inert(render(url, tmp_path))
    assert tree.by_id("segment-caption").text().startswith(f"profession = {value}: ")
    assert value in [o.attr("value") for o in tree.by_id("segment-value").all("option")]


@pytest.mark.slow
def test_values_that_could_end_or_comment_out_the_script_leave_the_explorer_running(tmp_path):
    """`<!--`, `</script>`, `]]>`, U+2028 and `<script>` in segment values and model ids: the JSON
    block stays one block, the explorer runs, and each value is shown as itself. (A model id holding
    U+2028 no longer reaches a page: validation refuses it, test_validate.py; the JSON block's escaping
    of U+2028 itself is test_report_html.py's.)"""
    models = ["m-<!--<script>", "m-</script>", "m-]]>"]
    landing = build_hostile_landing(tmp_path / "landing", models, SCRIPT_BREAKERS, "<!--<script>")
    snap = publish(landing, tmp_path / "home")
    # professions arrive as validation cleans them (U+2028/U+2029 fold to a space)
    professions = [normalise.profession(v)[0] for v in SCRIPT_BREAKERS]
    assert set(professions) <= reached(snap, "profession")
    assert "m-]]>" in reached(snap, "model_id")
    for value in professions:
        tree = assert_inert(
            render(
                f"{snap.path.joinpath('index.html').as_uri()}#segment=profession:{quote(value, safe='')}",
                tmp_path,
            )
        )
        assert tree.by_id("segment-caption").text().startswith(f"profession = {value}: 3 models")
        assert sorted(r[1] for r in segment_rows(tree)) == sorted(models)
    html = snap.path.joinpath("index.html").read_text(encoding="utf-8")
    data = re.search(r'<script type="application/json" id="segment-data">(.*?)</script>', html, re.S).group(1)
    assert not set(data) & set("<>&\u2028\u2029")


def test_an_arena_log_without_registry_cannot_inject_either(tmp_path):
    """Arena battle logs name their models only in the votes (no models.csv): hostile ids and
    languages there, with a hostile anchor, are text on the page too."""
    landing = build_hostile_arena(tmp_path / "landing")
    anchor = f"arena{HOSTILE_MODELS[1]}"
    snap = publish(landing, tmp_path / "home", anchor=anchor)
    models = reached(snap, "model_id")
    assert models == {f"arena{m}" for m in HOSTILE_MODELS}
    value = pick(snap, "language")  # validation may quarantine hostile language codes
    tree = assert_inert(
        render(
            f"{snap.path.joinpath('index.html').as_uri()}#segment=language:{quote(value, safe='')}", tmp_path
        )
    )
    assert {tr.all("td")[1].text() for tr in tree.by_id("overall-table").all("tr")[1:]} == models
    assert tree.by_id("segment-caption").text().startswith(f"language = {value}: ")
    assert {r[1] for r in segment_rows(tree)} <= models and segment_rows(tree)
    assert anchor in tree.all("p")[0].text()


def _segment_row(dim: str, value: str | None, model: str, diff: float) -> dict:
    return {
        "board": "raw",
        "segment_dim": dim,
        "segment_value": value,
        "model_id": model,
        "rating": 1000.0 + diff,
        "ci_lower": 990.0 + diff,
        "ci_upper": 1010.0 + diff,
        "rank": 1,
        "votes": 100,
        "users": 20,
        "provisional": False,
        "provisional_reason": "",
        "component": 1,
        "component_anchor": None,
        "rating_unshrunk": 1000.0 + diff,
        "diff_vs_overall": diff,
        "differs_from_overall": diff != 0,
    }


def test_each_heatmap_cell_shows_its_own_models_value_even_when_ids_hold_nul(tmp_path):
    """Heatmap cells are looked up by model, then by segment value (nested maps). The explorer used to key
    them by model_id + NUL + value, so model 'a<NUL>b' in profession 'c' and model 'a' in profession
    'b<NUL>c' shared a key and the first cell showed the other's −30.0 (red, '*') instead of its own
    +30.0. Validation now quarantines control characters in vote ids and cleans them from professions,
    but the report renders whatever a board holds (issue-11 review, R1)."""
    import pandas as pd

    glued, short = "a\u0000b", "a"
    rows = [_segment_row("overall", "all", m, 0.0) for m in (glued, short)] + [
        _segment_row("profession", "c", glued, +30.0),
        _segment_row("profession", "b\u0000c", short, -30.0),
        _segment_row("profession", "c", short, 0.0),
    ]
    manifest = {"snapshot_id": "s", "data_cut": {"as_of": "2026-12-01"}, "parameters": {}, "input": {}}
    page = tmp_path / "index.html"
    page.write_text(report.render_report(pd.DataFrame(rows), manifest), encoding="utf-8")
    tree = assert_inert(render(page.as_uri() + "#segment=profession:c", tmp_path))
    cells = {
        td.attr("title"): td.text() for td in tree.by_id("segment-heatmap").all("td") if td.attr("title")
    }
    in_c = {title: text for title, text in cells.items() if title.split(" in ")[-1].startswith("c: ")}
    assert in_c == {f"{glued} in c: 30.0 vs overall": "*", f"{short} in c: 0.0 vs overall": ""}


# --- the raw/style toggle of the segment explorer ---------------------------------------------------


@pytest.mark.parametrize("dim", ["profession", "language", "country"])
def test_style_toggle_shows_the_style_segment_board_of_a_hostile_value(hostile, dim, tmp_path):
    """`#style-segment=DIM:VALUE` turns the explorer's style toggle on: caption, rows and ratings are the
    snapshot's style rows of that (hostile) value, not its raw rows; the coefficient test line says why it
    was not run (450 votes); the page stays inert."""
    value = pick(hostile, dim)
    url = f"{hostile.path.joinpath('index.html').as_uri()}#style-segment={dim}:{quote(value, safe='')}"
    tree = assert_inert(render(url, tmp_path))
    board = hostile.leaderboard()
    mine = (board["segment_dim"] == dim) & (board["segment_value"] == value)
    style, raw = board[mine & (board["board"] == "style")], board[mine & (board["board"] == "raw")]
    assert len(style) and len(raw)  # both boards exist for this value
    label = dim.replace("_", " ")
    assert (
        tree.by_id("segment-caption").text() == f"{label} = {value} (style-controlled): {len(style)} models"
    )
    shown = {r["Model"]: r["Rating (shrunk)"] for r in segment_cells(tree)}
    assert shown == {m: f"{x:.1f}" for m, x in zip(style["model_id"], style["rating"].round(2), strict=True)}
    assert shown != {m: f"{x:.1f}" for m, x in zip(raw["model_id"], raw["rating"].round(2), strict=True)}
    assert (
        tree.by_id("segment-style-test").text().startswith("Style coefficients here vs overall: not tested")
    )
    plain = parse(render(url.replace("#style-segment=", "#segment="), tmp_path).dom)
    assert plain.by_id("segment-caption").text() == f"{label} = {value}: {len(raw)} models"
    assert plain.by_id("segment-style-test").text() == ""


def test_style_toggle_reports_the_coefficient_test_beside_hostile_values(tmp_path):
    """A style segment whose coefficients were tested: its p-value is shown under the toggle (small
    p-values in scientific notation, never rounded to 0), with hostile values and ids as text."""
    from showdown_pipeline_tests.test_report_html import HOSTILE, hostile_board, hostile_manifest

    page = tmp_path / "index.html"
    page.write_text(report.render_report(hostile_board(), hostile_manifest(), None), encoding="utf-8")
    value = HOSTILE[0]
    tree = assert_inert(render(f"{page.as_uri()}#style-segment=profession:{quote(value, safe='')}", tmp_path))
    assert tree.by_id("segment-caption").text() == f"profession = {value} (style-controlled): 4 models"
    assert tree.by_id("segment-style-test").text() == (
        "Style coefficients here vs overall: p = 1.0e-7 (score test; they differ at 5%)."
    )
    assert {r[1] for r in segment_rows(tree)} == set(HOSTILE[:4])


# --- tiers and rank intervals in the explorer and on the style board -----------------------------------


@pytest.mark.parametrize(
    "kind, dim", [("raw", "profession"), ("style", "profession"), ("raw", "country"), ("style", "language")]
)
def test_explorer_shows_tiers_rank_ranges_and_p_top1_of_hostile_ids(hostile, kind, dim, tmp_path):
    """The explorer's Tier, Rank range and P(#1) columns, raw and style (the toggle), on a hostile segment
    value with hostile model ids: each row's cells are the exact text of the snapshot's own row (its
    simultaneous interval "3" or "1–3", its tier, its P(#1)), the rows where a tier starts carry the
    tier-start line, and nothing runs."""
    value = pick(hostile, dim)
    prefix = "style-segment" if kind == "style" else "segment"
    url = f"{hostile.path.joinpath('index.html').as_uri()}#{prefix}={dim}:{quote(value, safe='')}"
    tree = assert_inert(render(url, tmp_path))
    head = [th.text() for th in tree.by_id("segment-table").all("th")]
    assert head[:4] == ["Rank", "Model", "Tier", "Rank range"] and "P(#1)" in head
    board = hostile.leaderboard()
    mine = board[(board["board"] == kind) & (board["segment_dim"] == dim) & (board["segment_value"] == value)]
    assert len(mine) and mine[["rank_lower", "rank_upper", "tier", "p_top1"]].notna().all().all()
    cells = {r["Model"]: r for r in segment_cells(tree)}
    assert set(cells) == set(mine["model_id"]) and set(cells) <= set(HOSTILE_MODELS)
    for r in mine.itertuples(index=False):
        assert cells[r.model_id]["Tier"] == str(int(r.tier))
        assert cells[r.model_id]["Rank range"] == shown_range(r.rank_lower, r.rank_upper)
        assert cells[r.model_id]["P(#1)"] == shown_share(r.p_top1)
    body = tree.by_id("segment-table").all("tbody")[0].all("tr")
    tiers = [int(mine.set_index("model_id").loc[tr.all("td")[1].text(), "tier"]) for tr in body]
    starts = [tr.attr("class") == "tier-start" for tr in body]
    assert starts == [i > 0 and tiers[i] != tiers[i - 1] for i in range(len(tiers))]


def test_style_board_table_shows_tiers_and_rank_ranges_of_hostile_ids(hostile, tmp_path):
    """The overall style-controlled board's table: tier, simultaneous rank range and P(#1) of every style
    row, hostile ids as text, and the note naming where its ranks come from (the sandwich covariance)."""
    tree = assert_inert(render(hostile.path.joinpath("index.html").as_uri(), tmp_path))
    board = hostile.leaderboard()
    style = board[(board["board"] == "style") & (board["segment_dim"] == "overall")]
    assert set(style["model_id"]) == set(HOSTILE_MODELS)
    cells = {tr.all("td")[1].text(): tr.all("td") for tr in tree.by_id("style-table").all("tr")[1:]}
    assert set(cells) == set(HOSTILE_MODELS)
    for r in style.itertuples(index=False):
        assert cells[r.model_id][2].text() == str(int(r.tier))
        assert cells[r.model_id][3].text() == shown_range(r.rank_lower, r.rank_upper)
        assert cells[r.model_id][6].text() == shown_share(r.p_top1)
    assert "sandwich covariance" in tree.by_id("style-tier-note").text()
