"""One place for each rule (issue 13): the tie score, the arena labels, the leaderboard schema, the
Config defaults, the anchor default and the exports path are each defined once, and everything else
derives from that one definition."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib
import inspect
import re
import textwrap
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import showdown_pipeline
from showdown_pipeline import cli
from showdown_pipeline.core import (
    boards,
    digest,
    holdout,
    integrity,
    licensing,
    rate_file,
    run_cut,
    snapshots,
    staging,
    vote_schema,
)
from showdown_pipeline.core import bradley_terry as bt
from showdown_pipeline.core.sql import all_sql_names, load_sql
from showdown_pipeline.core.warehouse import duckdb_session


def _sql_without_comments(name: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in load_sql(name).splitlines())


def test_every_session_reads_the_winner_score_and_arena_labels_from_the_vocabulary():
    """SQL reads the tie score and the arena labels as relations built from `core/vote_schema.py`: the
    Python rule and the SQL rule cannot drift apart, because there is only one."""
    with duckdb_session(":memory:") as session:
        scores = session.read_table("winner_scores").to_pylist()
        labels = session.read_table("arena_winners").to_pylist()
    assert {r["winner"]: r["score"] for r in scores} == vote_schema.WINNER_SCORE
    assert {r["label"]: r["winner"] for r in labels} == vote_schema.ARENA_WINNERS


# A winner mapped to a number (`WHEN 'left' THEN 1.0`, `ELSE 0.5`) or an arena label spelled out.
SCORE_RULE = re.compile(
    r"'(left|right|both_good|both_bad)'\s+THEN\s+[0-9.]+\s+(WHEN|ELSE|END)\b|ELSE\s+0?\.5\s+END\b",
    re.IGNORECASE,
)
ARENA_LABEL = re.compile(r"'(model_a|model_b|tie \(bothbad\))'", re.IGNORECASE)


def test_no_sql_statement_spells_out_the_tie_score_or_the_arena_labels():
    """Every statement reads `score` (votes_clean.score, votes_table_canonical.score) or joins the rule
    relations; none repeats the mapping (it used to be spelled out in ten files)."""
    offenders = {
        name: sorted({m.group(0) for rule in (SCORE_RULE, ARENA_LABEL) for m in rule.finditer(text)})
        for name in all_sql_names()
        if (text := _sql_without_comments(name)) and (SCORE_RULE.search(text) or ARENA_LABEL.search(text))
    }
    assert offenders == {}


# --- the arena labels once: every `showdown rate` statement reads votes_table_canonical ---------------

STYLE = ("tokens", "headers", "lists", "bold", "latency_ms")
CANONICAL_TO_ARENA = {canonical: label for label, canonical in vote_schema.ARENA_WINNERS.items()}


def _canonical_votes(n: int = 4000, seed: int = 5) -> pd.DataFrame:
    """Canonical votes of 6 models by 150 voters (some without an id), with style counts and a few rows
    no fit can score (an unknown winner, one model twice, a missing model)."""
    rng = np.random.default_rng(seed)
    names = np.array([f"model-{c}" for c in "abcdef"])
    left = rng.integers(0, 6, n)
    right = (left + rng.integers(1, 6, n)) % 6
    strength = np.linspace(0.6, -0.6, 6)
    p = 1 / (1 + np.exp(strength[right] - strength[left]))
    draw = rng.random(n)
    winner = np.select(
        [draw < 0.12, draw < 0.2, rng.random(n) < p], ["both_good", "both_bad", "left"], "right"
    )
    frame = pd.DataFrame(
        {
            "user_id": np.where(
                rng.random(n) < 0.05, None, np.char.add("u", rng.integers(0, 150, n).astype(str))
            ),
            "model_left": names[left],
            "model_right": names[right],
            "winner": winner,
        }
    )
    for feature in STYLE:
        frame[f"{feature}_left"] = rng.integers(0, 900, n)
        frame[f"{feature}_right"] = rng.integers(0, 900, n)
    frame.loc[0, "winner"] = "draw"
    frame.loc[1, "model_right"] = frame.loc[1, "model_left"]
    frame.loc[2, "model_left"] = None
    frame.loc[3, "user_id"] = "  "  # blank: a voter of its own, like a missing id
    return frame


def _as_arena(frame: pd.DataFrame) -> pd.DataFrame:
    """The same votes with LMArena labels: model_a/model_b, judge, <feature>_a/_b."""
    renamed = {"user_id": "judge", "model_left": "model_a", "model_right": "model_b"}
    renamed |= {f"{f}_left": f"{f}_a" for f in STYLE} | {f"{f}_right": f"{f}_b" for f in STYLE}
    arena = frame.rename(columns=renamed)
    arena["winner"] = arena["winner"].map(lambda w: CANONICAL_TO_ARENA.get(w, w))
    return arena


def _rated(path, **kw) -> tuple:
    rated = rate_file.rate_table(path, bootstrap=0, **kw)
    return rated.board, rated.rows_in, rated.rows_scored, rated.coefficients, rated.clustering


def test_arena_and_canonical_labels_in_any_format_rate_to_the_same_bits(tmp_path):
    """One normalising view per label kind feeds one statement each for cells, models, style rows and
    voter cells: the same votes delivered with LMArena labels (JSON Lines) or canonical labels (Parquet,
    CSV read as text) give the same raw board, the same voter-clustered interval and the same style
    board, to the last bit. Before, CSV could not be style-rated at all (text arithmetic failed) and the
    clustered interval's last digits depended on the file format and the reader's threads."""
    canonical = _canonical_votes()
    files = {
        "parquet": tmp_path / "votes.parquet",
        "csv": tmp_path / "votes.csv",
        "arena": tmp_path / "arena.jsonl",
    }
    canonical.to_parquet(files["parquet"])
    canonical.to_csv(files["csv"], index=False)
    _as_arena(canonical).to_json(files["arena"], orient="records", lines=True)
    for options in ({"by_voter": True}, {"style": True}):
        results = {kind: _rated(path, **options) for kind, path in files.items()}
        reference = results.pop("parquet")
        assert reference[1:3] == (4000, 3997)  # draw, model-x vs itself, no model: not scored
        for kind, result in results.items():
            pd.testing.assert_frame_equal(result[0], reference[0], check_exact=True, obj=f"{kind} {options}")
            assert result[1:] == reference[1:], (kind, options)


def test_a_table_without_the_optional_columns_still_rates_and_says_what_it_lacks(tmp_path):
    """The view supplies a missing judge/user_id or style count as NULL: the raw board rates; the style
    board and the voter clustering fail with a sentence naming what is missing (the style board used to
    end in a DuckDB binder error and a traceback)."""
    canonical = _canonical_votes()
    for kind, frame in (("canonical", canonical), ("arena", _as_arena(canonical))):
        bare = frame[[c for c in frame.columns if c.startswith("model_") or c == "winner"]]
        path = tmp_path / f"{kind}.parquet"
        bare.to_parquet(path)
        board, rows_in, rows_scored, *_ = _rated(path)
        assert (rows_in, rows_scored, len(board)) == (4000, 3997, 6)
        with pytest.raises(bt.RatingError, match="no scorable votes with style features"):
            rate_file.rate_table(path, style=True)
        with pytest.raises(
            ValueError, match=f"--by-voter needs a {'judge' if kind == 'arena' else 'user_id'} column"
        ):
            rate_file.rate_table(path, by_voter=True)
        partial = frame.drop(columns=[c for c in frame.columns if c.startswith("latency_ms")])
        partial.to_parquet(path)
        with pytest.raises(bt.RatingError, match="no scorable votes with style features"):
            rate_file.rate_table(path, style=True)


@pytest.mark.parametrize(
    "label",
    [
        "Model_A",
        "MODEL_B",
        " tie",
        "tie ",
        "tie(bothbad)",
        "tie (bothbad) ",
        "model_\u0430",
        "model_a\u200b",
        "left",
        "",
    ],
)
def test_near_miss_arena_labels_are_counted_but_never_scored(tmp_path, label):
    """Only the four labels of ARENA_WINNERS score; a case variant, a space, a Cyrillic look-alike, a
    zero-width character or a canonical label inside an arena table is a row not scored (rows in − rows
    scored says so), never a guessed winner."""
    frame = _as_arena(_canonical_votes(n=600))
    frame.loc[10, "winner"] = label
    path = tmp_path / "arena.jsonl"
    frame.to_json(path, orient="records", lines=True)
    cells, rows_in, labels, _ = rate_file.load_cells(path)
    assert labels == "arena" and rows_in == 600
    assert int(cells["n"].sum()) == 600 - 3 - 1
    assert set(cells["winner"]) == set(vote_schema.WINNERS)


# --- the leaderboard schema, the Config defaults, the anchor default, the exports path, the file hash ----

PACKAGE = Path(showdown_pipeline.__file__).parent


def _package_sources() -> dict[str, str]:
    return {
        p.relative_to(PACKAGE).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(PACKAGE.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def test_the_leaderboard_schema_is_defined_once():
    """Snapshots write the very schema object the boards are built to; the column list derives from it."""
    assert snapshots.LEADERBOARD_SCHEMA is boards.LEADERBOARD_SCHEMA
    assert tuple(boards.LEADERBOARD_SCHEMA.names) == boards.LEADERBOARD_COLUMNS
    defined = [
        name for name, text in _package_sources().items() if '("provisional_reason", pa.string())' in text
    ]
    assert defined == ["core/boards.py"]


CONFIG_DEFAULTS = [
    ("ratings", "RatingConfig", (boards.OverallSettings(), boards.Thresholds())),
    ("ratings", "StyleConfig", (boards.StyleSettings(),)),
    ("ratings", "SegmentConfig", (boards.SegmentSettings(),)),
    ("integrity", "IntegrityConfig", (integrity.IntegrityThresholds(),)),
]


@pytest.mark.parametrize(("stage", "name", "sources"), CONFIG_DEFAULTS, ids=[c[1] for c in CONFIG_DEFAULTS])
def test_config_defaults_come_from_the_core_dataclasses(stage, name, sources):
    """Each knob an analyst may tune in the UI defaults to its core dataclass's value, and the Config
    class names that value instead of repeating the number (a literal default could drift from core)."""
    module = importlib.import_module(f"showdown_pipeline.defs.{stage}.assets")
    config = getattr(module, name)
    core = {f.name: getattr(s, f.name) for s in sources for f in dataclasses.fields(s)}
    shared = {field: info.default for field, info in config.model_fields.items() if field in core}
    assert shared and shared == {field: core[field] for field in shared}
    tree = ast.parse(textwrap.dedent(inspect.getsource(config)))
    literal = [
        node.target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Call) and node.target.id in core
        for keyword in node.value.keywords
        if keyword.arg == "default" and isinstance(keyword.value, ast.Constant)
    ]
    assert literal == []


def test_the_default_anchor_rating_is_written_once():
    """1000 appears as the anchor default only in core/run_cut.py; the CLI leaves the default to the
    callee and states the code's values in its help."""
    pattern = re.compile(r"anchor_rating\b[^\n]*\b1000\b|\"rating\", 1000|return None, 1000")
    assert [name for name, text in _package_sources().items() if pattern.search(text)] == []
    assert run_cut.DEFAULT_ANCHOR_RATING == 1000.0
    assert (
        inspect.signature(rate_file.rate_table).parameters["anchor_rating"].default
        == run_cut.DEFAULT_ANCHOR_RATING
    )
    help_text = {
        a.dest: a.help for a in cli.build_parser()._subparsers._group_actions[0].choices["rate"]._actions
    }
    assert f"= {run_cut.DEFAULT_ANCHOR_RATING:g})" in help_text["anchor"]
    assert f"default {boards.OverallSettings.bootstrap_rounds}" in help_text["bootstrap"]
    assert f"default {boards.OverallSettings.workers};" in help_text["workers"]


def test_showdown_rate_without_flags_uses_the_core_defaults(tmp_path, capsys):
    """No --anchor, --bootstrap, --workers or --seed: the board is the one rate_table builds with its
    defaults, and the notes name the default anchor rating."""
    path = tmp_path / "votes.parquet"
    _canonical_votes(n=800).to_parquet(path)
    out = tmp_path / "board.parquet"
    assert cli.main(["rate", str(path), "--out", str(out)]) == 0
    notes = capsys.readouterr().out
    rounds = boards.OverallSettings.bootstrap_rounds
    assert (
        f"= {run_cut.DEFAULT_ANCHOR_RATING:g}; interval: bootstrap percentile ({rounds} rounds, seed 0)"
        in notes
    )
    expected = rate_file.rate_table(path).board
    pd.testing.assert_frame_equal(
        pd.read_parquet(out),
        expected[[*rate_file.RATE_COLUMNS, *rate_file.COMPONENT_COLUMNS]],
        check_exact=True,
    )


def test_the_exports_path_is_built_once(tmp_path):
    """`<home>/exports/<licensee>/<as-of>/` is spelled in settings/licensing only; a licensee name that is
    not a plain name never becomes a path."""
    assert (
        licensing.export_dir(tmp_path, "acme", date(2026, 3, 1))
        == tmp_path / "exports" / "acme" / "2026-03-01"
    )
    location = licensing.export_location(tmp_path, "acme", date(2026, 3, 1), "run-1")
    assert location.staging.parent.parent == tmp_path / "exports" / "acme"
    assert location.staging.parent.name.startswith(".")
    for name in ("../acme", "acme/x", ""):
        with pytest.raises(holdout.HoldoutError):
            licensing.export_dir(tmp_path, name, date(2026, 3, 1))
    spelled = [name for name, text in _package_sources().items() if re.search(r"/\s*\"exports\"", text)]
    assert spelled == ["settings.py"]


def test_one_helper_hashes_a_file(tmp_path):
    """The snapshot and export manifests and the landing ledger hash files through core/digest.py: equal
    to hashlib over the whole bytes for an empty file, a file across many read blocks, and a file whose
    landing name is a glob."""
    empty, big = tmp_path / "empty.bin", tmp_path / "big.bin"
    empty.write_bytes(b"")
    big.write_bytes(np.random.default_rng(1).bytes(3 * digest.BLOCK + 17))
    for path in (empty, big):
        assert digest.sha256_of(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "[ab].jsonl").write_bytes(b'{"a": 1}\n')
    (tmp_path / "a.jsonl").write_bytes(b"other")
    assert staging.hash_file(tmp_path / "[ab].jsonl", tmp_path) == hashlib.sha256(b'{"a": 1}\n').hexdigest()
    loops = [name for name, text in _package_sources().items() if re.search(r"\.update\(chunk\)", text)]
    assert loops == ["core/digest.py"]
