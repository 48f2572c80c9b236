"""The registry of integrity checks (core/integrity/registry.py): each declaration matches its function,
the registry runs in order with the inputs it has, and a careless check is refused by name."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from showdown_pipeline.core import integrity
from showdown_pipeline.core.integrity import registry, run
from showdown_pipeline.core.integrity.registry import CHECKS, IntegrityCheck, IntegrityInputs, RegistryError
from showdown_pipeline.core.integrity.thresholds import FLAG_COLUMNS, IntegrityThresholds, flag_frame
from showdown_pipeline_tests.core.test_integrity import _scores, honest_stats, with_user

T = IntegrityThresholds()
README = Path(__file__).resolve().parents[2] / "README.md"


def _threshold_reads(function) -> set[str]:
    """Fields of `t` (the thresholds) a function's source reads."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "t"
    }


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_each_check_declares_exactly_the_thresholds_it_reads(check):
    """Its function reads no undeclared threshold; it declares none that neither its function nor the SQL
    of its inputs reads (so the README's thresholds column is the truth)."""
    reads = _threshold_reads(check.flag)
    bound = set().union(*(registry.INPUT_THRESHOLDS.get(name, set()) for name in check.inputs))
    assert reads <= set(check.thresholds), (
        f"{check.name} reads undeclared {sorted(reads - set(check.thresholds))}"
    )
    assert set(check.thresholds) <= reads | bound, sorted(set(check.thresholds) - reads - bound)


def test_every_threshold_is_read_and_the_inputs_bind_what_they_declare():
    declared = set().union(*(c.thresholds for c in CHECKS)) | set(run.REVIEW_THRESHOLDS)
    assert declared == registry.THRESHOLD_NAMES
    bound_by_inputs = set().union(*registry.INPUT_THRESHOLDS.values()) | set(run.REVIEW_THRESHOLDS)
    assert _threshold_reads(run.read_inputs) == bound_by_inputs


def test_the_readme_integrity_table_lists_each_registered_check_as_declared():
    """One row per registered check, in registry order, with its sentence and thresholds, then upsets."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Integrity") :]
    section = section[: section.index("\n## ", 4)]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| `")
    ]
    assert [r[0].strip("`") for r in rows] == [c.name for c in CHECKS]
    for row, check in zip(rows, CHECKS, strict=True):
        assert row[1] == check.catches, check.name
        assert re.findall(r"`(\w+)`", row[2]) == list(check.thresholds), check.name


def _flagging_inputs(**changes) -> IntegrityInputs:
    """Inputs where each kind of check has someone to flag: a bot and a lefty (stats), a booster who is
    also a sweeper (scores, sweeps), a ring (shared, scores), a contrarian (surprise)."""
    stats = with_user(
        honest_stats(),
        user_id="bot",
        votes=500,
        decided=330,
        left_wins=165,
        timed=500,
        too_fast=480,
        ttv_cv=0.5,
        max_daily=100,
        top_prompt_votes=2,
    )
    stats = with_user(
        stats,
        user_id="lefty",
        votes=120,
        decided=80,
        left_wins=80,
        timed=120,
        too_fast=0,
        ttv_cv=0.5,
        max_daily=20,
        top_prompt_votes=1,
    )
    scores = [[f"h{i}", "m", 20, 10.0 + (i % 5), 10.0, 5.0] for i in range(300)]
    scores += [[f"b{i}", "m", 40, 40.0, 18.0, 9.9] for i in range(6)]  # boosters, caught one by one
    scores += [[f"r{i}", "target", 12, 11.5, 5.0, 3.0] for i in range(1, 6)]
    shared = pd.DataFrame({"identity": ["ip:r1", "ip:r2"], "users": [["r1", "r2", "r3"], ["r3", "r4", "r5"]]})
    sweeps = [[f"h{i}", "m", 5, 2, 5 * np.log(0.4)] for i in range(200)]
    sweeps += [[f"b{i}", "m", 6, 6, 6 * np.log(0.4)] for i in range(6)]  # the same boosters sweep
    sweeps += [[f"s{i}", "m", 6, 6, 6 * np.log(0.4)] for i in range(12)]  # and twelve more, too thin alone
    rng = np.random.default_rng(9)
    surprise = [
        [f"h{i}", k, np.log(rng.choice([0.6, 0.3, 0.1], p=[0.6, 0.3, 0.1]))]
        for i in range(50)
        for k in range(1, 121)
    ]
    surprise += [["contrarian", k, np.log(0.05)] for k in range(1, 121)]
    inputs = IntegrityInputs(
        stats=stats,
        surprise=pd.DataFrame(surprise, columns=["user_id", "k", "log_p"]),
        shared=shared,
        scores=_scores(scores),
        sweeps=pd.DataFrame(sweeps, columns=["user_id", "model_id", "seen", "outright_wins", "log_p_sweep"]),
        seed=1,
    )
    return dataclasses.replace(inputs, **changes)


def test_run_checks_runs_each_registered_check_in_order_on_its_inputs():
    inputs = _flagging_inputs()
    flags, report = registry.run_checks(inputs, T)
    assert list(flags.columns) == list(FLAG_COLUMNS) and all(r["ran"] for r in report)
    assert [r["name"] for r in report] == [c.name for c in CHECKS]
    assert list(dict.fromkeys(flags["check_name"])) == [
        "too_fast",
        "position_bias",
        "favouritism",
        "collusion_ring",
        "coordinated_favouritism",
        "outcome_anomaly",
    ]
    by_check = flags.groupby("check_name")["user_id"].apply(set).to_dict()
    assert by_check["too_fast"] == {"bot"} and by_check["position_bias"] == {"lefty"}
    assert by_check["collusion_ring"] == {f"r{i}" for i in range(1, 6)}
    assert by_check["outcome_anomaly"] == {"contrarian"}
    # coordinated_favouritism is explained_by favouritism: the boosters caught one by one are left out
    assert by_check["favouritism"] == {f"b{i}" for i in range(6)}
    assert by_check["coordinated_favouritism"] == {f"s{i}" for i in range(12)}
    direct = integrity.coordinated_sweeps(
        inputs.sweeps, T, already=by_check["favouritism"] | by_check["collusion_ring"]
    )
    assert set(direct["user_id"]) == by_check["coordinated_favouritism"]
    assert (
        flags["score"].dtype == float and flags["p_value"].dtype == float and flags["excluded"].dtype == bool
    )


def test_checks_needing_the_preliminary_ratings_do_not_run_without_them():
    flags, report = registry.run_checks(_flagging_inputs(scores=None, sweeps=None), T)
    ran = {r["name"]: r["ran"] for r in report}
    assert {n for n, r in ran.items() if not r} == {
        "favouritism",
        "collusion_ring",
        "coordinated_favouritism",
        "disfavouring",
    }
    assert set(flags["check_name"]) == {"too_fast", "position_bias", "outcome_anomaly"}


def _toy(stats: pd.DataFrame, t: IntegrityThresholds) -> pd.DataFrame:
    return flag_frame([])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"thresholds": ("daily_cap", "dailycap")}, "unknown threshold 'dailycap'"),
        ({"inputs": ("stats", "votes")}, "unknown input 'votes'"),
        ({"inputs": ("scores",)}, "its function takes ['stats', 't']"),
        ({"explained_by": ("too_fast",)}, "declaration passes ['already', 'stats', 't']"),
        ({"name": "Toy"}, "lower-case ASCII"),
        ({"name": "t\u043eo_fast"}, "lower-case ASCII"),  # a Cyrillic o: a look-alike of too_fast
        ({"name": "toy\u200b"}, "lower-case ASCII"),
        ({"catches": ""}, "one line"),
        ({"catches": "Bots | scripts."}, "one line"),
        ({"catches": "Bots.\nAnd scripts."}, "one line"),
    ],
)
def test_a_check_whose_declaration_does_not_match_is_refused_by_name(changes, message):
    fields = {
        "name": "toy",
        "catches": "Nothing at all, it is a toy.",
        "thresholds": (),
        "inputs": ("stats",),
    }
    with pytest.raises(RegistryError, match=re.escape(message)):
        IntegrityCheck(**{**fields, **changes}, flag=_toy)


def test_a_registry_with_a_name_twice_or_an_explanation_after_its_check_is_refused():
    toy = IntegrityCheck("toy", "Nothing at all, it is a toy.", (), ("stats",), _toy)
    with pytest.raises(RegistryError, match="'toy' is registered twice"):
        registry.run_checks(_flagging_inputs(), T, [toy, toy])

    def late(stats, t, already):
        return flag_frame([])

    early = IntegrityCheck("early", "Explained by a check that runs later.", (), ("stats",), late, ("toy",))
    with pytest.raises(RegistryError, match="must run before it"):
        registry.run_checks(_flagging_inputs(), T, [early, toy])


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (pd.DataFrame({"user_id": ["u"]}), "returned ['user_id']"),
        (None, "returned NoneType"),
        (
            flag_frame([{"user_id": None, "check_name": "toy", "score": 1.0, "excluded": True}]),
            "without a voter",
        ),
        (
            flag_frame([{"user_id": "u", "check_name": "toy", "score": 1.0, "excluded": None}]),
            "without a voter",
        ),
        (
            flag_frame([{"user_id": "u", "check_name": "Toy", "score": 1.0, "excluded": True}]),
            "named ['Toy']",
        ),
    ],
)
def test_a_check_returning_rows_outside_the_flag_contract_is_refused_by_name(rows, message):
    def careless(stats, t):
        return rows

    check = IntegrityCheck("toy", "Nothing at all, it is a toy.", (), ("stats",), careless)
    with pytest.raises(RegistryError, match=re.escape(message)) as caught:
        registry.run_checks(_flagging_inputs(), T, [check])
    assert "'toy'" in str(caught.value)


def test_the_ui_config_defaults_are_the_core_defaults():
    """IntegrityConfig (the UI's form) takes every default from IntegrityThresholds / IntegrityOptions."""
    from showdown_pipeline.defs.integrity.assets import IntegrityConfig

    config, options = IntegrityConfig(), integrity.IntegrityOptions()
    for name, value in config.model_dump().items():
        expected = (
            getattr(options.thresholds, name) if hasattr(options.thresholds, name) else getattr(options, name)
        )
        assert value == expected, name
