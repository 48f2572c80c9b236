"""The report in a real browser (Debian's headless Chromium): the board, the plots and the segment selector."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from showdown_pipeline import snapshots
from showdown_pipeline_tests.conftest import materialize_pipeline
from showdown_pipeline_tests.landing_builder import build_messy_landing

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it)"
)


def render(url: str, tmp_path) -> str:
    """The DOM after the page's script ran, from headless Chromium."""
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
    return out.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    landing = build_messy_landing(root / "landing")
    assert materialize_pipeline(landing.root, root / "home", as_of="2026-06-01", segment_bootstrap=20).success
    return snapshots.latest(root / "home").path / "index.html"


def test_board_plots_and_selector_render(report, tmp_path):
    dom = render(report.as_uri(), tmp_path)
    assert 'data-ready="true"' in dom  # the segment script ran without error
    assert re.search(r'<section id="raw-board">.*?<svg class="forest"', dom, re.S)
    assert re.search(r'<section id="style-board">.*?<svg class="forest"', dom, re.S)
    assert dom.count('class="row ') >= 6  # 3 models on each forest plot
    assert re.search(r'<table class="board" id="overall-table">.*?m-a', dom, re.S)
    options = re.search(r'<select id="segment-dim"[^>]*>(.*?)</select>', dom, re.S).group(1)
    assert all(
        f'value="{d}"' in options for d in ("country", "age_band", "education", "language", "profession")
    )
    assert re.search(r'<table class="matrix" id="winrate-matrix">', dom)
    assert "Quarantined, by reason" in dom and "invalid_winner" in dom


def test_segment_selector_switches_segments(report, tmp_path):
    dom_br = render(report.as_uri() + "#segment=country:BR", tmp_path)  # FR has 1 voter: withheld
    caption = re.search(r'<p id="segment-caption"[^>]*>(.*?)</p>', dom_br).group(1)
    assert caption.startswith("country = BR: 3 models")
    dom_age = render(report.as_uri() + "#segment=age_band:25-34", tmp_path)
    assert re.search(r'<p id="segment-caption"[^>]*>age band = 25-34: 3 models', dom_age)
    body = re.search(r'<table class="board" id="segment-table">.*?<tbody>(.*?)</tbody>', dom_age, re.S).group(
        1
    )
    assert body.count("<tr>") == 3 and "m-a" in body
    heat = re.search(r'<table class="matrix" id="segment-heatmap">(.*?)</table>', dom_age, re.S).group(1)
    assert "25-34" in heat
